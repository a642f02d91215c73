import { KeycardError } from "../domain/errors.js";
import { accountFingerprint } from "../domain/login-throttle.js";
import type { ClientInfo } from "../domain/session.js";
import { normalizeEmail } from "../domain/user.js";

/** One login attempt as the guard counts it: which account, how, and from where. */
export interface LoginAttempt {
  readonly credential:
    | "password"
    | "api_key"
    | "totp"
    | "recovery_code"
    | "passkey"
    | "admin_token"
    | "introspection_secret";
  /** The fingerprint of the account the attempt names (never the email or key itself). */
  readonly account: string;
  /** The normalized email of a password login, used only to put a userId in the audit. */
  readonly email?: string;
  readonly client: ClientInfo;
  /**
   * Where a secret was checked outside Login, which audits its own failures: a wrong one
   * is then audited here as `login.failed` with this door (never the secret).
   */
  readonly door?:
    | "validate"
    | "api_key_header"
    | "admin"
    | "introspection"
    | "change_password"
    | "confirm_totp"
    | "reauthenticate";
}

/**
 * The attempt a Login call makes: a password login counts against its normalized email
 * (unknown emails exactly like real ones), an ADMIN_PASSWORD login (empty email) against
 * the built-in administrator's email, and an API-key login against a hash of the key.
 */
export function loginAttemptOf(
  input: { readonly email: string; readonly apiKey: string },
  client: ClientInfo,
  adminEmail?: string,
): LoginAttempt {
  if (input.apiKey !== "") {
    return { credential: "api_key", account: accountFingerprint(`key:${input.apiKey}`), client };
  }
  const typed = normalizeEmail(input.email);
  const email = typed === "" && adminEmail !== undefined ? adminEmail : typed;
  return { credential: "password", account: passwordAccountOf(email), email, client };
}

/** The account fingerprint password logins with `email` (normalized) count against. */
export function passwordAccountOf(email: string): string {
  return accountFingerprint(`email:${email}`);
}

/**
 * The attempt a TOTP code makes, whichever credential it comes with: one budget per user,
 * so the password and each API key do not each get their own guesses. A `door` outside
 * Login (ConfirmOwnTotp) has its wrong codes audited as `login.failed`.
 */
export function totpAttemptOf(
  userId: string,
  client: ClientInfo,
  door?: LoginAttempt["door"],
): LoginAttempt {
  const attempt: LoginAttempt = {
    credential: "totp",
    account: accountFingerprint(`totp:${userId}`),
    client,
  };
  return door === undefined ? attempt : { ...attempt, door };
}

/**
 * The attempt a recovery code makes: it stands in for a TOTP code, so it spends the same
 * budget (the account of {@link totpAttemptOf}), and is named apart only in the audit.
 */
export function recoveryCodeAttemptOf(
  userId: string,
  client: ClientInfo,
  door?: LoginAttempt["door"],
): LoginAttempt {
  return { ...totpAttemptOf(userId, client, door), credential: "recovery_code" };
}

/**
 * The attempt a passkey makes as a second factor (after a password, or on a session at
 * Reauthenticate): it stands in for a TOTP code, so it spends the same budget.
 */
export function passkeyFactorAttemptOf(
  userId: string,
  client: ClientInfo,
  door?: LoginAttempt["door"],
): LoginAttempt {
  return { ...totpAttemptOf(userId, client, door), credential: "passkey" };
}

/**
 * The attempt a passkey signing in alone makes: it counts against the account its user
 * handle names (any text, unknown accounts exactly like real ones), a budget of its own,
 * so that bad assertions naming someone never lock their password or TOTP out.
 */
export function passkeySignInAttemptOf(userHandle: string, client: ClientInfo): LoginAttempt {
  return { credential: "passkey", account: accountFingerprint(`passkey:${userHandle}`), client };
}

/**
 * The attempt a configured secret (the admin token, the introspection secret) makes. Each
 * address has an account of its own, so guessing from one address slows that address down
 * and locks it out, and no one can lock the operators out of their own admin API.
 */
export function secretAttemptOf(
  credential: "admin_token" | "introspection_secret",
  client: ClientInfo,
): LoginAttempt {
  return {
    credential,
    account: accountFingerprint(`${credential}:${client.ip}`),
    client,
    door: credential === "admin_token" ? "admin" : "introspection",
  };
}

/** Whether a refused login counts as a failed guess: a wrong secret, not a malformed call. */
export function isGuessFailure(error: unknown): boolean {
  return (
    error instanceof KeycardError &&
    (error.reason === "INVALID_CREDENTIALS" ||
      error.reason === "TOTP_INVALID" ||
      error.reason === "RECOVERY_CODE_INVALID" ||
      error.reason === "PASSKEY_INVALID")
  );
}
