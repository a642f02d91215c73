import type { LoginThrottlePolicy } from "../../domain/login-throttle.js";
import type { RelyingParty } from "../../domain/passkey.js";
import type { SecurityWebhookSettings } from "../../domain/security-event.js";
import type { SessionPolicy } from "../../domain/session.js";
import type { JwtConfig } from "../../service/jwt-keys.js";
import { defaultHashConcurrency } from "../../store/infra/password-hasher.js";
import type { ConnectionLimits } from "../../transport/server/limits.js";
import { readConnectionLimits } from "./connection-settings.js";
import { ConfigError, type Env, EnvReader } from "./env-reader.js";
import {
  readAllowedOrigins,
  readAllowedRedirectDomains,
  readCookieDomain,
  readCookieSecure,
  readHttpProfiles,
  readLocationHeader,
  readTrustedProxies,
} from "./http-settings.js";
import { readJwtSettings } from "./jwt-settings.js";
import { readPortalEnabled } from "./portal-settings.js";
import { type PrivilegedSettings, readPrivilegedSettings } from "./privileged-settings.js";
import { readStoreSettings, type StoreSettings } from "./redis-settings.js";
import { readSecrets, type SecretSettings } from "./secret-settings.js";
import { readLoginThrottle, readPolicy } from "./session-settings.js";
import { readTracingSettings, type TracingSettings } from "./tracing-settings.js";
import { readWebAuthnSettings } from "./webauthn-settings.js";
import { readWebhookSettings } from "./webhook-settings.js";

export { ConfigError } from "./env-reader.js";

/** Everything keycard reads from the environment, validated and typed. */
export interface Config extends StoreSettings, SecretSettings, PrivilegedSettings {
  readonly port: number;
  readonly host: string;
  /** KEYCARD_DEV=1 without REDIS_URL: the embedded store, generated secrets, a demo user. */
  readonly devMode: boolean;
  readonly policy: SessionPolicy;
  readonly tokenPrefix: string;
  readonly trustedProxies: readonly string[];
  /** `session` (default) or `hybrid` (API key + TOTP code on each request too). */
  readonly authMode: "session" | "hybrid";
  /** Path of a JSON or YAML file of users and keys applied at start. */
  readonly bootstrapFile?: string;
  /** SESSION_DURATION_DAYS: lifetime of reference 003's admin-panel sessions, in ms. */
  readonly adminPanelSessionMs?: number;
  /** HTTP_PROFILES: the compatibility profiles served (all by default). */
  readonly httpProfiles: readonly string[];
  /** ALLOWED_ORIGINS: serialized origins whose pages may call keycard with credentials. */
  readonly allowedOrigins: readonly string[];
  /** COOKIE_SECURE: false only for plain-HTTP development, where a Secure cookie is never sent back. */
  readonly cookieSecure: boolean;
  /** UI: serve the sign-in and account pages at `/ui/` (from dist/ui, built by `npm run build`). */
  readonly portal: boolean;
  /** COOKIE_DOMAIN: the parent domain keycard's cookies are set for; host-only when absent. */
  readonly cookieDomain?: string;
  /** ALLOWED_REDIRECT_DOMAINS: where browsers may be redirected (with subdomains); keycard's own paths only when empty. */
  readonly allowedRedirectDomains: readonly string[];
  /** LOCATION_HEADER, lower-cased: the trusted proxy's header stating the client's location. */
  readonly locationHeader?: string;
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
  /** HTTP_*, HTTP2_*, MAX_CONNECTIONS*: how long and how much one client may hold of the server. */
  readonly connections: ConnectionLimits;
  /** JWT_*: the JWTs IssueJwt signs and the keys it signs them with. */
  readonly jwt: JwtConfig;
  /** SECURITY_WEBHOOK_URL and _SECRET: where new-device and new-place events are POSTed. */
  readonly securityWebhook?: SecurityWebhookSettings;
  /** OTEL_EXPORTER_OTLP_*: where spans are exported; absent when tracing is off. */
  readonly tracing?: TracingSettings;
  /** WEBAUTHN_RP_ID, _ORIGINS and _RP_NAME: who keycard is to passkeys; passkeys are off when absent. */
  readonly webauthn?: RelyingParty;
}

const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** KEYCARD_DEV: dev mode is asked for with 1, and happens only without REDIS_URL. */
function readDevMode(read: EnvReader, store: StoreSettings): boolean {
  const asked = read.text("KEYCARD_DEV", "0");
  read.check(
    asked === "0" || asked === "1",
    `KEYCARD_DEV="${asked}" must be 1 (dev mode when REDIS_URL is unset) or 0`,
  );
  return store.redisUrl === undefined && asked === "1";
}

/**
 * LOGIN_RATE_LIMIT and AUTH_RATE_LIMIT: reference 002's 5 and 30 a minute, or in dev mode
 * 60 and 300, so that someone following the README with a few retries is not stopped.
 */
function readRateLimits(
  read: EnvReader,
  devMode: boolean,
): Pick<Config, "loginRatePerMinute" | "authRatePerMinute"> {
  const [login, auth] = devMode ? devRateLimits : productionRateLimits;
  return {
    loginRatePerMinute: read.integer("LOGIN_RATE_LIMIT", login, 0, 1_000_000),
    authRatePerMinute: read.integer("AUTH_RATE_LIMIT", auth, 0, 1_000_000),
  };
}

/** The default Login and other AuthService calls per minute per address (reference 002). */
export const productionRateLimits = [5, 30] as const;

/** Dev mode's default Login and other AuthService calls per minute per address. */
export const devRateLimits = [60, 300] as const;

function readTokenPrefix(read: EnvReader): string {
  const prefix = read.text("TOKEN_PREFIX", "kc");
  read.check(
    /^[a-z0-9]{1,16}$/.test(prefix),
    `TOKEN_PREFIX="${prefix}" must be 1 to 16 lower-case letters or digits`,
  );
  return prefix;
}

function readAuthMode(read: EnvReader): "session" | "hybrid" {
  const mode = read.text("AUTH_MODE", "session");
  read.check(
    mode === "session" || mode === "hybrid",
    `AUTH_MODE="${mode}" must be session or hybrid`,
  );
  return mode === "hybrid" ? "hybrid" : "session";
}

function readLogLevel(read: EnvReader): string {
  const level = read.text("LOG_LEVEL", "info");
  read.check(logLevels.includes(level), `LOG_LEVEL must be one of ${logLevels.join(", ")}`);
  return level;
}

/** SESSION_DURATION_DAYS (reference 003's admin panel), in ms; absent when unset. */
function readAdminPanelSession(read: EnvReader): { adminPanelSessionMs?: number } {
  if (read.optional("SESSION_DURATION_DAYS") === undefined) {
    return {};
  }
  return { adminPanelSessionMs: read.integer("SESSION_DURATION_DAYS", 30, 1, 3650) * 86_400_000 };
}

/** Turns the environment into a frozen Config, or throws ConfigError listing every problem. */
export function loadConfig(env: Env): Config {
  const read = new EnvReader(env);
  const store = readStoreSettings(read);
  const bootstrapFile = read.optional("KEYCARD_BOOTSTRAP");
  const devMode = readDevMode(read, store);
  const port = read.integer("PORT", 8080, 0, 65_535);
  const config: Config = {
    port,
    host: read.text("HOST", "0.0.0.0"),
    ...store,
    devMode,
    policy: readPolicy(read),
    tokenPrefix: readTokenPrefix(read),
    ...readSecrets(read),
    trustedProxies: readTrustedProxies(read),
    authMode: readAuthMode(read),
    ...(bootstrapFile === undefined ? {} : { bootstrapFile }),
    ...readAdminPanelSession(read),
    httpProfiles: readHttpProfiles(read),
    allowedOrigins: readAllowedOrigins(read),
    cookieSecure: readCookieSecure(read, devMode),
    portal: readPortalEnabled(read),
    ...readCookieDomain(read),
    allowedRedirectDomains: readAllowedRedirectDomains(read),
    ...readLocationHeader(read),
    logLevel: readLogLevel(read),
    maxBodyBytes: read.integer("MAX_BODY_BYTES", 65_536, 1024, 16 * 1024 * 1024),
    shutdownTimeoutMs: read.duration("SHUTDOWN_TIMEOUT", "10s"),
    hashConcurrency: read.integer("PASSWORD_HASH_CONCURRENCY", defaultHashConcurrency(), 1, 256),
    ...readRateLimits(read, devMode),
    loginThrottle: readLoginThrottle(read),
    connections: readConnectionLimits(read),
    jwt: readJwtSettings(read),
    ...readPrivilegedSettings(read),
    ...readWebhookSettings(read),
    ...readTracingSettings(read),
    ...readWebAuthnSettings(read, { devMode, port }),
  };
  if (read.problems.length > 0) {
    throw new ConfigError(read.problems);
  }
  return Object.freeze(config);
}
