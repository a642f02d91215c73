import type { Clock } from "../domain/clock.js";
import { newPasswordProblem } from "../domain/common-passwords.js";
import type { PasswordHasher, Store } from "../domain/ports.js";
import type { ClientInfo } from "../domain/session.js";
import type { UserRecord } from "../domain/user.js";
import type { AuditLog } from "./audit.js";
import type { LoginGuard } from "./login-guard.js";
import { ownAccount, requireStepUp } from "./own-account.js";
import { provePassword } from "./password-proof.js";
import { inactiveRefusal, type SessionPrincipal } from "./session-judge.js";
import type { SessionService } from "./session-service.js";

/** A person's change of their own password. */
export interface PasswordChange {
  readonly currentPassword: string;
  readonly newPassword: string;
  /** Leave the account's other sessions alive (they end by default). */
  readonly keepOtherSessions: boolean;
}

/** What changing one's own password needs. */
export interface PasswordChangerDeps {
  readonly store: Store;
  readonly hasher: PasswordHasher;
  readonly clock: Clock;
  readonly audit: AuditLog;
  /** Ends the account's other sessions, counting their lifetimes and auditing why. */
  readonly sessions: Pick<SessionService, "revokeAll">;
  /** How long ago the session's holder may have proved themselves (PRIVILEGED_SESSION_MAX_AGE). */
  readonly maxAuthAgeMs: number;
  /** The login's guessing budget, which a wrong current password spends too. */
  readonly guard?: LoginGuard;
}

/** Throws unless the new password may be used: INVALID_ARGUMENT naming `field`. */
export function checkNewPassword(field: string, password: string): void {
  const problem = newPasswordProblem(field, password);
  if (problem !== undefined) {
    throw problem;
  }
}

/**
 * Self-service password change (OWASP: the current password again, on a fresh session):
 * the account's other sessions end unless asked otherwise, the caller's own stays.
 */
export class PasswordChanger {
  constructor(private readonly deps: PasswordChangerDeps) {}

  /** Changes the caller's password; answers how many other sessions ended. */
  async change(
    { session }: SessionPrincipal,
    change: PasswordChange,
    client: ClientInfo,
  ): Promise<number> {
    const user = await this.holder(session.userId);
    requireStepUp(
      session,
      { maxAgeMs: this.deps.maxAuthAgeMs },
      this.deps.clock.now(),
      inactiveRefusal("step_up_required")[1],
    );
    checkNewPassword("new_password", change.newPassword);
    await provePassword(this.deps, user, change.currentPassword, client, "change_password");
    await this.deps.store.users.update(user.id, {
      passwordHash: await this.deps.hasher.hash(change.newPassword),
    });
    const revokedSessions = change.keepOtherSessions
      ? 0
      : await this.deps.sessions.revokeAll(user.id, {
          keep: session.id,
          reason: "password_changed",
          by: client,
        });
    this.deps.audit("password.changed", {
      userId: user.id,
      sessionId: session.id,
      revokedSessions,
      by: "self",
      ...client,
    });
    return revokedSessions;
  }

  /**
   * The session's account, if it may change its password: not the built-in administrator,
   * whose password is ADMIN_PASSWORD and lives in the server's settings.
   */
  private holder(userId: string): Promise<UserRecord> {
    return ownAccount(
      this.deps.store.users,
      userId,
      "The built-in administrator's password is ADMIN_PASSWORD; change it in the server's settings",
    );
  }
}
