import { invalidArgument, KeycardError } from "../domain/errors.js";
import type { AuthMethod, ClientInfo } from "../domain/session.js";
import { requiresTotp, type UserRecord } from "../domain/user.js";
import type { RecoveryCodes } from "./recovery-codes.js";
import type { TotpService } from "./totp-service.js";

/** The second factor a login or a step-up presents: a TOTP code, or instead a recovery code. */
export interface SecondFactorInput {
  readonly totpCode: string;
  /** Absent or empty where only TOTP codes are taken (per-request headers, Validate). */
  readonly recoveryCode?: string;
}

/** A second factor proven: how, and after a recovery code, how many codes are left. */
export interface ProvenFactor {
  readonly method: Extract<AuthMethod, "totp" | "recovery_code">;
  readonly recoveryCodesRemaining?: number;
}

/**
 * Refuses a request that presents both a TOTP code and a recovery code, before any secret
 * of it is checked (so that the refusal says nothing about the others).
 */
export function checkOneSecondFactor(input: SecondFactorInput): void {
  if (input.totpCode !== "" && (input.recoveryCode ?? "") !== "") {
    throw invalidArgument("recovery_code", "Send totp_code or recovery_code, not both");
  }
}

/**
 * Proves an account's second factor, within its one TOTP guessing budget: a recovery code
 * when one was given (used up), else a TOTP code (TOTP_REQUIRED when there is none);
 * TOTP_NOT_ENROLLED for an account without TOTP. The
 * caller has refused both at once with {@link checkOneSecondFactor} before checking any
 * secret. `door` is where the factor was presented: Login (an API key's login too) audits
 * its own failures; elsewhere they are audited under the door.
 */
export class SecondFactor {
  constructor(
    private readonly deps: { readonly totp: TotpService; readonly recoveryCodes: RecoveryCodes },
  ) {}

  async prove(
    user: UserRecord,
    input: SecondFactorInput,
    client: ClientInfo,
    door: "login" | "reauthenticate",
  ): Promise<ProvenFactor> {
    if (!requiresTotp(user)) {
      throw new KeycardError(
        "TOTP_NOT_ENROLLED",
        "This account has no TOTP to check a code against",
      );
    }
    const recoveryCode = input.recoveryCode ?? "";
    if (recoveryCode !== "") {
      const remaining = await this.deps.recoveryCodes.redeem(user, recoveryCode, client, door);
      return { method: "recovery_code", recoveryCodesRemaining: remaining };
    }
    await this.deps.totp.verify(user, input.totpCode, client, door === "login" ? undefined : door);
    return { method: "totp" };
  }
}
