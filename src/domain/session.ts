/** Who opened a session and from where; recorded once, at login. */
export interface ClientInfo {
  readonly ip: string;
  readonly userAgent: string;
}

/**
 * A live session as the store keeps it. Only hashes of its tokens are here: the current
 * one, and after a refresh the previous one with the end of its grace period.
 */
export interface SessionRecord extends ClientInfo {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly lastUsedAt: number;
  readonly authMethods: readonly string[];
  /** The API key that opened the session, if one did. */
  readonly apiKeyId?: string;
  readonly roles: readonly string[];
  readonly email: string;
  readonly displayName: string;
  readonly tokenHash: string;
  readonly previousTokenHash?: string;
  readonly graceUntil?: number;
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
  | "totp_invalid";

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

/** Whether the session went unused for longer than the idle timeout (if one is set). */
export function isIdle(session: SessionRecord, now: number, policy: SessionPolicy): boolean {
  return policy.idleTimeout > 0 && now - session.lastUsedAt > policy.idleTimeout;
}

/**
 * The expiry of a new session: the requested duration (or the default), capped at the
 * maximum. `requestedSeconds` of zero means the default.
 */
export function sessionExpiry(
  now: number,
  requestedSeconds: number,
  policy: SessionPolicy,
): number {
  const wanted = requestedSeconds > 0 ? requestedSeconds * 1000 : policy.defaultDuration;
  return now + Math.min(wanted, policy.maxDuration);
}

/**
 * The expiry after a refresh: the requested lifetime (or the default) from now, never
 * past the absolute maximum counted from the session's creation.
 */
export function refreshedExpiry(
  session: SessionRecord,
  now: number,
  policy: SessionPolicy,
  requestedSeconds = 0,
): number {
  const wanted = requestedSeconds > 0 ? requestedSeconds * 1000 : policy.defaultDuration;
  return Math.min(now + wanted, session.createdAt + policy.maxDuration);
}

/** Whether a use of the session should be written back, given the write throttle. */
export function isTouchDue(session: SessionRecord, now: number, policy: SessionPolicy): boolean {
  return now - session.lastUsedAt >= policy.touchInterval;
}

/** Whole seconds from now until `at`, never negative. */
export function secondsUntil(at: number, now: number): number {
  return Math.max(0, Math.floor((at - now) / 1000));
}
