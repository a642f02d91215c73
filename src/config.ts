import { accessSync, constants } from "node:fs";
import { isIP } from "node:net";
import { readConnectionLimits } from "./config-connections.js";
import { readDurability } from "./config-durability.js";
import { parseDuration } from "./domain/duration.js";
import { defaultLoginThrottle, type LoginThrottlePolicy } from "./domain/login-throttle.js";
import { weakSecretProblem } from "./domain/secret-strength.js";
import type { SessionPolicy } from "./domain/session.js";
import { defaultHashConcurrency } from "./store/infra/password-hasher.js";
import { parseRedisUrl, type RedisTarget } from "./store/redis/connection.js";
import type { Durability } from "./store/redis/durable-writes.js";
import { knownProfiles } from "./transport/http/profiles/index.js";
import type { ConnectionLimits } from "./transport/server/limits.js";

/** Everything keycard reads from the environment, validated and typed. */
export interface Config {
  readonly port: number;
  readonly host: string;
  /** Absent means dev mode: the embedded in-process store. */
  readonly redisUrl?: string;
  /** KEYCARD_DEV=1 without REDIS_URL: the embedded store, generated secrets, a demo user. */
  readonly devMode: boolean;
  readonly redisKeyPrefix: string;
  readonly redisCommandTimeoutMs: number;
  /** REDIS_WAIT_REPLICAS / REDIS_WAIT_TIMEOUT: replicas that must hold a revocation first. */
  readonly redisDurability: Durability;
  /** STORE_DEADLINE: how long all of one request's store calls may take together. */
  readonly storeDeadlineMs: number;
  /**
   * VALIDATE_CACHE_TTL / VALIDATE_CACHE_SIZE: token look-ups a replica answers from memory,
   * and for how long at most (the bound on a revoked token elsewhere; 0 turns it off).
   */
  readonly validateCache: { readonly ttlMs: number; readonly maxEntries: number };
  /** REDIS_TLS_CA_FILE: PEM file of the CA that signed Redis's certificates (rediss schemes). */
  readonly redisTlsCaFile?: string;
  readonly policy: SessionPolicy;
  readonly tokenPrefix: string;
  /** Absent means the AdminService refuses every call (or, in dev mode, one is generated). */
  readonly adminToken?: string;
  readonly trustedProxies: readonly string[];
  /** `session` (default) or `hybrid` (API key + TOTP code on each request too). */
  readonly authMode: "session" | "hybrid";
  /** 32 bytes; absent means API keys and TOTP are refused (dev mode generates one). */
  /** KEYCARD_PREVIOUS_ENCRYPTION_KEYS: older keys, which still decrypt and find API keys. */
  readonly previousEncryptionKeys: readonly Buffer[];
  readonly encryptionKey?: Buffer;
  /** Path of a JSON or YAML file of users and keys applied at start. */
  readonly bootstrapFile?: string;
  /** ADMIN_PASSWORD: the password of the built-in administrator account (reference 003). */
  readonly adminPassword?: string;
  /** SESSION_DURATION_DAYS: lifetime of reference 003's admin-panel sessions, in ms. */
  readonly adminPanelSessionMs?: number;
  /** HTTP_PROFILES: the compatibility profiles served (all by default). */
  readonly httpProfiles: readonly string[];
  /** ALLOWED_ORIGINS: serialized origins whose pages may call keycard with credentials. */
  readonly allowedOrigins: readonly string[];
  /** COOKIE_SECURE: false only for plain-HTTP development, where a Secure cookie is never sent back. */
  readonly cookieSecure: boolean;
  readonly logLevel: string;
  readonly maxBodyBytes: number;
  readonly shutdownTimeoutMs: number;
  /** PASSWORD_HASH_CONCURRENCY: argon2 hashes run at once (default: cores - 1, at least 1). */
  readonly hashConcurrency: number;
  /** LOGIN_RATE_LIMIT: Login calls per minute per client IP; 0 turns the limit off. */
  readonly loginRatePerMinute: number;
  /** AUTH_RATE_LIMIT: other AuthService calls (not Validate) per minute per IP; 0 is off. */
  readonly authRatePerMinute: number;
  /** LOGIN_FAILURE_DELAY_AFTER, LOGIN_LOCKOUT_* ...: brute-force protection of Login. */
  readonly loginThrottle: LoginThrottlePolicy;
  /** INTROSPECTION_SECRET: what RFC 7662 callers present; absent means introspection answers 401. */
  readonly introspectionSecret?: string;
  /** HTTP_*, HTTP2_*, MAX_CONNECTIONS*: how long and how much one client may hold of the server. */
  readonly connections: ConnectionLimits;
}

/** Invalid settings, each described in one line naming the variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";

  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** Reads settings one by one, collecting every problem instead of stopping at the first. */
export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  text(name: string, fallback: string): string {
    const value = this.env[name]?.trim();
    return value === undefined || value === "" ? fallback : value;
  }

  optional(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  }

  duration(name: string, fallback: string, allowZero = false): number {
    const text = this.text(name, fallback);
    const ms = text === "0" && allowZero ? 0 : parseDuration(text);
    if (ms === undefined || (ms === 0 && !allowZero)) {
      this.problems.push(`${name}="${text}" is not a duration like 90s, 15m, 12h, 7d or 30d`);
      return parseDuration(fallback) ?? 0;
    }
    return ms;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const text = this.text(name, String(fallback));
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) {
      this.problems.push(`${name}="${text}" must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  /** A share written as a percentage, `80%` or `80`; 0 to 100. */
  percent(name: string, fallback: number): number {
    const text = this.text(name, `${fallback}%`);
    const match = /^(\d{1,3})%?$/.exec(text);
    const value = Number(match?.[1] ?? Number.NaN);
    if (!(value >= 0 && value <= 100)) {
      this.problems.push(`${name}="${text}" must be a percentage from 0% to 100%`);
      return fallback;
    }
    return value;
  }

  check(ok: boolean, problem: string): void {
    if (!ok) {
      this.problems.push(problem);
    }
  }
}

function isAddressOrRange(entry: string): boolean {
  const [address = "", prefix, extra] = entry.split("/");
  if (extra !== undefined || isIP(address) === 0) {
    return false;
  }
  const maxPrefix = isIP(address) === 6 ? 128 : 32;
  return prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= maxPrefix);
}

/**
 * SESSION_PROFILE's defaults for the session settings it covers; a variable that is set
 * still wins. `nist-aal2` applies NIST SP 800-63B rev4's AAL2 session rules: a new login
 * at least every 24 h, and an inactivity timeout of 1 h that remember-me sessions obey too.
 */
const sessionProfiles = {
  default: { max: "30d", idle: "0", remember: "30d", idleEndsRememberMe: false },
  "nist-aal2": { max: "24h", idle: "1h", remember: "24h", idleEndsRememberMe: true },
} as const;

function readPolicy(read: EnvReader): SessionPolicy {
  const profileName = read.text("SESSION_PROFILE", "default");
  const known = Object.hasOwn(sessionProfiles, profileName);
  read.check(known, `SESSION_PROFILE="${profileName}" must be default or nist-aal2`);
  const profile = known
    ? sessionProfiles[profileName as keyof typeof sessionProfiles]
    : sessionProfiles.default;
  const defaultDuration = read.duration("SESSION_DURATION", "12h");
  const maxDuration = read.duration("SESSION_MAX_DURATION", profile.max);
  read.check(
    defaultDuration <= maxDuration,
    "SESSION_DURATION must not be longer than SESSION_MAX_DURATION",
  );
  return {
    defaultDuration,
    maxDuration,
    idleTimeout: read.duration("SESSION_IDLE_TIMEOUT", profile.idle, true),
    refreshGrace: read.duration("REFRESH_GRACE", "10s", true),
    retention: read.duration("EXPIRED_TOKEN_RETENTION", "7d", true),
    touchInterval: read.duration("SESSION_TOUCH_INTERVAL", "60s", true),
    renewAfter: read.percent("SESSION_RENEW_AFTER", 80) / 100,
    rememberDuration: read.duration("SESSION_REMEMBER_DURATION", profile.remember),
    ...(profile.idleEndsRememberMe ? { idleEndsRememberMe: true } : {}),
    apiSessionDuration: read.duration("API_SESSION_DURATION", "0", true),
    maxSessionsPerUser: read.integer("SESSION_MAX_PER_USER", 100, 0, 100_000),
  };
}

/**
 * ALLOWED_ORIGINS: comma-separated origins (scheme, host, optional port, no path), each
 * stored serialized the way browsers send Origin, so comparisons are exact.
 */
function readAllowedOrigins(read: EnvReader): readonly string[] {
  const origins: string[] = [];
  for (const entry of read.text("ALLOWED_ORIGINS", "").split(",")) {
    const text = entry.trim();
    if (text === "") {
      continue;
    }
    // The pattern refuses paths, queries and credentials; URL checks the host and port.
    if (!/^https?:\/\/[^/?#@\\]+$/i.test(text) || !URL.canParse(text)) {
      read.problems.push(
        `ALLOWED_ORIGINS entry "${text}" is not an origin like https://app.example.com or http://localhost:5173 (scheme and host, optional port, no path)`,
      );
      continue;
    }
    origins.push(new URL(text).origin);
  }
  return [...new Set(origins)];
}

/** COOKIE_SECURE: true unless set to false. */
function readCookieSecure(read: EnvReader): boolean {
  const text = read.text("COOKIE_SECURE", "true").toLowerCase();
  read.check(text === "true" || text === "false", `COOKIE_SECURE="${text}" must be true or false`);
  return text !== "false";
}

/**
 * The brute-force policy of Login (README, "Brute-force protection"). The lockout threshold
 * is at most 100, the ASVS 2.2.1 and NIST SP 800-63B cap; 0 turns a rule off.
 */
function readLoginThrottle(read: EnvReader): LoginThrottlePolicy {
  read.check(
    read.optional("LOGIN_LOCKOUT_DURATION") === undefined,
    "LOGIN_LOCKOUT_DURATION is no longer read: an account now stays locked while LOGIN_LOCKOUT_THRESHOLD failures fall within the last LOGIN_FAILURE_WINDOW; unset it",
  );
  return {
    pairDelayAfter: read.integer("LOGIN_FAILURE_DELAY_AFTER", 5, 0, 1_000),
    ipDelayAfter: read.integer("LOGIN_IP_FAILURE_DELAY_AFTER", 50, 0, 1_000_000),
    lockoutThreshold: read.integer("LOGIN_LOCKOUT_THRESHOLD", 100, 0, 100),
    baseDelay: defaultLoginThrottle.baseDelay,
    maxDelay: read.duration("LOGIN_MAX_DELAY", "15m"),
    window: read.duration("LOGIN_FAILURE_WINDOW", "1h"),
  };
}

/** A 32-byte key from hex or base64; undefined when unset, null when malformed. */
function parseKey(text: string | undefined): Buffer | undefined | null {
  if (text === undefined) {
    return undefined;
  }
  const key = /^[0-9a-fA-F]{64}$/.test(text)
    ? Buffer.from(text, "hex")
    : Buffer.from(text, "base64");
  return key.length === 32 ? key : null;
}

/** REDIS_URL parsed, or the message saying why it cannot be used. */
function redisUrlOrProblem(url: string): RedisTarget | string {
  try {
    return parseRedisUrl(url);
  } catch (error) {
    return (error as Error).message;
  }
}

/** Whether this process may read the file at `path`. */
function isReadable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** Refuses a configured secret that is too short or too predictable to guard keycard. */
function checkSecret(read: EnvReader, name: string, secret: string | undefined): void {
  const problem = secret === undefined ? undefined : weakSecretProblem(name, secret);
  if (problem !== undefined) {
    read.problems.push(problem);
  }
}

/** Turns the environment into a frozen Config, or throws ConfigError listing every problem. */
export function loadConfig(env: Env): Config {
  const read = new EnvReader(env);
  const redisUrl = read.optional("REDIS_URL");
  const redisTarget = redisUrl === undefined ? undefined : redisUrlOrProblem(redisUrl);
  read.check(typeof redisTarget !== "string", String(redisTarget));
  const devAsked = read.text("KEYCARD_DEV", "0");
  read.check(
    devAsked === "0" || devAsked === "1",
    `KEYCARD_DEV="${devAsked}" must be 1 (dev mode when REDIS_URL is unset) or 0`,
  );

  const redisTlsCaFile = read.optional("REDIS_TLS_CA_FILE");
  read.check(
    redisTlsCaFile === undefined || (typeof redisTarget === "object" && redisTarget.tls),
    "REDIS_TLS_CA_FILE needs a TLS REDIS_URL (rediss://, rediss+sentinel:// or rediss+cluster://)",
  );
  read.check(
    redisTlsCaFile === undefined || isReadable(redisTlsCaFile),
    `REDIS_TLS_CA_FILE "${redisTlsCaFile}" cannot be read`,
  );
  const tokenPrefix = read.text("TOKEN_PREFIX", "kc");
  read.check(
    /^[a-z0-9]{1,16}$/.test(tokenPrefix),
    `TOKEN_PREFIX="${tokenPrefix}" must be 1 to 16 lower-case letters or digits`,
  );
  const adminToken = read.optional("KEYCARD_ADMIN_TOKEN");
  checkSecret(read, "KEYCARD_ADMIN_TOKEN", adminToken);
  const trustedProxies = read
    .text("TRUSTED_PROXIES", "")
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  for (const entry of trustedProxies.filter((candidate) => !isAddressOrRange(candidate))) {
    read.problems.push(`TRUSTED_PROXIES entry "${entry}" is not an IP address or CIDR range`);
  }
  const authMode = read.text("AUTH_MODE", "session");
  read.check(
    authMode === "session" || authMode === "hybrid",
    `AUTH_MODE="${authMode}" must be session or hybrid`,
  );
  const encryptionKey = parseKey(read.optional("KEYCARD_ENCRYPTION_KEY"));
  const previousEncryptionKeys = read
    .text("KEYCARD_PREVIOUS_ENCRYPTION_KEYS", "")
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    .map(parseKey);
  read.check(
    previousEncryptionKeys.every((key) => key instanceof Buffer),
    "KEYCARD_PREVIOUS_ENCRYPTION_KEYS must be keys like KEYCARD_ENCRYPTION_KEY, separated by commas",
  );
  read.check(
    encryptionKey !== null,
    "KEYCARD_ENCRYPTION_KEY must be 32 bytes as 64 hex digits or base64 (try: openssl rand -base64 32)",
  );
  const bootstrapFile = read.optional("KEYCARD_BOOTSTRAP");
  const adminPassword = read.optional("ADMIN_PASSWORD");
  const panelDays = read.optional("SESSION_DURATION_DAYS");
  const adminPanelDays =
    panelDays === undefined ? undefined : read.integer("SESSION_DURATION_DAYS", 30, 1, 3650);
  const httpProfiles = read
    .text("HTTP_PROFILES", knownProfiles.join(","))
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "" && name !== "none");
  for (const name of httpProfiles.filter(
    (candidate) => !(knownProfiles as readonly string[]).includes(candidate),
  )) {
    read.problems.push(`HTTP_PROFILES entry "${name}" is not one of ${knownProfiles.join(", ")}`);
  }
  const introspectionSecret = read.optional("INTROSPECTION_SECRET");
  checkSecret(read, "INTROSPECTION_SECRET", introspectionSecret);
  const logLevel = read.text("LOG_LEVEL", "info");
  read.check(logLevels.includes(logLevel), `LOG_LEVEL must be one of ${logLevels.join(", ")}`);
  const redisCommandTimeoutMs = read.duration("REDIS_COMMAND_TIMEOUT", "1s");
  const config: Config = {
    port: read.integer("PORT", 8080, 0, 65_535),
    host: read.text("HOST", "0.0.0.0"),
    ...(redisUrl === undefined ? {} : { redisUrl }),
    devMode: redisUrl === undefined && devAsked === "1",
    redisKeyPrefix: read.text("REDIS_KEY_PREFIX", "keycard"),
    redisCommandTimeoutMs,
    redisDurability: readDurability(
      read,
      typeof redisTarget === "object" ? redisTarget : undefined,
      redisCommandTimeoutMs,
    ),
    storeDeadlineMs: read.duration("STORE_DEADLINE", "1s"),
    validateCache: {
      ttlMs: read.duration("VALIDATE_CACHE_TTL", "1s", true),
      maxEntries: read.integer("VALIDATE_CACHE_SIZE", 10_000, 1, 10_000_000),
    },
    ...(redisTlsCaFile === undefined ? {} : { redisTlsCaFile }),
    policy: readPolicy(read),
    tokenPrefix,
    ...(adminToken === undefined ? {} : { adminToken }),
    trustedProxies,
    authMode: authMode === "hybrid" ? "hybrid" : "session",
    ...(encryptionKey ? { encryptionKey } : {}),
    previousEncryptionKeys: previousEncryptionKeys.filter(
      (key): key is Buffer => key instanceof Buffer,
    ),
    ...(bootstrapFile === undefined ? {} : { bootstrapFile }),
    ...(adminPassword === undefined ? {} : { adminPassword }),
    ...(adminPanelDays === undefined ? {} : { adminPanelSessionMs: adminPanelDays * 86_400_000 }),
    httpProfiles,
    allowedOrigins: readAllowedOrigins(read),
    cookieSecure: readCookieSecure(read),
    logLevel,
    maxBodyBytes: read.integer("MAX_BODY_BYTES", 65_536, 1024, 16 * 1024 * 1024),
    shutdownTimeoutMs: read.duration("SHUTDOWN_TIMEOUT", "10s"),
    hashConcurrency: read.integer("PASSWORD_HASH_CONCURRENCY", defaultHashConcurrency(), 1, 256),
    loginRatePerMinute: read.integer("LOGIN_RATE_LIMIT", 5, 0, 1_000_000),
    authRatePerMinute: read.integer("AUTH_RATE_LIMIT", 30, 0, 1_000_000),
    loginThrottle: readLoginThrottle(read),
    ...(introspectionSecret === undefined ? {} : { introspectionSecret }),
    connections: readConnectionLimits(read),
  };
  if (read.problems.length > 0) {
    throw new ConfigError(read.problems);
  }
  return Object.freeze(config);
}
