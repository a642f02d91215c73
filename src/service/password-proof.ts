import type { PasswordHasher } from "../domain/ports.js";
import type { ClientInfo } from "../domain/session.js";
import type { UserRecord } from "../domain/user.js";
import { invalidCredentials } from "./credential-prover.js";
import { type LoginAttempt, loginAttemptOf } from "./login-attempt.js";
import type { LoginGuard } from "./login-guard.js";

/** What proving an account's password on an existing session needs. */
export interface PasswordProofDeps {
  readonly hasher: PasswordHasher;
  /** The login's guessing budget, which a wrong password here spends too. */
  readonly guard?: LoginGuard;
}

/**
 * Checks `password` against the account's, as one attempt on the same guessing budget as a
 * login with the account's email: INVALID_CREDENTIALS when wrong, RATE_LIMITED once the
 * budget is spent. `door` names where it was checked, so that a wrong one is audited.
 */
export async function provePassword(
  deps: PasswordProofDeps,
  user: UserRecord,
  password: string,
  client: ClientInfo,
  door?: LoginAttempt["door"],
): Promise<void> {
  const check = async (): Promise<void> => {
    // The built-in administrator's account has no stored password (ADMIN_PASSWORD is not one).
    if (user.passwordHash === "" || !(await deps.hasher.verify(user.passwordHash, password))) {
      throw invalidCredentials();
    }
  };
  const attempt = loginAttemptOf({ email: user.email, apiKey: "" }, client);
  if (deps.guard === undefined) {
    return check();
  }
  return deps.guard.guard(door === undefined ? attempt : { ...attempt, door }, check);
}
