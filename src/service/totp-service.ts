import QRCode from "qrcode";
import type { Clock } from "../domain/clock.js";
import { invalidArgument, KeycardError } from "../domain/errors.js";
import type { Store } from "../domain/ports.js";
import type { ClientInfo } from "../domain/session.js";
import { matchingTotpStep, newTotpSecret, otpauthUri } from "../domain/totp.js";
import { requiresTotp, type UserRecord } from "../domain/user.js";
import type { AuditLog } from "./audit.js";
import { type LoginAttempt, totpAttemptOf } from "./login-attempt.js";
import type { LoginGuard } from "./login-guard.js";
import { existingUser } from "./own-account.js";
import type { SecretKeeper } from "./secret-keeper.js";

/** A freshly generated TOTP secret in the forms a person needs to enroll. */
export interface TotpEnrollment {
  readonly secret: string;
  readonly uri: string;
  readonly qrCodeSvg: string;
  /** The same QR code in Unicode half blocks, for a terminal. */
  readonly qrCodeText: string;
}

const issuer = "keycard";

/**
 * TOTP enrollment and checking. Secrets are stored encrypted; each code is accepted once
 * per user, across replicas (the store claims its time step atomically).
 */
export class TotpService {
  constructor(
    private readonly deps: {
      readonly store: Store;
      readonly secrets: SecretKeeper;
      readonly clock: Clock;
      readonly audit: AuditLog;
      /** Counts wrong codes per user, from any credential or door. */
      readonly guard?: LoginGuard;
    },
  ) {}

  /** Starts enrollment with a new pending secret; the confirmed one (if any) stays. */
  async enroll(userId: string): Promise<TotpEnrollment> {
    const user = await this.existing(userId);
    const secret = newTotpSecret();
    await this.deps.store.users.update(userId, { totpPending: this.deps.secrets.encrypt(secret) });
    const uri = otpauthUri(issuer, user.email, secret);
    return {
      secret,
      uri,
      qrCodeSvg: await QRCode.toString(uri, { type: "svg", margin: 2 }),
      qrCodeText: await QRCode.toString(uri, { type: "utf8", margin: 2 }),
    };
  }

  /**
   * Confirms the pending secret with a first valid code; TOTP is then required. An
   * administrator's wrong code is INVALID_ARGUMENT; the holder's own (`client` given) is
   * TOTP_INVALID and spends the user's TOTP guessing budget, like a code at Login.
   */
  async confirm(userId: string, code: string, client?: ClientInfo): Promise<UserRecord> {
    const user = await this.existing(userId);
    if (user.totpPending === "") {
      throw invalidArgument("user_id", "No TOTP enrollment is pending for this user; enroll first");
    }
    const secret = this.deps.secrets.decrypt(user.totpPending);
    if (client === undefined) {
      if (!(await this.claim(user, secret, code))) {
        throw invalidArgument("code", "The code does not match the new TOTP secret");
      }
    } else {
      await this.checkCounted(user, secret, code, client, "confirm_totp");
    }
    if (!requiresTotp(user)) {
      // A second factor starts without recovery codes, even ones a failed removal left.
      await this.dropRecoveryCodes(userId, "totp_enabled");
    }
    return this.updated(userId, { totpSecret: user.totpPending, totpPending: "" });
  }

  /**
   * Removes the user's TOTP, confirmed or pending, and then the recovery codes that stood
   * in for it: they must not come back to life with the next TOTP.
   */
  async reset(userId: string): Promise<UserRecord> {
    const user = await this.updated(userId, { totpSecret: "", totpPending: "" });
    await this.dropRecoveryCodes(userId, "totp_removed");
    return user;
  }

  /**
   * Stores a known base32 secret (from a bootstrap file) as the user's confirmed TOTP,
   * replacing any pending enrollment. Spaces, padding and case are ignored; a secret the
   * TOTP library cannot use (not base32, under 128 or over 512 bits) fails with
   * INVALID_ARGUMENT instead of breaking every later login.
   */
  async importSecret(userId: string, base32Secret: string): Promise<UserRecord> {
    const secret = base32Secret.replace(/[\s=]/g, "").toUpperCase();
    try {
      // Checking any code decodes the secret the way every login will, and throws if it can't.
      await matchingTotpStep(secret, "000000", this.deps.clock.now());
    } catch {
      throw invalidArgument("totp_secret", "totp_secret must be base32 of 16 to 64 bytes");
    }
    return this.updated(userId, { totpSecret: this.deps.secrets.encrypt(secret), totpPending: "" });
  }

  /**
   * Checks a login or per-request code against the user's confirmed secret, within the
   * user's one budget of TOTP guesses (shared by the password, every API key and the
   * recovery codes). Throws TOTP_REQUIRED without a code and TOTP_INVALID for a wrong,
   * stale or replayed one. A `door` outside Login has its wrong codes audited.
   */
  async verify(
    user: UserRecord,
    code: string,
    client: ClientInfo,
    door?: LoginAttempt["door"],
  ): Promise<void> {
    if (code === "") {
      throw new KeycardError("TOTP_REQUIRED", "TOTP code required");
    }
    await this.checkCounted(user, this.deps.secrets.decrypt(user.totpSecret), code, client, door);
  }

  /** Claims a code within the user's TOTP guessing budget; TOTP_INVALID when it fails. */
  private async checkCounted(
    user: UserRecord,
    secret: string,
    code: string,
    client: ClientInfo,
    door?: LoginAttempt["door"],
  ): Promise<void> {
    const check = async (): Promise<void> => {
      if (!(await this.claim(user, secret, code))) {
        throw new KeycardError("TOTP_INVALID", "Invalid or already used TOTP code");
      }
    };
    const guard = this.deps.guard;
    await (guard === undefined
      ? check()
      : guard.guard(totpAttemptOf(user.id, client, door), check));
  }

  /** Claims the code's time step; a right code whose step was already used is a replay. */
  private async claim(user: UserRecord, secret: string, code: string): Promise<boolean> {
    const step = await matchingTotpStep(secret, code, this.deps.clock.now());
    if (step === undefined) {
      return false;
    }
    if (!(await this.deps.store.users.claimTotpStep(user.id, step))) {
      this.deps.audit("totp.replayed", { userId: user.id, step });
      return false;
    }
    return true;
  }

  /** Deletes the user's recovery codes, auditing it when there were any. */
  private async dropRecoveryCodes(userId: string, reason: string): Promise<void> {
    const deleted = await this.deps.store.recoveryCodes.clear(userId);
    if (deleted > 0) {
      this.deps.audit("recovery_codes.deleted", { userId, deleted, reason });
    }
  }

  private existing(userId: string): Promise<UserRecord> {
    return existingUser(this.deps.store.users, userId);
  }

  private async updated(
    userId: string,
    patch: Parameters<Store["users"]["update"]>[1],
  ): Promise<UserRecord> {
    const user = await this.deps.store.users.update(userId, patch);
    if (user === undefined) {
      throw new KeycardError("NOT_FOUND", "No user with this id");
    }
    return user;
  }
}
