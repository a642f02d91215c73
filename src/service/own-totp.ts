import type { Clock } from "../domain/clock.js";
import type { Store } from "../domain/ports.js";
import type { ClientInfo } from "../domain/session.js";
import type { UserRecord } from "../domain/user.js";
import type { AuditLog } from "./audit.js";
import { factorChangeAccount } from "./own-account.js";
import type { SessionPrincipal } from "./session-judge.js";
import type { SessionService } from "./session-service.js";
import type { TotpEnrollment, TotpService } from "./totp-service.js";

/** What managing one's own TOTP needs. */
export interface OwnTotpDeps {
  readonly store: Store;
  readonly totp: TotpService;
  readonly sessions: SessionService;
  readonly clock: Clock;
  readonly audit: AuditLog;
  /** How long ago the session's holder may have proved themselves (PRIVILEGED_SESSION_MAX_AGE). */
  readonly maxAuthAgeMs: number;
}

/** A change to one's own TOTP: the account as it is now and how many other sessions ended. */
export interface OwnTotpChange {
  readonly user: UserRecord;
  readonly revokedSessions: number;
}

/**
 * Self-service TOTP (enroll, confirm, remove) on a fresh session: proven within
 * PRIVILEGED_SESSION_MAX_AGE and, once the account has TOTP, with it (AAL2), so a stolen
 * password-only or old session cannot swap or drop the second factor. Confirming and
 * removing change the account's factors, so its other sessions end; the caller's stays.
 */
export class OwnTotp {
  constructor(private readonly deps: OwnTotpDeps) {}

  /** Starts enrollment of a new secret; an existing TOTP keeps working until confirmed. */
  async enroll(principal: SessionPrincipal, client: ClientInfo): Promise<TotpEnrollment> {
    const user = await this.privileged(principal);
    const enrollment = await this.deps.totp.enroll(user.id);
    this.deps.audit("totp.enrolled", { ...this.subject(principal), ...client });
    return enrollment;
  }

  /** Confirms the pending secret with a code (consumed, counted when wrong). */
  async confirm(
    principal: SessionPrincipal,
    code: string,
    client: ClientInfo,
  ): Promise<OwnTotpChange> {
    await this.privileged(principal);
    const user = await this.deps.totp.confirm(principal.session.userId, code, client);
    const revokedSessions = await this.endOthers(principal, "totp_enrolled", client);
    this.deps.audit("totp.confirmed", { ...this.subject(principal), revokedSessions, ...client });
    return { user, revokedSessions };
  }

  /** Removes the caller's TOTP, confirmed or pending. */
  async remove(principal: SessionPrincipal, client: ClientInfo): Promise<OwnTotpChange> {
    await this.privileged(principal);
    const user = await this.deps.totp.reset(principal.session.userId);
    const revokedSessions = await this.endOthers(principal, "totp_reset", client);
    this.deps.audit("totp.removed", { ...this.subject(principal), revokedSessions, ...client });
    return { user, revokedSessions };
  }

  /** The caller's account, if its session may change factors; else STEP_UP_REQUIRED. */
  private privileged({ session }: SessionPrincipal): Promise<UserRecord> {
    return factorChangeAccount(
      {
        users: this.deps.store.users,
        maxAuthAgeMs: this.deps.maxAuthAgeMs,
        now: this.deps.clock.now(),
      },
      session,
      "Changing TOTP",
      "The built-in administrator signs in with ADMIN_PASSWORD alone and has no TOTP of its own",
    );
  }

  private endOthers(
    { session }: SessionPrincipal,
    reason: string,
    client: ClientInfo,
  ): Promise<number> {
    return this.deps.sessions.revokeAll(session.userId, { keep: session.id, reason, by: client });
  }

  private subject({ session }: SessionPrincipal): Record<string, string> {
    return { userId: session.userId, sessionId: session.id, by: "self" };
  }
}
