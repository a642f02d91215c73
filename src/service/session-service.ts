import type { StepUp } from "../domain/assurance.js";
import { invalidArgument, KeycardError } from "../domain/errors.js";
import { type Page, type PageRequest, pageOf } from "../domain/page.js";
import {
  type ClientInfo,
  extendedSession,
  isIdle,
  loginTimeOf,
  type SessionListing,
  type TokenVerdict,
  validateDuration,
} from "../domain/session.js";
import { mintToken } from "../domain/token.js";
import type { UserRecord } from "../domain/user.js";
import {
  builtInAdminEmail,
  CredentialProver,
  type CredentialProverDeps,
  isPasskeyAlone,
  type LoginInput,
  type ProvenUser,
} from "./credential-prover.js";
import { loginAttemptOf } from "./login-attempt.js";
import type { LoginGuard } from "./login-guard.js";
import type { LoginSignals } from "./login-signals.js";
import {
  type Introspection,
  inactiveError,
  SessionJudge,
  type SessionJudgeDeps,
  type SessionPrincipal,
} from "./session-judge.js";
import { creationTimes, reportLifetimes } from "./session-lifetimes.js";
import { type IssuedSession, SessionOpener, type SessionOpenerDeps } from "./session-opener.js";
import { storeRotation, withNewToken } from "./session-rotation.js";

/** What the service needs: what its parts need (see each), and the brute-force guard. */
export interface SessionServiceDeps
  extends CredentialProverDeps,
    SessionOpenerDeps,
    SessionJudgeDeps {
  /** Brute-force protection of login (createApp always passes one); none when absent. */
  readonly loginGuard?: LoginGuard;
  /** Tells logins from new devices and places (createApp always passes one); none when absent. */
  readonly signals?: LoginSignals;
}

/** What the transport knows of a login's client beyond ClientInfo. */
export interface LoginOptions {
  /** The client is a browser page, which a login gives its `device-id` cookie. */
  readonly browser?: boolean;
}

/** Why and by whom sessions are ended, for the audit log. */
export interface Revocation {
  /** A session to keep (the caller's own, for "all others"). */
  readonly keep?: string;
  /** `requested` unless a privilege change or a policy ended them. */
  readonly reason?: string;
  /** The client that asked. */
  readonly by?: ClientInfo;
}

/**
 * The session use cases: log in, judge a token, refresh, list and revoke. Protocol-free:
 * it speaks domain records and KeycardError, never HTTP or Connect.
 */
export class SessionService {
  private readonly prover: CredentialProver;
  private readonly opener: SessionOpener;
  private readonly judge: SessionJudge;

  constructor(private readonly deps: SessionServiceDeps) {
    this.prover = new CredentialProver(deps);
    this.opener = new SessionOpener(deps);
    this.judge = new SessionJudge(deps);
  }

  /**
   * Logs in with email + password or an API key (each + a TOTP or recovery code when the
   * account has TOTP; a password + a passkey), or a passkey alone, and starts a session;
   * says how many recovery codes are left when one was used. Whether it came from a new
   * device or place is told in the background. A passkey alone is guarded by its own
   * attempt (its account is known only from the assertion).
   */
  async login(
    input: LoginInput,
    client: ClientInfo,
    options: LoginOptions = {},
  ): Promise<IssuedSession & Pick<ProvenUser, "user" | "recoveryCodesRemaining">> {
    const passkeyAlone = isPasskeyAlone(input);
    const credential = passkeyAlone ? "passkey" : input.apiKey === "" ? "password" : "api_key";
    const guard = passkeyAlone ? undefined : this.deps.loginGuard;
    const adminEmail = this.deps.adminPassword === undefined ? undefined : builtInAdminEmail;
    const attempt = loginAttemptOf(input, client, adminEmail);
    try {
      const proven = await (guard === undefined
        ? this.prover.prove(input, client)
        : guard.guard(attempt, () => this.prover.prove(input, client)));
      const issued = await this.opener.open(proven, client, input);
      this.deps.audit("login.succeeded", {
        credential,
        userId: proven.user.id,
        sessionId: issued.session.id,
        ...client,
      });
      this.deps.signals?.notice(issued.session, client, options.browser ?? false);
      const { recoveryCodesRemaining } = proven;
      return {
        ...issued,
        user: proven.user,
        ...(recoveryCodesRemaining === undefined ? {} : { recoveryCodesRemaining }),
      };
    } catch (error) {
      // A throttled attempt was audited as login.locked and checked nothing.
      if (
        error instanceof KeycardError &&
        error.kind !== "unavailable" &&
        error.reason !== "RATE_LIMITED"
      ) {
        this.deps.audit("login.failed", {
          credential,
          reason: error.reason,
          door: "login",
          ...client,
        });
      }
      throw error;
    }
  }

  /** Judges a session token without failing for an inactive one. */
  validate(token: string): Promise<TokenVerdict> {
    return this.judge.validate(token);
  }

  /** See SessionJudge.introspect. */
  introspect(
    token: string,
    totpCode: string,
    client: () => ClientInfo,
    stepUp: StepUp = {},
  ): Promise<Introspection> {
    return this.judge.introspect(token, totpCode, client, stepUp);
  }

  /** Resolves a token to its caller, or fails with SESSION_INVALID/EXPIRED/REVOKED. */
  authenticate(token: string): Promise<SessionPrincipal> {
    return this.judge.authenticate(token);
  }

  /**
   * Rotates the caller's token and extends the session up to the absolute maximum. Given
   * the presented token, extends the session and keeps that token instead of rotating it.
   */
  async refresh(
    { session, tokenHash, client }: SessionPrincipal,
    durationSeconds = 0,
    presentedToken?: string,
  ): Promise<IssuedSession> {
    validateDuration(durationSeconds);
    const now = this.deps.clock.now();
    const extended = extendedSession(session, now, this.deps.policy, durationSeconds);
    const token = presentedToken ?? mintToken(this.deps.tokenPrefix, "sess");
    const next =
      presentedToken === undefined
        ? withNewToken(extended, token, tokenHash, now, this.deps.policy)
        : extended;
    await storeRotation(this.deps.store, next, tokenHash, this.deps.policy);
    this.deps.audit("session.refreshed", {
      userId: session.userId,
      sessionId: session.id,
      credential: "session",
      ...client,
    });
    return { token, session: next };
  }

  /**
   * Starts an additional session for the caller (a bearer token for scripts from a
   * browser's cookie session); the caller's session is unchanged.
   */
  async issueToken(
    { session }: SessionPrincipal,
    client: ClientInfo,
    durationSeconds: number,
  ): Promise<IssuedSession> {
    validateDuration(durationSeconds);
    const user = await this.me(session.userId);
    const proven = {
      user,
      methods: [...session.authMethods],
      ...(session.apiKeyId === undefined ? {} : { apiKeyId: session.apiKeyId }),
      ...(session.passkeyIds === undefined ? {} : { passkeyIds: session.passkeyIds }),
      // No credential was presented: the new session ends when its login's would.
      authenticatedAt: loginTimeOf(session),
    };
    return this.opener.open(proven, client, { durationSeconds });
  }

  /**
   * Ends every session of every user that began before now (after a breach), on every
   * replica within about a second; audited. Returns the time sessions must begin after.
   */
  async endAll(by: ClientInfo): Promise<number> {
    const notBefore = this.deps.clock.now();
    await this.deps.epoch.end(notBefore);
    this.deps.audit("session.all_ended", { notBefore, ...by });
    return notBefore;
  }

  /** Ends the caller's own session. */
  async logout({ session, client }: SessionPrincipal): Promise<void> {
    await this.deps.store.sessions.revoke(session.userId, session.id);
    const now = this.deps.clock.now();
    reportLifetimes(this.deps.onSessionEnd, "logout", [session.createdAt], now);
    this.deps.audit("session.revoked", {
      userId: session.userId,
      sessionId: session.id,
      reason: "logout",
      credential: "session",
      ...client,
    });
  }

  /**
   * One page of a user's live sessions, newest first (by creation, then id); idle-timed-out
   * ones are not live. Cut from the whole listing rather than read page by page: the
   * store's index of a user's sessions is ordered by expiry, not creation, so it cannot
   * seek to a position of this order, and the listing is bounded by SESSION_MAX_PER_USER
   * (every login trims to it), so a page costs what one unpaged listing did.
   */
  async list(userId: string, page: PageRequest): Promise<Page<SessionListing>> {
    const now = this.deps.clock.now();
    const sessions = await this.deps.store.sessions.list(userId, now);
    const live = sessions.filter((candidate) => !isIdle(candidate, now, this.deps.policy));
    return pageOf(live, page, "newest-first");
  }

  /** Ends one of a user's sessions; NOT_FOUND for any id that is not one of them. */
  async revoke(userId: string, sessionId: string, by?: ClientInfo): Promise<number> {
    if (sessionId === "") {
      throw invalidArgument("session_id", "session_id is required unless scope is all or others");
    }
    const began = await creationTimes(this.deps.store, userId, this.deps.clock.now());
    if (!(await this.deps.store.sessions.revoke(userId, sessionId))) {
      throw new KeycardError("NOT_FOUND", "No live session with this id");
    }
    const ended = [began.get(sessionId) ?? 0];
    reportLifetimes(this.deps.onSessionEnd, "revoked", ended, this.deps.clock.now());
    this.deps.audit("session.revoked", { userId, sessionId, reason: "requested", ...by });
    return 1;
  }

  /**
   * Gives one of a user's live sessions a label and answers it as listed now; NOT_FOUND for
   * any id that is not one of them (someone else's, unknown, ended or idle), as revoke does.
   */
  async rename(
    userId: string,
    sessionId: string,
    label: string,
    by?: ClientInfo,
  ): Promise<SessionListing> {
    const now = this.deps.clock.now();
    const renamed =
      (await this.deps.store.sessions.rename(userId, sessionId, label)) &&
      (await this.deps.store.sessions.list(userId, now)).find(
        (session) => session.id === sessionId && !isIdle(session, now, this.deps.policy),
      );
    if (!renamed) {
      throw new KeycardError("NOT_FOUND", "No live session with this id");
    }
    this.deps.audit("session.renamed", { userId, sessionId, label, ...by });
    return renamed;
  }

  /** Ends all of a user's sessions but the one to keep, and audits why and by whom. */
  async revokeAll(userId: string, revocation: Revocation = {}): Promise<number> {
    const { keep, reason = "requested", by } = revocation;
    const began = await creationTimes(this.deps.store, userId, this.deps.clock.now());
    const count = await this.deps.store.sessions.revokeAll(userId, keep);
    began.delete(keep ?? "");
    const ending = reason === "requested" ? "revoked" : reason;
    reportLifetimes(this.deps.onSessionEnd, ending, began.values(), this.deps.clock.now());
    this.deps.audit("session.revoked_all", { userId, count, kept: keep ?? "", reason, ...by });
    return count;
  }

  /**
   * Takes up to `limit` sessions that reached their expiry off the live list and audits
   * each once (`session.expired`), whichever replica sweeps first; returns how many.
   */
  async sweepExpired(limit = 1_000): Promise<number> {
    const expired = await this.deps.store.sessions.sweepExpired(this.deps.clock.now(), limit);
    for (const { userId, sessionId, createdAt, expiresAt } of expired) {
      reportLifetimes(this.deps.onSessionEnd, "expired", [createdAt], expiresAt);
      this.deps.audit("session.expired", { userId, sessionId, expiresAt });
    }
    return expired.length;
  }

  /** Live sessions of all users, for the active-sessions gauge. */
  countLive(): Promise<number> {
    return this.deps.store.sessions.countLive();
  }

  /** The account as stored now. */
  async me(userId: string): Promise<UserRecord> {
    const user = await this.deps.store.users.findById(userId);
    if (user === undefined) {
      throw inactiveError("revoked");
    }
    return user;
  }
}
