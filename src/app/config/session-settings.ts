import { defaultLoginThrottle, type LoginThrottlePolicy } from "../../domain/login-throttle.js";
import type { SessionPolicy } from "../../domain/session.js";
import type { EnvReader } from "./env-reader.js";

/**
 * SESSION_PROFILE's defaults for the session settings it covers; a variable that is set
 * still wins. `nist-aal2` applies NIST SP 800-63B rev4's AAL2 session rules: a new login
 * at least every 24 h, and an inactivity timeout of 1 h that remember-me sessions obey too.
 */
const sessionProfiles = {
  default: { max: "30d", idle: "0", remember: "30d", idleEndsRememberMe: false },
  "nist-aal2": { max: "24h", idle: "1h", remember: "24h", idleEndsRememberMe: true },
} as const;

export function readPolicy(read: EnvReader): SessionPolicy {
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
 * The brute-force policy of Login (README, "Brute-force protection"). The lockout threshold
 * is at most 100, the ASVS 2.2.1 and NIST SP 800-63B cap; 0 turns a rule off.
 */
export function readLoginThrottle(read: EnvReader): LoginThrottlePolicy {
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
