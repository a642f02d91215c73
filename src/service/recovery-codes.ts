import type { Clock } from "../domain/clock.js";
import { KeycardError } from "../domain/errors.js";
import type { Store } from "../domain/ports.js";
import {
  canonicalRecoveryCode,
  newRecoveryCode,
  recoveryCodeCount,
} from "../domain/recovery-code.js";
import type { ClientInfo } from "../domain/session.js";
import { requiresTotp, type UserRecord } from "../domain/user.js";
import type { AuditLog } from "./audit.js";
import { type LoginAttempt, recoveryCodeAttemptOf } from "./login-attempt.js";
import type { LoginGuard } from "./login-guard.js";
import { existingUser, ownAccount, requireStepUp } from "./own-account.js";
import type { SecretKeeper } from "./secret-keeper.js";
import type { SessionPrincipal } from "./session-judge.js";

/** What recovery codes need. */
export interface RecoveryCodesDeps {
  readonly store: Store;
  readonly secrets: SecretKeeper;
  readonly clock: Clock;
  readonly audit: AuditLog;
  /** Counts wrong codes against the account's TOTP guessing budget. */
  readonly guard?: LoginGuard;
  /** How long ago the session's holder may have proved themselves (PRIVILEGED_SESSION_MAX_AGE). */
  readonly maxAuthAgeMs: number;
}

function invalidRecoveryCode(): KeycardError {
  return new KeycardError(
    "RECOVERY_CODE_INVALID",
    "Invalid or already used recovery code; each code works once",
  );
}

function totpNotEnrolled(): KeycardError {
  return new KeycardError(
    "TOTP_NOT_ENROLLED",
    "Recovery codes stand in for TOTP, which this account has not enabled; enroll TOTP first",
  );
}

/**
 * Single-use recovery codes (RFC 8176 `rec`): ten at a time, shown once and stored only as
 * keyed hashes, each standing in once for a TOTP code. Making new ones replaces the old set
 * whole; using one takes it out atomically, within the TOTP guessing budget.
 */
export class RecoveryCodes {
  constructor(private readonly deps: RecoveryCodesDeps) {}

  /**
   * New codes for the caller's own account, replacing its previous ones. Asks a session
   * proven within PRIVILEGED_SESSION_MAX_AGE with a second factor (AAL2), and an account
   * with TOTP (TOTP_NOT_ENROLLED otherwise: there is no factor for the codes to back up).
   */
  async regenerate(principal: SessionPrincipal, client: ClientInfo): Promise<string[]> {
    const { session } = principal;
    const user = await ownAccount(
      this.deps.store.users,
      session.userId,
      "The built-in administrator signs in with ADMIN_PASSWORD alone and has no recovery codes",
    );
    if (!requiresTotp(user)) {
      throw totpNotEnrolled();
    }
    requireStepUp(
      session,
      { maxAgeMs: this.deps.maxAuthAgeMs, minAal: 2 },
      this.deps.clock.now(),
      "New recovery codes need a recent login with TOTP or a recovery code; call Reauthenticate first",
    );
    const codes = Array.from({ length: recoveryCodeCount }, newRecoveryCode);
    const hashes = codes.map((code) =>
      this.deps.secrets.hashRecoveryCode(user.id, canonicalRecoveryCode(code) ?? code),
    );
    await this.deps.store.recoveryCodes.replace(user.id, hashes);
    this.deps.audit("recovery_codes.generated", {
      userId: user.id,
      sessionId: session.id,
      by: "self",
      count: codes.length,
      ...client,
    });
    return codes;
  }

  /**
   * Uses up one of the account's codes as its second factor and answers how many are left.
   * A wrong, malformed or used code fails with RECOVERY_CODE_INVALID and spends the TOTP
   * guessing budget (RATE_LIMITED once spent); `door` names where it was presented.
   */
  async redeem(
    user: UserRecord,
    typed: string,
    client: ClientInfo,
    door: "login" | "reauthenticate",
  ): Promise<number> {
    const check = async (): Promise<number> => {
      const code = canonicalRecoveryCode(typed);
      const remaining =
        code === undefined
          ? undefined
          : await this.deps.store.recoveryCodes.redeem(
              user.id,
              this.deps.secrets.recoveryCodeHashes(user.id, code),
            );
      if (remaining === undefined) {
        throw invalidRecoveryCode();
      }
      return remaining;
    };
    // Login audits its own failures; elsewhere the guard audits them under this door.
    const audited: LoginAttempt["door"] = door === "login" ? undefined : door;
    const guard = this.deps.guard;
    const remaining = await (guard === undefined
      ? check()
      : guard.guard(recoveryCodeAttemptOf(user.id, client, audited), check));
    this.deps.audit("recovery_code.used", { userId: user.id, remaining, door, ...client });
    return remaining;
  }

  /** How many usable codes an account has left: none without TOTP. NOT_FOUND for no account. */
  async remaining(userId: string): Promise<number> {
    const user = await this.existing(userId);
    return requiresTotp(user) ? this.deps.store.recoveryCodes.count(userId) : 0;
  }

  /** Deletes every code of an account (an administrator's reset); answers how many there were. */
  async reset(userId: string, by: ClientInfo & { credential: string }): Promise<number> {
    await this.existing(userId);
    const deleted = await this.deps.store.recoveryCodes.clear(userId);
    this.deps.audit("recovery_codes.reset", { userId, deleted, ...by });
    return deleted;
  }

  private existing(userId: string): Promise<UserRecord> {
    return existingUser(this.deps.store.users, userId);
  }
}
