import type { Clock } from "../domain/clock.js";
import { invalidArgument, KeycardError } from "../domain/errors.js";
import type { PasswordHasher, Store } from "../domain/ports.js";
import type { AuthMethod, ClientInfo, SessionPolicy } from "../domain/session.js";
import { mintToken } from "../domain/token.js";
import type { UserRecord } from "../domain/user.js";
import type { AuditLog } from "./audit.js";
import type { LoginGuard } from "./login-guard.js";
import { provePassword } from "./password-proof.js";
import {
  checkOneSecondFactor,
  hasSecondFactor,
  type ProvenFactor,
  type SecondFactor,
  type SecondFactorInput,
} from "./second-factor.js";
import type { SessionPrincipal } from "./session-judge.js";
import type { IssuedSession } from "./session-opener.js";
import { storeRotation, withNewToken } from "./session-rotation.js";

/** The credentials a caller presents again on its own session. */
export interface ReauthenticateInput extends SecondFactorInput {
  readonly password: string;
}

/** A session stepped up, and after a recovery code, how many the account has left. */
export interface Reauthenticated extends IssuedSession {
  readonly recoveryCodesRemaining?: number;
}

/** What proving oneself again needs. */
export interface ReauthenticatorDeps {
  readonly store: Store;
  readonly hasher: PasswordHasher;
  readonly secondFactor: SecondFactor;
  readonly clock: Clock;
  readonly policy: SessionPolicy;
  readonly tokenPrefix: string;
  readonly audit: AuditLog;
  /** The login's guessing budget, which a wrong password here spends too. */
  readonly guard?: LoginGuard;
}

/**
 * Step-up on an existing session (RFC 9470): the person presents a password and/or a TOTP
 * or recovery code again; the session's auth_time moves to now, its methods grow by those just proven,
 * and its token is rotated as Refresh rotates it: the old one works only for the grace
 * period, so a copy taken before the step-up soon stops carrying its assurance.
 */
export class Reauthenticator {
  constructor(private readonly deps: ReauthenticatorDeps) {}

  async reauthenticate(
    { session, tokenHash }: SessionPrincipal,
    input: ReauthenticateInput,
    client: ClientInfo,
  ): Promise<Reauthenticated> {
    checkInput(input);
    const user = await this.deps.store.users.findById(session.userId);
    if (user === undefined || user.disabled) {
      throw new KeycardError("SESSION_REVOKED", "Session token revoked");
    }
    const { methods, factor } = await this.prove(user, input, client);
    const now = this.deps.clock.now();
    const token = mintToken(this.deps.tokenPrefix, "sess");
    const stepped = {
      ...session,
      authMethods: [...new Set([...session.authMethods, ...methods])],
      reauthenticatedAt: now,
      ...withPasskey(session.passkeyIds, factor?.passkeyId),
    };
    const next = withNewToken(stepped, token, tokenHash, now, this.deps.policy);
    await storeRotation(this.deps.store, next, tokenHash, this.deps.policy);
    this.deps.audit("session.reauthenticated", {
      userId: user.id,
      sessionId: session.id,
      methods: methods.join(" "),
      ...client,
    });
    const remaining = factor?.recoveryCodesRemaining;
    return {
      token,
      session: next,
      ...(remaining === undefined ? {} : { recoveryCodesRemaining: remaining }),
    };
  }

  /**
   * The password (against the same guessing budget as a login with the account's email),
   * then the second factor (a passkey must be the account's): the methods proven, in that
   * order.
   */
  private async prove(
    user: UserRecord,
    input: ReauthenticateInput,
    client: ClientInfo,
  ): Promise<{ methods: AuthMethod[]; factor?: ProvenFactor }> {
    if (input.password !== "") {
      await provePassword(this.deps, user, input.password, client, "reauthenticate");
    }
    const password: AuthMethod[] = input.password === "" ? [] : ["password"];
    if (!hasSecondFactor(input)) {
      return { methods: password };
    }
    const factor = await this.deps.secondFactor.prove(user, input, client, "reauthenticate");
    return { methods: [...password, factor.method], factor };
  }
}

/** The session's passkeys with the one just proven added (once); unchanged without one. */
function withPasskey(
  passkeyIds: readonly string[] | undefined,
  proven: string | undefined,
): { passkeyIds?: readonly string[] } {
  const ids = [...new Set([...(passkeyIds ?? []), ...(proven === undefined ? [] : [proven])])];
  return ids.length === 0 ? {} : { passkeyIds: ids };
}

/** Refuses a request with nothing to prove, or with several second factors, before any check. */
function checkInput(input: ReauthenticateInput): void {
  if (input.password === "" && !hasSecondFactor(input)) {
    throw invalidArgument("password", "password, totp_code, recovery_code or passkey is required");
  }
  checkOneSecondFactor(input);
}
