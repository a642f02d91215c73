import { invalidArgument } from "./errors.js";

/** Who opened a session and from where; recorded once, at login. */
export interface ClientInfo {
  readonly ip: string;
  readonly userAgent: string;
  /** The browser's well-formed `device-id` cookie, when it sent one. */
  readonly deviceId?: string;
  /** Where the client is, as LOCATION_HEADER stated it (a country code), when configured. */
  readonly location?: string;
  /** The call's id (`x-request-id`), so that its audit lines name it; never stored. */
  readonly requestId?: string;
}

/**
 * One way a user proved their identity at login, as a session records it (the API's
 * AuthMethod): the password, an API key, a TOTP code, a recovery code, a passkey whose
 * authenticator confirmed only the user's presence, or one that verified the user (a PIN
 * or biometric: a multi-factor authenticator).
 */
export type AuthMethod =
  | "password"
  | "api_key"
  | "totp"
  | "recovery_code"
  | "passkey"
  | "passkey_verified";

/**
 * The lifetime policy a session follows: `standard` (SESSION_DURATION, idle timeout,
 * renewed in use), `remember_me` (SESSION_REMEMBER_DURATION, no idle timeout, renewed in
 * use) or `api` (API_SESSION_DURATION, never renewed by use: the client refreshes).
 */
export type SessionKind = "standard" | "remember_me" | "api";

/**
 * A live session as the store keeps it. Only hashes of its tokens are here: the current
 * one, and after a refresh the previous one with the end of its grace period.
 */
export interface SessionRecord extends ClientInfo {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: number;
  /**
   * When the login that began this session presented its credential, for a session
   * derived from another one (IssueToken): it inherits the login's absolute deadline.
   * Absent for a session a login began itself (then it is `createdAt`).
   */
  readonly authenticatedAt?: number;
  /** When the person last proved themselves again on this session (Reauthenticate). */
  readonly reauthenticatedAt?: number;
  readonly expiresAt: number;
  readonly lastUsedAt: number;
  /** How the login proved the user's identity, in the order the proofs were checked. */
  readonly authMethods: readonly AuthMethod[];
  /** The API key that opened the session, if one did. */
  readonly apiKeyId?: string;
  /**
   * The passkeys (their keycard ids) that opened the session or proved its holder again,
   * in the order used: removing one ends the session. Absent when none did.
   */
  readonly passkeyIds?: readonly string[];
  readonly roles: readonly string[];
  readonly email: string;
  readonly displayName: string;
  readonly kind: SessionKind;
  /** The lifetime granted at login (ms): a renewal grants it again, from the time of use. */
  readonly lifetime: number;
  /** "Firefox 128 on Linux", "curl 8.5": the client, as its User-Agent described it. */
  readonly deviceLabel: string;
  /**
   * The device the session was opened on: the browser's `device-id` cookie, or the API key
   * that opened it. Absent for sessions stored before devices were recorded.
   */
  readonly deviceId?: string;
  /** The name the user gave the session (RenameSession); absent until they give one. */
  readonly label?: string;
  readonly tokenHash: string;
  readonly previousTokenHash?: string;
  readonly graceUntil?: number;
}

/**
 * A session as a listing shows it: without the hashes of its tokens, which nobody listing
 * sessions needs (and a store need not keep whole: see the Redis store's records).
 */
export type SessionListing = Omit<SessionRecord, "tokenHash" | "previousTokenHash" | "graceUntil">;

/** A session's listing: the session without its token hashes. */
export function listingOf({
  tokenHash: _current,
  previousTokenHash: _previous,
  graceUntil: _grace,
  ...listing
}: SessionRecord): SessionListing {
  return listing;
}

/**
 * What a token hash points to. The pointer outlives its session by a retention period,
 * so that a late caller learns "expired" or "revoked" instead of "unknown".
 */
export interface TokenPointer {
  readonly userId: string;
  readonly sessionId: string;
  readonly expiresAt: number;
}

/** The store's answer for a token hash: the pointer, and the session if it is still live. */
export type TokenLookup =
  | { readonly pointer?: undefined; readonly session?: undefined }
  | { readonly pointer: TokenPointer; readonly session?: SessionRecord };

/** Why a token is not active; mirrors the InactiveReason of the API. */
export type InactiveReason =
  | "unknown"
  | "expired"
  | "revoked"
  | "idle_timeout"
  | "malformed"
  | "totp_required"
  | "totp_invalid"
  | "step_up_required";

/** The verdict on a presented token. `stolen` means a rotated-out token came back. */
export type TokenVerdict =
  | { readonly active: true; readonly session: SessionRecord }
  | { readonly active: false; readonly reason: InactiveReason; readonly stolen?: SessionRecord };

/** Session lifetimes in milliseconds, from configuration. */
export interface SessionPolicy {
  readonly defaultDuration: number;
  readonly maxDuration: number;
  readonly idleTimeout: number;
  readonly refreshGrace: number;
  readonly retention: number;
  readonly touchInterval: number;
  /**
   * The share of its lifetime (0 to 1) after which a session in use is renewed for another
   * lifetime, never past `maxDuration` from login; 0 turns automatic renewal off.
   */
  readonly renewAfter: number;
  /** Lifetime of a remember-me session. */
  readonly rememberDuration: number;
  /** Whether the idle timeout ends remember-me sessions too (NIST AAL2); absent: it does not. */
  readonly idleEndsRememberMe?: boolean;
  /** Lifetime of a session opened with an API key; 0 gives those standard sessions. */
  readonly apiSessionDuration: number;
  /** Live sessions a user may hold; the oldest ends when a login exceeds it. 0: no cap. */
  readonly maxSessionsPerUser: number;
}

/** What a login asks for: its credential, remember-me, and a lifetime in seconds (0: the default). */
export interface SessionRequest {
  readonly apiKey: boolean;
  readonly rememberMe: boolean;
  readonly durationSeconds: number;
}

/** The kind, lifetime and expiry of a new session. */
export interface SessionTerms {
  readonly kind: SessionKind;
  readonly lifetime: number;
  readonly expiresAt: number;
}

/** When the credential behind a session was presented: its absolute lifetime counts from it. */
export function loginTimeOf(session: Pick<SessionRecord, "authenticatedAt" | "createdAt">): number {
  return session.authenticatedAt ?? session.createdAt;
}

/**
 * The terms of a new session: its kind decides the default lifetime; a requested lifetime
 * replaces it (for an API session only a shorter one), and nothing passes the maximum
 * counted from `authenticatedAt`, the login's time (now, unless the session is derived).
 */
export function sessionTerms(
  request: SessionRequest,
  now: number,
  policy: SessionPolicy,
  authenticatedAt = now,
): SessionTerms {
  const requested = request.durationSeconds * 1000;
  const kind = kindOf(request, policy);
  const fallback = {
    standard: policy.defaultDuration,
    remember_me: policy.rememberDuration,
    api: policy.apiSessionDuration,
  }[kind];
  const wanted = requested > 0 && (kind !== "api" || requested < fallback) ? requested : fallback;
  const lifetime = Math.min(wanted, policy.maxDuration);
  return {
    kind,
    lifetime,
    expiresAt: Math.min(now + lifetime, authenticatedAt + policy.maxDuration),
  };
}

function kindOf(request: SessionRequest, policy: SessionPolicy): SessionKind {
  if (request.apiKey) {
    return policy.apiSessionDuration > 0 ? "api" : "standard";
  }
  return request.rememberMe ? "remember_me" : "standard";
}

/**
 * Judges a token from what the store holds for its hash, at time `now`. Pure: the caller
 * acts on the verdict (revoking a stolen session, touching a used one).
 */
export function judgeToken(
  lookup: TokenLookup,
  tokenHash: string,
  now: number,
  policy: SessionPolicy,
): TokenVerdict {
  const { pointer, session } = lookup;
  if (pointer === undefined) {
    return { active: false, reason: "unknown" };
  }
  if (session === undefined) {
    return { active: false, reason: pointer.expiresAt <= now ? "expired" : "revoked" };
  }
  if (session.expiresAt <= now) {
    return { active: false, reason: "expired" };
  }
  if (isIdle(session, now, policy)) {
    return { active: false, reason: "idle_timeout" };
  }
  if (session.tokenHash === tokenHash) {
    return { active: true, session };
  }
  if (session.previousTokenHash === tokenHash && (session.graceUntil ?? 0) > now) {
    return { active: true, session };
  }
  return { active: false, reason: "revoked", stolen: session };
}

/**
 * Whether the session went unused for longer than the idle timeout (if one is set).
 * Remember-me sessions have none (surviving days without use is their purpose), unless the
 * policy says otherwise (SESSION_PROFILE=nist-aal2).
 */
export function isIdle(
  session: Pick<SessionRecord, "kind" | "lastUsedAt">,
  now: number,
  policy: SessionPolicy,
): boolean {
  return (
    policy.idleTimeout > 0 &&
    (session.kind !== "remember_me" || policy.idleEndsRememberMe === true) &&
    now - session.lastUsedAt > policy.idleTimeout
  );
}

/**
 * The expiry after a refresh: the requested lifetime (or the session's own) from now,
 * never past the absolute maximum counted from the login that began the session.
 */
export function refreshedExpiry(
  session: SessionRecord,
  now: number,
  policy: SessionPolicy,
  requestedSeconds = 0,
): number {
  const wanted = requestedSeconds > 0 ? requestedSeconds * 1000 : session.lifetime;
  return Math.min(now + wanted, loginTimeOf(session) + policy.maxDuration);
}

/**
 * Whether a use of the session should renew it: automatic renewal is on, the session is
 * not an API session, the configured share of its lifetime has passed, and a renewal
 * would move its expiry (it cannot pass the absolute maximum).
 */
export function isRenewalDue(session: SessionRecord, now: number, policy: SessionPolicy): boolean {
  if (policy.renewAfter <= 0 || session.kind === "api") {
    return false;
  }
  const elapsed = session.lifetime - (session.expiresAt - now);
  return (
    elapsed >= session.lifetime * policy.renewAfter &&
    refreshedExpiry(session, now, policy) > session.expiresAt
  );
}

/** Whether a use of the session should be written back, given the write throttle. */
export function isTouchDue(session: SessionRecord, now: number, policy: SessionPolicy): boolean {
  return now - session.lastUsedAt >= policy.touchInterval;
}

/** Whole seconds from now until `at`, never negative. */
export function secondsUntil(at: number, now: number): number {
  return Math.max(0, Math.floor((at - now) / 1000));
}

/** Refuses a requested session duration that is not a whole, non-negative number of seconds. */
export function validateDuration(durationSeconds: number): void {
  if (!Number.isInteger(durationSeconds) || durationSeconds < 0) {
    throw invalidArgument("duration_seconds", "duration_seconds must not be negative");
  }
}

/** Until when a session's token is still recognised (as expired or revoked) after it ends. */
export function retainUntil(session: SessionRecord, policy: SessionPolicy): number {
  return session.expiresAt + policy.retention;
}

/** A session used at `now` and given its lifetime (or the requested one) again from then. */
export function extendedSession(
  session: SessionRecord,
  now: number,
  policy: SessionPolicy,
  requestedSeconds = 0,
): SessionRecord {
  return {
    ...session,
    expiresAt: refreshedExpiry(session, now, policy, requestedSeconds),
    lastUsedAt: now,
  };
}
