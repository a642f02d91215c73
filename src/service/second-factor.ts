import { invalidArgument, KeycardError } from "../domain/errors.js";
import type { AuthMethod, ClientInfo } from "../domain/session.js";
import { requiresTotp, type UserRecord } from "../domain/user.js";
import type { PasskeyAssertionInput, PasskeyProof } from "./passkey-proof.js";
import type { RecoveryCodes } from "./recovery-codes.js";
import type { TotpService } from "./totp-service.js";

/**
 * The second factor a login or a step-up presents: a TOTP code, or instead a recovery code
 * or a passkey's assertion.
 */
export interface SecondFactorInput {
  readonly totpCode: string;
  /** Absent or empty where only TOTP codes are taken (per-request headers, Validate). */
  readonly recoveryCode?: string;
  /** Absent where only codes are taken. */
  readonly passkey?: PasskeyAssertionInput | undefined;
}

/**
 * A second factor proven: how, after a recovery code how many codes are left, and after a
 * passkey which one.
 */
export interface ProvenFactor {
  readonly method: Extract<AuthMethod, "totp" | "recovery_code" | "passkey" | "passkey_verified">;
  readonly recoveryCodesRemaining?: number;
  readonly passkeyId?: string;
}

/** Whether the input presents any second factor. */
export function hasSecondFactor(input: SecondFactorInput): boolean {
  return input.totpCode !== "" || (input.recoveryCode ?? "") !== "" || input.passkey !== undefined;
}

/**
 * Refuses a request that presents more than one second factor (a TOTP code, a recovery
 * code, a passkey), before any secret of it is checked (so that the refusal says nothing
 * about the others).
 */
export function checkOneSecondFactor(input: SecondFactorInput): void {
  const codes = input.totpCode !== "" || (input.recoveryCode ?? "") !== "";
  if (input.passkey !== undefined && codes) {
    throw invalidArgument("passkey", "Send a passkey, totp_code or recovery_code, not several");
  }
  if (input.totpCode !== "" && (input.recoveryCode ?? "") !== "") {
    throw invalidArgument("recovery_code", "Send totp_code or recovery_code, not both");
  }
}

/**
 * Proves an account's second factor, within its one TOTP guessing budget: a passkey when
 * one was given (one of the account's, whether or not it has TOTP), else a recovery code
 * when one was given (used up), else a TOTP code (TOTP_REQUIRED when there is none);
 * TOTP_NOT_ENROLLED for a code to an account without TOTP. The caller has refused several
 * at once with {@link checkOneSecondFactor} before checking any secret. `door` is where the
 * factor was presented: Login (an API key's login too) audits its own failures; elsewhere
 * they are audited under the door.
 */
export class SecondFactor {
  constructor(
    private readonly deps: {
      readonly totp: TotpService;
      readonly recoveryCodes: RecoveryCodes;
      readonly passkeys: PasskeyProof;
    },
  ) {}

  async prove(
    user: UserRecord,
    input: SecondFactorInput,
    client: ClientInfo,
    door: "login" | "reauthenticate",
  ): Promise<ProvenFactor> {
    if (input.passkey !== undefined) {
      return this.deps.passkeys.proveFactor(user, input.passkey, client, door);
    }
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
