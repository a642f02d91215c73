import type { Clock } from "../domain/clock.js";
import { invalidArgument, KeycardError } from "../domain/errors.js";
import type { PasswordHasher, Store } from "../domain/ports.js";
import type { AuthMethod, ClientInfo, SessionPolicy } from "../domain/session.js";
import { mintToken } from "../domain/token.js";
import { requiresTotp, type UserRecord } from "../domain/user.js";
import type { AuditLog } from "./audit.js";
import type { LoginGuard } from "./login-guard.js";
import { provePassword } from "./password-proof.js";
import type { SessionPrincipal } from "./session-judge.js";
import type { IssuedSession } from "./session-opener.js";
import { storeRotation, withNewToken } from "./session-rotation.js";
import type { TotpService } from "./totp-service.js";

/** The credentials a caller presents again on its own session. */
export interface ReauthenticateInput {
  readonly password: string;
  readonly totpCode: string;
}

/** What proving oneself again needs. */
export interface ReauthenticatorDeps {
  readonly store: Store;
  readonly hasher: PasswordHasher;
  readonly totp: TotpService;
  readonly clock: Clock;
  readonly policy: SessionPolicy;
  readonly tokenPrefix: string;
  readonly audit: AuditLog;
  /** The login's guessing budget, which a wrong password here spends too. */
  readonly guard?: LoginGuard;
}

/**
 * Step-up on an existing session (RFC 9470): the person presents a password and/or a TOTP
 * code again; the session's auth_time moves to now, its methods grow by those just proven,
 * and its token is rotated as Refresh rotates it: the old one works only for the grace
 * period, so a copy taken before the step-up soon stops carrying its assurance.
 */
export class Reauthenticator {
  constructor(private readonly deps: ReauthenticatorDeps) {}

  async reauthenticate(
    { session, tokenHash }: SessionPrincipal,
    input: ReauthenticateInput,
    client: ClientInfo,
  ): Promise<IssuedSession> {
    if (input.password === "" && input.totpCode === "") {
      throw invalidArgument("password", "password or totp_code is required");
    }
    const user = await this.deps.store.users.findById(session.userId);
    if (user === undefined || user.disabled) {
      throw new KeycardError("SESSION_REVOKED", "Session token revoked");
    }
    const proven = [
      ...(input.password === "" ? [] : await this.checkPassword(user, input.password, client)),
      ...(input.totpCode === "" ? [] : await this.checkTotp(user, input.totpCode, client)),
    ];
    const now = this.deps.clock.now();
    const token = mintToken(this.deps.tokenPrefix, "sess");
    const stepped = {
      ...session,
      authMethods: [...new Set([...session.authMethods, ...proven])],
      reauthenticatedAt: now,
    };
    const next = withNewToken(stepped, token, tokenHash, now, this.deps.policy);
    await storeRotation(this.deps.store, next, tokenHash, this.deps.policy);
    this.deps.audit("session.reauthenticated", {
      userId: user.id,
      sessionId: session.id,
      methods: proven.join(" "),
      ...client,
    });
    return { token, session: next };
  }

  /** The password, against the same guessing budget as a login with this account's email. */
  private async checkPassword(
    user: UserRecord,
    password: string,
    client: ClientInfo,
  ): Promise<AuthMethod[]> {
    await provePassword(this.deps, user, password, client);
    return ["password"];
  }

  /** A TOTP code of the account, consumed, against the TOTP guessing budget. */
  private async checkTotp(
    user: UserRecord,
    code: string,
    client: ClientInfo,
  ): Promise<AuthMethod[]> {
    if (!requiresTotp(user)) {
      throw new KeycardError(
        "TOTP_NOT_ENROLLED",
        "This account has no TOTP to check a code against",
      );
    }
    await this.deps.totp.verify(user, code, client);
    return ["totp"];
  }
}
