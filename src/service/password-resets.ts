import type { Clock } from "../domain/clock.js";
import { invalidArgument, KeycardError } from "../domain/errors.js";
import { isRedeemable, passwordResetTtlMs } from "../domain/password-reset.js";
import type { PasswordHasher, Store } from "../domain/ports.js";
import type { ClientInfo } from "../domain/session.js";
import { hashToken, isWellFormedToken, mintToken } from "../domain/token.js";
import type { AuditLog } from "./audit.js";
import type { LoginGuard } from "./login-guard.js";
import { existingUser } from "./own-account.js";
import { checkNewPassword } from "./password-changer.js";
import type { SessionService } from "./session-service.js";

/** A reset token as handed to the administrator, shown once. */
export interface IssuedReset {
  readonly token: string;
  readonly expiresAt: number;
}

/** What lost-password resets need. */
export interface PasswordResetsDeps {
  readonly store: Store;
  readonly hasher: PasswordHasher;
  readonly clock: Clock;
  readonly tokenPrefix: string;
  readonly audit: AuditLog;
  /** Ends the account's sessions, counting their lifetimes and auditing why. */
  readonly sessions: Pick<SessionService, "revokeAll">;
  /** Lifts the account's lockout: its owner has just proved control of it. */
  readonly guard?: Pick<LoginGuard, "forgetAccountFailures">;
}

function invalidResetToken(): KeycardError {
  return new KeycardError(
    "RESET_TOKEN_INVALID",
    "This password-reset token is unknown, already used or expired; ask an administrator for a new one",
  );
}

/**
 * The lost-password case without a mail server: an administrator issues a single-use
 * token (256 random bits, stored only as its hash, 15 minutes), and whoever holds it sets
 * the account's password once; every session of the account then ends.
 */
export class PasswordResets {
  constructor(private readonly deps: PasswordResetsDeps) {}

  /** A new reset token for the account; NOT_FOUND for an unknown one. */
  async create(userId: string): Promise<IssuedReset> {
    const user = await existingUser(this.deps.store.users, userId);
    if (user.passwordHash === "") {
      throw invalidArgument(
        "user_id",
        "The built-in administrator's password is ADMIN_PASSWORD; change it in the server's settings",
      );
    }
    const token = mintToken(this.deps.tokenPrefix, "reset");
    const expiresAt = this.deps.clock.now() + passwordResetTtlMs;
    await this.deps.store.passwordResets.save(hashToken(token), { userId, expiresAt });
    this.deps.audit("password.reset_created", { userId, expiresAt });
    return { token, expiresAt };
  }

  /**
   * Sets the password of the token's account and consumes the token (of concurrent
   * redemptions, one wins); answers how many sessions ended. A weak new password is
   * refused before the token is touched, so it can be tried again.
   */
  async redeem(token: string, newPassword: string, client: ClientInfo): Promise<number> {
    checkNewPassword("new_password", newPassword);
    if (!isWellFormedToken(token, this.deps.tokenPrefix, "reset")) {
      throw invalidResetToken();
    }
    const reset = await this.deps.store.passwordResets.take(hashToken(token));
    if (reset === undefined || !isRedeemable(reset, this.deps.clock.now())) {
      throw invalidResetToken();
    }
    const user = await this.deps.store.users.findById(reset.userId);
    if (user === undefined || user.disabled) {
      throw invalidResetToken();
    }
    await this.deps.store.users.update(user.id, {
      passwordHash: await this.deps.hasher.hash(newPassword),
    });
    const revokedSessions = await this.deps.sessions.revokeAll(user.id, {
      reason: "password_reset",
      by: client,
    });
    await this.deps.guard?.forgetAccountFailures(user.email);
    this.deps.audit("password.reset", { userId: user.id, revokedSessions, ...client });
    return revokedSessions;
  }
}
