import type { Clock } from "../domain/clock.js";
import { invalidArgument, KeycardError } from "../domain/errors.js";
import { type AssertionClaims, passkeyIdOf, type RelyingParty } from "../domain/passkey.js";
import type { Store, WebAuthnVerifier } from "../domain/ports.js";
import type { AuthMethod, ClientInfo } from "../domain/session.js";
import type { UserRecord } from "../domain/user.js";
import type { AuditLog } from "./audit.js";
import {
  type LoginAttempt,
  passkeyFactorAttemptOf,
  passkeySignInAttemptOf,
} from "./login-attempt.js";
import type { LoginGuard } from "./login-guard.js";

/** A browser's answer to a passkey challenge, as Login and Reauthenticate carry it. */
export interface PasskeyAssertionInput {
  readonly challengeId: string;
  readonly responseJson: string;
}

/** A passkey proven: which, and how (with or without user verification). */
export interface ProvenPasskey {
  readonly passkeyId: string;
  readonly method: Extract<AuthMethod, "passkey" | "passkey_verified">;
}

/** What checking passkey assertions needs. */
export interface PasskeyProofDeps {
  readonly store: Store;
  readonly verifier: WebAuthnVerifier;
  /** WEBAUTHN_*: who keycard is to authenticators; passkeys are off when absent. */
  readonly relyingParty?: RelyingParty;
  readonly clock: Clock;
  readonly audit: AuditLog;
  /** Counts refused assertions like wrong passwords (createApp always passes one). */
  readonly guard?: LoginGuard;
}

/** The refusal of any assertion that cannot be accepted, whatever was wrong with it. */
function passkeyInvalid(): KeycardError {
  return new KeycardError(
    "PASSKEY_INVALID",
    "This passkey could not be accepted; start again with a new challenge",
  );
}

/** The refusal of a passkey call on a server without WEBAUTHN_RP_ID. */
export function passkeysNotConfigured(): KeycardError {
  return new KeycardError(
    "PASSKEYS_NOT_CONFIGURED",
    "Passkeys are off on this server: set WEBAUTHN_RP_ID (and WEBAUTHN_ORIGINS when the pages are not on that host over https)",
  );
}

/** The relying party, or PASSKEYS_NOT_CONFIGURED when there is none. */
export function configuredRelyingParty(relyingParty?: RelyingParty): RelyingParty {
  if (relyingParty === undefined) {
    throw passkeysNotConfigured();
  }
  return relyingParty;
}

/**
 * Checks passkey assertions (WebAuthn authentication ceremonies): a passkey signing in
 * alone (its user handle names the account), or one standing in for a second factor of a
 * known account. Every check takes its challenge out of the store first (so an assertion
 * works once, whatever happens next), wants a login challenge that has not expired, the
 * credential registered to the account, a valid signature from this relying party's
 * origins, and a counter that moved forward (else the authenticator was cloned); a
 * refusal is PASSKEY_INVALID, audited as `passkey.refused` with why, and spends the
 * guessing budget like a wrong password.
 */
export class PasskeyProof {
  constructor(private readonly deps: PasskeyProofDeps) {}

  /** Fails with PASSKEYS_NOT_CONFIGURED unless the server has a relying party. */
  requireConfigured(): RelyingParty {
    return configuredRelyingParty(this.deps.relyingParty);
  }

  /** A passkey signing in alone: the account it names, if enabled, and how it was proven. */
  async signIn(
    assertion: PasskeyAssertionInput,
    client: ClientInfo,
  ): Promise<ProvenPasskey & { readonly user: UserRecord }> {
    const claims = this.claimsOf(assertion);
    const userId = claims.userId ?? "";
    return this.guarded(passkeySignInAttemptOf(userId, client), async () => {
      const proven = await this.check(assertion, claims, userId, client, "login");
      const user = await this.deps.store.users.findById(userId);
      if (user === undefined || user.disabled) {
        return this.refuse(assertion, client, "login", "the account is disabled", userId);
      }
      return { ...proven, user };
    });
  }

  /**
   * A passkey as the second factor of `user` (after a password at Login, or on a session
   * at Reauthenticate): it must be one of theirs. `door` says where it was presented.
   */
  async proveFactor(
    user: UserRecord,
    assertion: PasskeyAssertionInput,
    client: ClientInfo,
    door: "login" | "reauthenticate",
  ): Promise<ProvenPasskey> {
    const claims = this.claimsOf(assertion);
    const audited: LoginAttempt["door"] = door === "login" ? undefined : door;
    return this.guarded(passkeyFactorAttemptOf(user.id, client, audited), () =>
      this.check(assertion, claims, user.id, client, door),
    );
  }

  /** Which credential the assertion names; INVALID_ARGUMENT when it is not an assertion at all. */
  private claimsOf(assertion: PasskeyAssertionInput): AssertionClaims {
    this.requireConfigured();
    const claims = this.deps.verifier.readAssertion(assertion.responseJson);
    if (claims === undefined) {
      throw invalidArgument(
        "passkey.response_json",
        "passkey.response_json must be the JSON of an AuthenticationResponseJSON",
      );
    }
    return claims;
  }

  /**
   * The assertion checked against its challenge (taken first, whatever follows) and
   * `userId`'s passkey (the one it names, if it names one), and the passkey's use recorded;
   * any refusal throws PASSKEY_INVALID.
   */
  private async check(
    assertion: PasskeyAssertionInput,
    claims: AssertionClaims,
    userId: string,
    client: ClientInfo,
    door: "login" | "reauthenticate",
  ): Promise<ProvenPasskey> {
    const rp = this.requireConfigured();
    const now = this.deps.clock.now();
    const challenge = await this.deps.store.passkeyChallenges.take(assertion.challengeId);
    const refuse = (problem: string, passkeyId?: string): never =>
      this.refuse(assertion, client, door, problem, userId, passkeyId);
    if (challenge?.purpose.kind !== "login" || challenge.expiresAt <= now) {
      return refuse("unknown, used, expired or registration challenge");
    }
    if (userId === "") {
      return refuse("no user handle: not a discoverable passkey");
    }
    if (claims.userId !== undefined && claims.userId !== userId) {
      return refuse("the passkey names another account");
    }
    const passkey = await this.deps.store.passkeys.find(userId, passkeyIdOf(claims.credentialId));
    if (passkey === undefined) {
      return refuse("credential not registered to the account");
    }
    const verified = await this.deps.verifier.verifyAssertion(
      rp,
      assertion.responseJson,
      challenge.challenge,
      passkey,
    );
    if ("problem" in verified) {
      return refuse(verified.problem, passkey.id);
    }
    if (!(await this.deps.store.passkeys.recordUse(userId, passkey.id, verified.counter, now))) {
      return refuse("counter did not move forward", passkey.id);
    }
    return {
      passkeyId: passkey.id,
      method: verified.userVerified ? "passkey_verified" : "passkey",
    };
  }

  /** Audits why an assertion was refused (never the assertion) and throws PASSKEY_INVALID. */
  private refuse(
    assertion: PasskeyAssertionInput,
    client: ClientInfo,
    door: "login" | "reauthenticate",
    problem: string,
    userId?: string,
    passkeyId?: string,
  ): never {
    this.deps.audit("passkey.refused", {
      ...(userId === undefined || userId === "" ? {} : { userId }),
      ...(passkeyId === undefined ? {} : { passkeyId }),
      challengeId: assertion.challengeId,
      problem,
      door,
      ...client,
    });
    throw passkeyInvalid();
  }

  private guarded<T>(attempt: LoginAttempt, check: () => Promise<T>): Promise<T> {
    const guard = this.deps.guard;
    return guard === undefined ? check() : guard.guard(attempt, check);
  }
}
