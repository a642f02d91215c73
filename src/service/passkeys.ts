import type { Clock } from "../domain/clock.js";
import { invalidArgument, KeycardError } from "../domain/errors.js";
import {
  type CeremonyOptions,
  type PasskeyPurpose,
  type PasskeyRecord,
  passkeyChallengeTtlMs,
  passkeyIdOf,
  passkeyNameOf,
  type RelyingParty,
} from "../domain/passkey.js";
import type { Store, WebAuthnVerifier } from "../domain/ports.js";
import type { ClientInfo } from "../domain/session.js";
import { newId } from "../domain/token.js";
import type { UserRecord } from "../domain/user.js";
import type { AuditLog } from "./audit.js";
import { existingUser, factorChangeAccount } from "./own-account.js";
import { configuredRelyingParty } from "./passkey-proof.js";
import type { SessionPrincipal } from "./session-judge.js";
import type { UserService } from "./user-service.js";

/** What managing passkeys needs. */
export interface PasskeysDeps {
  readonly store: Store;
  readonly verifier: WebAuthnVerifier;
  /** WEBAUTHN_*: who keycard is to authenticators; passkeys are off when absent. */
  readonly relyingParty?: RelyingParty;
  readonly clock: Clock;
  readonly audit: AuditLog;
  /** Ends the sessions a removed passkey proved. */
  readonly users: Pick<UserService, "revokeSessionsOfPasskey">;
  /** How long ago the session's holder may have proved themselves (PRIVILEGED_SESSION_MAX_AGE). */
  readonly maxAuthAgeMs: number;
}

/** A challenge handed out: its id, and the options for the browser. */
export interface StartedCeremony {
  readonly challengeId: string;
  readonly optionsJson: string;
}

/** What FinishPasskeyRegistration carries. */
export interface PasskeyRegistration {
  readonly challengeId: string;
  readonly name: string;
  readonly responseJson: string;
}

/**
 * Passkeys (WebAuthn credentials) of accounts: their owners register and remove them on a
 * fresh session, administrators list and delete them, and anyone may start a passkey
 * sign-in (PasskeyProof checks the answers). Removing a passkey ends the sessions it
 * proved. Every call fails with PASSKEYS_NOT_CONFIGURED on a server without WEBAUTHN_RP_ID.
 */
export class Passkeys {
  constructor(private readonly deps: PasskeysDeps) {}

  /** Options to create a passkey for the caller's own account, on a fresh session. */
  async startRegistration(principal: SessionPrincipal): Promise<StartedCeremony> {
    const rp = configuredRelyingParty(this.deps.relyingParty);
    const user = await this.freshOwnAccount(principal, "Adding a passkey");
    const existing = await this.deps.store.passkeys.list(user.id);
    const options = await this.deps.verifier.registrationOptions(rp, user, existing);
    return this.handOut(options, { kind: "registration", userId: user.id });
  }

  /**
   * Registers the passkey of a registration answer to the caller's own account, on a fresh
   * session. The challenge is used up whether or not the answer is accepted; a refused one
   * fails with INVALID_ARGUMENT (its problem audited as `passkey.registration_refused`).
   */
  async finishRegistration(
    principal: SessionPrincipal,
    registration: PasskeyRegistration,
    client: ClientInfo,
  ): Promise<PasskeyRecord> {
    const rp = configuredRelyingParty(this.deps.relyingParty);
    const user = await this.freshOwnAccount(principal, "Adding a passkey");
    const name = passkeyNameOf(registration.name);
    const now = this.deps.clock.now();
    const challenge = await this.deps.store.passkeyChallenges.take(registration.challengeId);
    if (
      challenge?.purpose.kind !== "registration" ||
      challenge.purpose.userId !== user.id ||
      challenge.expiresAt <= now
    ) {
      throw invalidArgument(
        "challenge_id",
        "This registration challenge is unknown, used, expired or not yours; start the registration again",
      );
    }
    const credential = await this.deps.verifier.verifyRegistration(
      rp,
      registration.responseJson,
      challenge.challenge,
    );
    if ("problem" in credential) {
      this.deps.audit("passkey.registration_refused", {
        userId: user.id,
        problem: credential.problem,
        ...client,
      });
      throw invalidArgument(
        "response_json",
        "The new passkey could not be verified (origin, relying party, challenge or credential); start the registration again",
      );
    }
    const passkey: PasskeyRecord = {
      ...credential,
      id: passkeyIdOf(credential.credentialId),
      userId: user.id,
      name,
      createdAt: now,
      lastUsedAt: 0,
    };
    if (!(await this.deps.store.passkeys.add(passkey))) {
      throw invalidArgument("response_json", "This passkey is already registered to your account");
    }
    this.deps.audit("passkey.registered", {
      userId: user.id,
      passkeyId: passkey.id,
      sessionId: principal.session.id,
      ...client,
    });
    return passkey;
  }

  /** The caller's own passkeys, oldest first. */
  listOwn(userId: string): Promise<PasskeyRecord[]> {
    configuredRelyingParty(this.deps.relyingParty);
    return this.deps.store.passkeys.list(userId);
  }

  /**
   * Removes one of the caller's own passkeys on a fresh session and ends the sessions it
   * proved; answers how many. NOT_FOUND for an id that is not one of theirs.
   */
  async removeOwn(
    principal: SessionPrincipal,
    passkeyId: string,
    client: ClientInfo,
  ): Promise<number> {
    configuredRelyingParty(this.deps.relyingParty);
    const user = await this.freshOwnAccount(principal, "Removing a passkey");
    return this.remove(user.id, passkeyId, { by: "self", ...client });
  }

  /** A user's passkeys, for an administrator; NOT_FOUND for no such user. */
  async listOf(userId: string): Promise<PasskeyRecord[]> {
    configuredRelyingParty(this.deps.relyingParty);
    await existingUser(this.deps.store.users, userId);
    return this.deps.store.passkeys.list(userId);
  }

  /** An administrator's removal of a user's passkey, ending the sessions it proved. */
  async delete(
    userId: string,
    passkeyId: string,
    by: ClientInfo & { credential: string },
  ): Promise<number> {
    configuredRelyingParty(this.deps.relyingParty);
    await existingUser(this.deps.store.users, userId);
    return this.remove(userId, passkeyId, { ...by, by: "admin" });
  }

  /** Options to sign in with any discoverable passkey, naming no credential or account. */
  async startLogin(): Promise<StartedCeremony> {
    const rp = configuredRelyingParty(this.deps.relyingParty);
    const options = await this.deps.verifier.authenticationOptions(rp);
    return this.handOut(options, { kind: "login" });
  }

  /** Files the options' challenge for `purpose` and answers its id with the options. */
  private async handOut(
    options: CeremonyOptions,
    purpose: PasskeyPurpose,
  ): Promise<StartedCeremony> {
    const challengeId = newId();
    await this.deps.store.passkeyChallenges.save(challengeId, {
      purpose,
      challenge: options.challenge,
      expiresAt: this.deps.clock.now() + passkeyChallengeTtlMs,
    });
    return { challengeId, optionsJson: options.optionsJson };
  }

  private async remove(
    userId: string,
    passkeyId: string,
    by: Record<string, string>,
  ): Promise<number> {
    if (!(await this.deps.store.passkeys.remove(userId, passkeyId))) {
      throw new KeycardError("NOT_FOUND", "No passkey with this id");
    }
    const revokedSessions = await this.deps.users.revokeSessionsOfPasskey(userId, passkeyId);
    this.deps.audit("passkey.removed", { userId, passkeyId, revokedSessions, ...by });
    return revokedSessions;
  }

  /** The caller's own account, if its session may change its passkeys; else STEP_UP_REQUIRED. */
  private freshOwnAccount({ session }: SessionPrincipal, action: string): Promise<UserRecord> {
    return factorChangeAccount(
      {
        users: this.deps.store.users,
        maxAuthAgeMs: this.deps.maxAuthAgeMs,
        now: this.deps.clock.now(),
      },
      session,
      action,
      "The built-in administrator signs in with ADMIN_PASSWORD alone and has no passkeys",
    );
  }
}
