import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/app/config/config.js";
import { defaultMaxConnections } from "../../src/app/config/connection-settings.js";
import { defaultJwtConfig } from "../../src/service/jwt-keys.js";
import { defaultHashConcurrency } from "../../src/store/infra/password-hasher.js";
import { defaultConnectionLimits } from "../../src/transport/server/limits.js";
import { problemsOf } from "../helpers/config.js";

/** Secrets strong enough to start with (random-looking, 32+ characters). */
const strongAdminToken = "Hq8vN2xK4pZ7rT1wY6mB3cF9jD5sL0aE";
const strongIntrospectionSecret = "uG7kP2zX9qW4rN8tY1mC5vB3hJ6dL0fS";

const second = 1_000;
const hour = 3_600_000;
const day = 24 * hour;

/** A 32-byte encryption key, and the same key as 64 hex digits and as base64. */
const keyBytes = Buffer.from(Array.from({ length: 32 }, (_, index) => index * 7 + 3));
const keyHex = keyBytes.toString("hex");
const keyBase64 = keyBytes.toString("base64");

describe("loadConfig", () => {
  it("runs on defaults when the environment is empty", () => {
    expect(loadConfig({})).toEqual({
      port: 8080,
      host: "0.0.0.0",
      devMode: false,
      previousEncryptionKeys: [],
      redisKeyPrefix: "keycard",
      redisCommandTimeoutMs: second,
      redisDurability: { replicas: 0, timeoutMs: 500 },
      storeDeadlineMs: second,
      policy: {
        defaultDuration: 12 * hour,
        maxDuration: 30 * day,
        idleTimeout: 0,
        refreshGrace: 10 * second,
        retention: 7 * day,
        touchInterval: 60 * second,
        renewAfter: 0.8,
        rememberDuration: 30 * day,
        apiSessionDuration: 0,
        maxSessionsPerUser: 100,
      },
      tokenPrefix: "kc",
      trustedProxies: [],
      authMode: "session",
      logLevel: "info",
      maxBodyBytes: 65_536,
      shutdownTimeoutMs: 10 * second,
      loginThrottle: {
        pairDelayAfter: 5,
        ipDelayAfter: 50,
        lockoutThreshold: 100,
        baseDelay: second,
        maxDelay: 15 * 60 * second,
        window: hour,
      },
      loginRatePerMinute: 5,
      validateCache: { ttlMs: second, maxEntries: 10_000 },
      hashConcurrency: defaultHashConcurrency(),
      authRatePerMinute: 30,
      httpProfiles: ["api-v1-auth", "admin-panel"],
      allowedOrigins: [],
      cookieSecure: true,
      portal: true,
      allowedRedirectDomains: [],
      connections: { ...defaultConnectionLimits, maxConnections: defaultMaxConnections() },
      jwt: defaultJwtConfig,
      privilegedSessionMaxAgeMs: 5 * 60 * second,
    });
  });

  it("leaves REDIS_URL, KEYCARD_ADMIN_TOKEN, KEYCARD_ENCRYPTION_KEY and KEYCARD_BOOTSTRAP out when they are unset or blank", () => {
    const config = loadConfig({
      REDIS_URL: "  ",
      KEYCARD_ADMIN_TOKEN: "",
      KEYCARD_ENCRYPTION_KEY: " ",
      KEYCARD_BOOTSTRAP: "",
    });
    expect(config).not.toHaveProperty("redisUrl");
    expect(config).not.toHaveProperty("adminToken");
    expect(config).not.toHaveProperty("encryptionKey");
    expect(config).not.toHaveProperty("bootstrapFile");
  });

  it("runs in dev mode only when KEYCARD_DEV=1 and REDIS_URL is unset", () => {
    expect(loadConfig({ KEYCARD_DEV: "1" }).devMode).toBe(true);
    expect(loadConfig({ KEYCARD_DEV: "1", REDIS_URL: "redis://redis:6379" }).devMode).toBe(false);
    expect(loadConfig({ NODE_ENV: "production" }).devMode).toBe(false);
  });

  it("applies NIST SP 800-63B rev4 AAL2 session rules with SESSION_PROFILE=nist-aal2, set variables still winning", () => {
    expect(loadConfig({ SESSION_PROFILE: "nist-aal2" }).policy).toMatchObject({
      maxDuration: 24 * 3_600_000,
      idleTimeout: 3_600_000,
      rememberDuration: 24 * 3_600_000,
      idleEndsRememberMe: true,
    });
    expect(
      loadConfig({ SESSION_PROFILE: "nist-aal2", SESSION_IDLE_TIMEOUT: "15m" }).policy.idleTimeout,
    ).toBe(15 * 60_000);
    expect(problemsOf({ SESSION_PROFILE: "constructor" })).toEqual([
      'SESSION_PROFILE="constructor" must be default or nist-aal2',
    ]);
  });

  it("returns a frozen config", () => {
    expect(Object.isFrozen(loadConfig({}))).toBe(true);
  });

  it("reads every variable it knows", () => {
    const config = loadConfig({
      PORT: "9000",
      HOST: "127.0.0.1",
      REDIS_URL: "rediss://user:pass@redis.internal:6380/2",
      REDIS_KEY_PREFIX: "kc-staging",
      REDIS_COMMAND_TIMEOUT: "250ms",
      STORE_DEADLINE: "1500ms",
      SESSION_DURATION: "1h",
      SESSION_MAX_DURATION: "7d",
      SESSION_IDLE_TIMEOUT: "30m",
      REFRESH_GRACE: "0",
      EXPIRED_TOKEN_RETENTION: "1d",
      SESSION_TOUCH_INTERVAL: "0s",
      SESSION_RENEW_AFTER: "75%",
      SESSION_REMEMBER_DURATION: "7d",
      API_SESSION_DURATION: "15m",
      SESSION_MAX_PER_USER: "0",
      TOKEN_PREFIX: "acme",
      KEYCARD_ADMIN_TOKEN: strongAdminToken,
      TRUSTED_PROXIES: "10.0.0.0/8, 192.0.2.1 ,fd00::/8,::1",
      AUTH_MODE: "hybrid",
      KEYCARD_ENCRYPTION_KEY: keyHex,
      KEYCARD_PREVIOUS_ENCRYPTION_KEYS: ` ${keyBase64} `,
      KEYCARD_BOOTSTRAP: "/etc/keycard/bootstrap.yaml",
      LOG_LEVEL: "debug",
      MAX_BODY_BYTES: "1024",
      SHUTDOWN_TIMEOUT: "30s",
      LOGIN_RATE_LIMIT: "10",
      VALIDATE_CACHE_TTL: "0",
      VALIDATE_CACHE_SIZE: "500",
      PASSWORD_HASH_CONCURRENCY: "3",
      LOGIN_FAILURE_DELAY_AFTER: "3",
      LOGIN_IP_FAILURE_DELAY_AFTER: "0",
      LOGIN_LOCKOUT_THRESHOLD: "60",
      LOGIN_MAX_DELAY: "5m",
      LOGIN_FAILURE_WINDOW: "2h",
      AUTH_RATE_LIMIT: "0",
      ALLOWED_ORIGINS: "https://app.example.com, http://localhost:5173",
      COOKIE_SECURE: "false",
      UI: "false",
      COOKIE_DOMAIN: ".Example.com",
      ALLOWED_REDIRECT_DOMAINS: "example.com, .example.org,10.0.0.5",
      LOCATION_HEADER: "CF-IPCountry",
      HTTP_PROFILES: "admin-panel",
      ADMIN_PASSWORD: "the invariant editorial system",
      INTROSPECTION_SECRET: strongIntrospectionSecret,
      SESSION_DURATION_DAYS: "2",
      HTTP_HEADERS_TIMEOUT: "5s",
      HTTP_REQUEST_TIMEOUT: "20s",
      HTTP_KEEPALIVE_TIMEOUT: "3s",
      HTTP2_IDLE_TIMEOUT: "1m",
      HTTP2_MAX_CONCURRENT_STREAMS: "200",
      HTTP2_MAX_STREAMS_PER_SECOND: "1000",
      HTTP2_MAX_RESETS_PER_SECOND: "5",
      HTTP_MAX_HEADER_BYTES: "8192",
      MAX_CONNECTIONS: "2000",
      MAX_CONNECTIONS_PER_IP: "50",
      JWT_ISSUER: "https://auth.example.com",
      JWT_AUDIENCES: "orders, billing",
      JWT_MAX_TTL: "15m",
      JWT_KEY_ROTATION: "7d",
      JWT_ALGORITHM: "ES256",
      PRIVILEGED_SESSION_MAX_AGE: "10m",
    });
    expect(config).toEqual({
      port: 9000,
      host: "127.0.0.1",
      redisUrl: "rediss://user:pass@redis.internal:6380/2",
      devMode: false,
      previousEncryptionKeys: [keyBytes],
      redisKeyPrefix: "kc-staging",
      redisCommandTimeoutMs: 250,
      redisDurability: { replicas: 0, timeoutMs: 125 },
      storeDeadlineMs: 1_500,
      policy: {
        defaultDuration: hour,
        maxDuration: 7 * day,
        idleTimeout: 30 * 60 * second,
        refreshGrace: 0,
        retention: day,
        touchInterval: 0,
        renewAfter: 0.75,
        rememberDuration: 7 * day,
        apiSessionDuration: 15 * 60 * second,
        maxSessionsPerUser: 0,
      },
      tokenPrefix: "acme",
      adminToken: strongAdminToken,
      trustedProxies: ["10.0.0.0/8", "192.0.2.1", "fd00::/8", "::1"],
      authMode: "hybrid",
      encryptionKey: keyBytes,
      bootstrapFile: "/etc/keycard/bootstrap.yaml",
      logLevel: "debug",
      maxBodyBytes: 1024,
      shutdownTimeoutMs: 30 * second,
      loginRatePerMinute: 10,
      validateCache: { ttlMs: 0, maxEntries: 500 },
      hashConcurrency: 3,
      loginThrottle: {
        pairDelayAfter: 3,
        ipDelayAfter: 0,
        lockoutThreshold: 60,
        baseDelay: second,
        maxDelay: 5 * 60 * second,
        window: 2 * hour,
      },
      authRatePerMinute: 0,
      allowedOrigins: ["https://app.example.com", "http://localhost:5173"],
      cookieSecure: false,
      portal: false,
      cookieDomain: "example.com",
      allowedRedirectDomains: ["example.com", "example.org", "10.0.0.5"],
      locationHeader: "cf-ipcountry",
      httpProfiles: ["admin-panel"],
      adminPassword: "the invariant editorial system",
      adminPanelSessionMs: 2 * day,
      introspectionSecret: strongIntrospectionSecret,
      connections: {
        headersTimeoutMs: 5 * second,
        requestTimeoutMs: 20 * second,
        keepAliveTimeoutMs: 3 * second,
        http2IdleTimeoutMs: 60 * second,
        http2MaxConcurrentStreams: 200,
        http2MaxStreamsPerSecond: 1_000,
        http2MaxResetsPerSecond: 5,
        maxHeaderBytes: 8_192,
        maxConnections: 2_000,
        maxConnectionsPerIp: 50,
        abusePenaltyMs: defaultConnectionLimits.abusePenaltyMs,
      },
      jwt: {
        algorithm: "ES256",
        issuer: "https://auth.example.com",
        audiences: ["orders", "billing"],
        maxTtlMs: 15 * 60 * second,
        rotationMs: 7 * day,
      },
      privilegedSessionMaxAgeMs: 10 * 60 * second,
    });
  });

  it("keeps MAX_CONNECTIONS under the open-file limit it reads from /proc/self/limits", () => {
    const limits = (soft: number): string => {
      const path = join(mkdtempSync(join(tmpdir(), "limits-")), "limits");
      writeFileSync(
        path,
        `Limit  Soft Limit  Hard Limit  Units\nMax open files  ${soft}  ${soft}  files\n`,
      );
      return path;
    };
    expect(defaultMaxConnections(limits(1_024))).toBe(512);
    expect(defaultMaxConnections(limits(1_048_576))).toBe(10_000);
    expect(defaultMaxConnections("/nonexistent/limits")).toBe(10_000);
  });

  it.each([
    ["PORT", "http"],
    ["HTTP_PROFILES", "snapshots"],
    ["SESSION_DURATION_DAYS", "0"],
    ["SESSION_DURATION_DAYS", "1.5"],
    ["PORT", "65536"],
    ["PORT", "-1"],
    ["PORT", "80.5"],
    ["REDIS_URL", "http://localhost:6379"],
    ["REDIS_URL", "localhost:6379"],
    ["REDIS_COMMAND_TIMEOUT", "fast"],
    ["REDIS_COMMAND_TIMEOUT", "0s"],
    ["STORE_DEADLINE", "0s"],
    ["SESSION_DURATION", "forever"],
    ["SESSION_DURATION", "0"],
    ["SESSION_MAX_DURATION", "1 month"],
    ["SESSION_IDLE_TIMEOUT", "soon"],
    ["REFRESH_GRACE", "10"],
    ["EXPIRED_TOKEN_RETENTION", "-7d"],
    ["SESSION_TOUCH_INTERVAL", "1.5m"],
    ["SESSION_RENEW_AFTER", "120%"],
    ["SESSION_RENEW_AFTER", "0.8"],
    ["SESSION_REMEMBER_DURATION", "0"],
    ["API_SESSION_DURATION", "quarter hour"],
    ["SESSION_MAX_PER_USER", "-1"],
    ["PASSWORD_HASH_CONCURRENCY", "0"],
    ["VALIDATE_CACHE_TTL", "a while"],
    ["VALIDATE_CACHE_SIZE", "0"],
    ["KEYCARD_DEV", "yes"],
    ["KEYCARD_PREVIOUS_ENCRYPTION_KEYS", "not a key"],
    ["TOKEN_PREFIX", "KC"],
    ["TOKEN_PREFIX", "kc_"],
    ["TOKEN_PREFIX", "a".repeat(17)],
    ["KEYCARD_ADMIN_TOKEN", "Zq3-kP9_xR2.mW7+vT5!"],
    ["KEYCARD_ADMIN_TOKEN", "a".repeat(24)],
    ["KEYCARD_ADMIN_TOKEN", "ab".repeat(20)],
    ["KEYCARD_ADMIN_TOKEN", "password".repeat(4)],
    ["INTROSPECTION_SECRET", "i".repeat(23)],
    ["INTROSPECTION_SECRET", "i".repeat(64)],
    ["TRUSTED_PROXIES", "proxy.internal"],
    ["AUTH_MODE", "jwt"],
    ["AUTH_MODE", "api-key"],
    ["KEYCARD_ENCRYPTION_KEY", "not a key"],
    ["KEYCARD_ENCRYPTION_KEY", keyHex.slice(2)],
    ["KEYCARD_ENCRYPTION_KEY", `${keyHex}00`],
    ["KEYCARD_ENCRYPTION_KEY", keyBytes.subarray(1).toString("base64")],
    ["KEYCARD_ENCRYPTION_KEY", Buffer.concat([keyBytes, Buffer.from([0])]).toString("base64")],
    ["LOG_LEVEL", "verbose"],
    ["MAX_BODY_BYTES", "1023"],
    ["MAX_BODY_BYTES", "lots"],
    ["SHUTDOWN_TIMEOUT", "never"],
    ["JWT_ALGORITHM", "RS256"],
    ["JWT_ALGORITHM", "none"],
    ["JWT_ALGORITHM", "HS256"],
    ["JWT_SECRET", "Zq3kP9xR2mW7vT5nB8cL4hJ6gF1dS0aQ"],
    ["JWT_MAX_TTL", "an hour"],
    ["JWT_KEY_ROTATION", "59m"],
    ["PRIVILEGED_SESSION_MAX_AGE", "soon"],
  ])("refuses %s=%j with one problem naming the variable", (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(name);
  });

  it("reads HS256 with its shared secret, and refuses a weak one", () => {
    const secret = "Zq3kP9xR2mW7vT5nB8cL4hJ6gF1dS0aQ";
    expect(loadConfig({ JWT_ALGORITHM: "HS256", JWT_SECRET: secret }).jwt).toMatchObject({
      algorithm: "HS256",
      secret,
    });
    const problems = problemsOf({ JWT_ALGORITHM: "HS256", JWT_SECRET: "short" });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("JWT_SECRET");
    expect(problems[0]).not.toContain("short");
  });

  it.each([
    ["session", "session"],
    ["hybrid", "hybrid"],
    [" hybrid ", "hybrid"],
  ])("reads AUTH_MODE=%j as %s", (value, authMode) => {
    expect(loadConfig({ AUTH_MODE: value }).authMode).toBe(authMode);
  });

  it.each([
    ["64 lower-case hex digits", keyHex],
    ["64 upper-case hex digits", keyHex.toUpperCase()],
    ["base64", keyBase64],
    ["base64 with surrounding blanks", `  ${keyBase64}\n`],
  ])("reads a KEYCARD_ENCRYPTION_KEY given as %s", (_name, value) => {
    const { encryptionKey } = loadConfig({ KEYCARD_ENCRYPTION_KEY: value });
    expect(encryptionKey).toBeInstanceOf(Buffer);
    expect(encryptionKey?.length).toBe(32);
    expect(encryptionKey?.equals(keyBytes)).toBe(true);
  });

  it("does not echo a refused KEYCARD_ENCRYPTION_KEY in its problem", () => {
    const secret = keyBytes.subarray(1).toString("base64");
    const [problem] = problemsOf({ KEYCARD_ENCRYPTION_KEY: secret });
    expect(problem).toContain("KEYCARD_ENCRYPTION_KEY");
    expect(problem).not.toContain(secret);
  });

  it("reads no location without LOCATION_HEADER, and refuses one that is no header name", () => {
    expect(loadConfig({})).not.toHaveProperty("locationHeader");
    expect(loadConfig({ LOCATION_HEADER: "CloudFront-Viewer-Country" }).locationHeader).toBe(
      "cloudfront-viewer-country",
    );
    const [problem] = problemsOf({ LOCATION_HEADER: "Country: DE" });
    expect(problem).toContain("LOCATION_HEADER");
  });

  it("reports every problem together instead of stopping at the first", () => {
    const env = { PORT: "http", LOG_LEVEL: "loud", REDIS_URL: "mysql://db", TOKEN_PREFIX: "KC!" };
    const problems = problemsOf(env);
    expect(problems).toHaveLength(4);
    for (const name of Object.keys(env)) {
      expect(problems.some((problem) => problem.includes(name))).toBe(true);
    }
  });

  it("lists every problem in the error message, one per line", () => {
    let message = "";
    try {
      loadConfig({ PORT: "http", LOG_LEVEL: "loud" });
    } catch (error) {
      message = (error as Error).message;
    }
    const [heading, ...lines] = message.split("\n");
    expect(heading).toBe("Invalid configuration:");
    expect(lines).toHaveLength(2);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^ {2}- PORT=/),
        expect.stringMatching(/^ {2}- LOG_LEVEL /),
      ]),
    );
  });

  it("refuses a SESSION_DURATION longer than SESSION_MAX_DURATION", () => {
    const problems = problemsOf({ SESSION_DURATION: "2d", SESSION_MAX_DURATION: "1d" });
    expect(problems).toEqual(["SESSION_DURATION must not be longer than SESSION_MAX_DURATION"]);
  });

  it("refuses a SESSION_MAX_DURATION shorter than the default SESSION_DURATION", () => {
    const problems = problemsOf({ SESSION_MAX_DURATION: "1h" });
    expect(problems).toEqual(["SESSION_DURATION must not be longer than SESSION_MAX_DURATION"]);
  });

  it("accepts a SESSION_DURATION equal to SESSION_MAX_DURATION", () => {
    const config = loadConfig({ SESSION_DURATION: "24h", SESSION_MAX_DURATION: "1d" });
    expect(config.policy.defaultDuration).toBe(config.policy.maxDuration);
  });

  it.each(["10.0.0.0/8", "192.0.2.1", "192.0.2.1/32", "0.0.0.0/0", "::1", "fd00::/8", "::/0"])(
    "accepts the trusted proxy %j",
    (entry) => {
      expect(loadConfig({ TRUSTED_PROXIES: entry }).trustedProxies).toEqual([entry]);
    },
  );

  it.each([
    "garbage",
    "10.0.0.0/33",
    "10.0.0.0/",
    "10.0.0.0/8/8",
    "10.0.0.0/abc",
    "10.0.0",
    "256.0.0.1",
    "fd00::/129",
    "10.0.0.0/-1",
  ])("refuses the trusted proxy %j and names it", (entry) => {
    const problems = problemsOf({ TRUSTED_PROXIES: `192.0.2.1, ${entry}` });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("TRUSTED_PROXIES");
    expect(problems[0]).toContain(`"${entry}"`);
  });
});
