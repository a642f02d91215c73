/**
 * The catalogue of expected failures. Each reason is an UPPER_SNAKE constant that clients
 * may match on (it travels as google.rpc.ErrorInfo.reason); the kind says which family of
 * status code the transport maps it to. The proto's `keycard.v1.ErrorReason` enum names
 * the same reasons, with a comment for clients on each: a reason added here must be added
 * there too (the transport's mapping does not compile otherwise, and a unit test compares
 * the two sets).
 */
export const errorCatalogue = {
  INVALID_ARGUMENT: "invalid-argument",
  INVALID_CREDENTIALS: "unauthenticated",
  TOTP_REQUIRED: "unauthenticated",
  TOTP_INVALID: "unauthenticated",
  TOTP_NOT_ENROLLED: "failed-precondition",
  ENCRYPTION_KEY_MISSING: "failed-precondition",
  SESSION_REQUIRED: "failed-precondition",
  SESSION_INVALID: "unauthenticated",
  SESSION_EXPIRED: "unauthenticated",
  SESSION_REVOKED: "unauthenticated",
  ADMIN_TOKEN_REQUIRED: "unauthenticated",
  PERMISSION_DENIED: "permission-denied",
  NOT_FOUND: "not-found",
  USER_EXISTS: "already-exists",
  STORE_UNAVAILABLE: "unavailable",
  RATE_LIMITED: "resource-exhausted",
  PAYLOAD_TOO_LARGE: "resource-exhausted",
  STEP_UP_REQUIRED: "unauthenticated",
  SIGNING_KEY_FIXED: "failed-precondition",
  RESET_TOKEN_INVALID: "unauthenticated",
  RECOVERY_CODE_INVALID: "unauthenticated",
  PASSKEY_INVALID: "unauthenticated",
  PASSKEYS_NOT_CONFIGURED: "failed-precondition",
} as const;

/** One reason of the catalogue. */
export type ErrorReason = keyof typeof errorCatalogue;

/** The status family of an error reason, independent of any wire protocol. */
export type ErrorKind = (typeof errorCatalogue)[ErrorReason];

/**
 * An expected failure with a reason from the catalogue and a short message a user can act
 * on. Domain and service code throw it; the transport maps it to a protocol status.
 */
export class KeycardError extends Error {
  override readonly name = "KeycardError";

  constructor(
    readonly reason: ErrorReason,
    message: string,
    readonly field?: string,
    /** Set on a throttled request: whole seconds before the same request may succeed. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }

  /** The status family this error belongs to. */
  get kind(): ErrorKind {
    return errorCatalogue[this.reason];
  }
}

/** Fails a request because a field is missing or malformed. */
export function invalidArgument(field: string, message: string): KeycardError {
  return new KeycardError("INVALID_ARGUMENT", message, field);
}

/** The store could not be reached in time; the request may be retried. */
export class StoreUnavailableError extends KeycardError {
  constructor(options?: { cause: unknown }) {
    super("STORE_UNAVAILABLE", "The session store is unavailable. Try again shortly.");
    if (options !== undefined) {
      this.cause = options.cause;
    }
  }
}

/**
 * The store could not write what a new session's token leads to, and so wrote nothing of
 * the session: the same login may be tried again at once with another token (which a Redis
 * Cluster keeps in another slot).
 */
export class TokenNotStoredError extends StoreUnavailableError {}
