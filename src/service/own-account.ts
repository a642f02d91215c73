import { meetsStepUp, type StepUp, sessionAssurance } from "../domain/assurance.js";
import { KeycardError } from "../domain/errors.js";
import type { UserStore } from "../domain/ports.js";
import type { SessionRecord } from "../domain/session.js";
import type { UserRecord } from "../domain/user.js";

/** The account with this id, for an administrator's call about it; NOT_FOUND when there is none. */
export async function existingUser(users: UserStore, userId: string): Promise<UserRecord> {
  const user = await users.findById(userId);
  if (user === undefined) {
    throw new KeycardError("NOT_FOUND", "No user with this id");
  }
  return user;
}

/**
 * The account behind a session, for a change its holder makes to their own credentials:
 * SESSION_REVOKED when it is gone or disabled, and PERMISSION_DENIED for the built-in
 * administrator (no stored password), whose only credential is ADMIN_PASSWORD in the
 * server's settings: `refusal` says what that account should do instead.
 */
export async function ownAccount(
  users: UserStore,
  userId: string,
  refusal: string,
): Promise<UserRecord> {
  const user = await users.findById(userId);
  if (user === undefined || user.disabled) {
    throw new KeycardError("SESSION_REVOKED", "Session token revoked");
  }
  if (user.passwordHash === "") {
    throw new KeycardError("PERMISSION_DENIED", refusal);
  }
  return user;
}

/**
 * Refuses a change to one's own credentials from a session that does not meet `stepUp` at
 * `now` (proven too long ago, or with too few factors): STEP_UP_REQUIRED with `message`.
 */
export function requireStepUp(
  session: SessionRecord,
  stepUp: StepUp,
  now: number,
  message: string,
): void {
  if (!meetsStepUp(sessionAssurance(session), stepUp, now)) {
    throw new KeycardError("STEP_UP_REQUIRED", message);
  }
}

/** What a change to one's own factors checks the session against. */
export interface FactorChangeRules {
  readonly users: UserStore;
  /** PRIVILEGED_SESSION_MAX_AGE in ms. */
  readonly maxAuthAgeMs: number;
  readonly now: number;
}

/**
 * The caller's own account, for a change to its factors (TOTP, passkeys): the session must
 * have proven its holder within PRIVILEGED_SESSION_MAX_AGE, and with a second factor once
 * the account has TOTP, else STEP_UP_REQUIRED saying that `action` needs it. The built-in
 * administrator, who has no factors of its own, is refused with `adminRefusal`.
 */
export async function factorChangeAccount(
  rules: FactorChangeRules,
  session: SessionRecord,
  action: string,
  adminRefusal: string,
): Promise<UserRecord> {
  const user = await ownAccount(rules.users, session.userId, adminRefusal);
  const withTotp = user.totpSecret !== "";
  requireStepUp(
    session,
    { maxAgeMs: rules.maxAuthAgeMs, ...(withTotp ? { minAal: 2 as const } : {}) },
    rules.now,
    `${action} needs a recent login${withTotp ? " with a second factor" : ""}; call Reauthenticate first`,
  );
  return user;
}
