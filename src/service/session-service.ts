import type { Clock } from "../domain/clock.js";
import { invalidArgument, KeycardError } from "../domain/errors.js";
import type { PasswordHasher, Store } from "../domain/ports.js";
import {
  type ClientInfo,
  type InactiveReason,
  isIdle,
  isTouchDue,
  judgeToken,
  refreshedExpiry,
  type SessionPolicy,
  type SessionRecord,
  sessionExpiry,
  type TokenVerdict,
} from "../domain/session.js";
import { hashToken, isWellFormedToken, mintToken, newId } from "../domain/token.js";
import { normalizeEmail, type UserRecord } from "../domain/user.js";

/** What the service needs from the outside world. */
export interface SessionServiceDeps {
  readonly store: Store;
  readonly hasher: PasswordHasher;
  readonly clock: Clock;
  readonly policy: SessionPolicy;
  readonly tokenPrefix: string;
  /** Told when a rotated-out token comes back after its grace: a sign of theft. */
  readonly onTheft?: (session: SessionRecord) => void;
  /** Told when a background write (a throttled touch) failed; the request still succeeded. */
  readonly onBackgroundError?: (error: unknown) => void;
}

/** Email and password of a login attempt, and the lifetime the caller asked for. */
export interface LoginInput {
  readonly email: string;
  readonly password: string;
  readonly durationSeconds: number;
}

/** A session together with the secret token that opens it, as handed out once. */
export interface IssuedSession {
  readonly token: string;
  readonly session: SessionRecord;
}

/** The caller behind a valid session token. */
export interface SessionPrincipal {
  readonly session: SessionRecord;
  readonly tokenHash: string;
}

const maxPasswordBytes = 1024;

const inactiveErrors: Record<InactiveReason, ConstructorParameters<typeof KeycardError>> = {
  malformed: ["SESSION_INVALID", "Invalid session token"],
  unknown: ["SESSION_INVALID", "Invalid session token"],
  expired: ["SESSION_EXPIRED", "Session token expired"],
  idle_timeout: ["SESSION_EXPIRED", "Session token expired after inactivity"],
  revoked: ["SESSION_REVOKED", "Session token revoked"],
};

/** The error a caller gets for presenting an inactive token. */
function inactiveError(reason: InactiveReason): KeycardError {
  return new KeycardError(...inactiveErrors[reason]);
}

const invalidCredentials = (): KeycardError =>
  new KeycardError("INVALID_CREDENTIALS", "Invalid email or password");

/**
 * The session use cases: log in, judge a token, refresh, list and revoke. Protocol-free:
 * it speaks domain records and KeycardError, never HTTP or Connect.
 */
export class SessionService {
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly deps: SessionServiceDeps) {}

  /**
   * Checks email and password and starts a session. An unknown email costs one argon2
   * verification like a wrong password does, so the two cannot be told apart by timing.
   */
  async login(
    input: LoginInput,
    client: ClientInfo,
  ): Promise<IssuedSession & { user: UserRecord }> {
    const email = normalizeEmail(input.email);
    validateLogin(email, input);
    const user = await this.deps.store.users.findByEmail(email);
    const passwordHash = user?.passwordHash ?? (await this.dummyPasswordHash());
    const matches = await this.deps.hasher.verify(passwordHash, input.password);
    if (user === undefined || !matches || user.disabled) {
      throw invalidCredentials();
    }
    const issued = await this.start(user, client, input.durationSeconds, ["password"]);
    return { ...issued, user };
  }

  /** Judges a token without failing for an inactive one (the Validate contract). */
  async validate(token: string): Promise<TokenVerdict> {
    if (!isWellFormedToken(token, this.deps.tokenPrefix, "sess")) {
      return { active: false, reason: "malformed" };
    }
    const now = this.deps.clock.now();
    const tokenHash = hashToken(token);
    const verdict = judgeToken(
      await this.deps.store.sessions.lookup(tokenHash),
      tokenHash,
      now,
      this.deps.policy,
    );
    if (verdict.active) {
      this.touchIfDue(verdict.session, now);
    } else if (verdict.stolen !== undefined) {
      await this.deps.store.sessions.revoke(verdict.stolen.userId, verdict.stolen.id);
      this.deps.onTheft?.(verdict.stolen);
    }
    return verdict;
  }

  /** Resolves a token to its caller, or fails with SESSION_INVALID/EXPIRED/REVOKED. */
  async authenticate(token: string): Promise<SessionPrincipal> {
    const verdict = await this.validate(token);
    if (!verdict.active) {
      throw inactiveError(verdict.reason);
    }
    return { session: verdict.session, tokenHash: hashToken(token) };
  }

  /** Rotates the caller's token and extends the session up to the absolute maximum. */
  async refresh({ session, tokenHash }: SessionPrincipal): Promise<IssuedSession> {
    const now = this.deps.clock.now();
    const token = mintToken(this.deps.tokenPrefix, "sess");
    const next: SessionRecord = {
      ...session,
      tokenHash: hashToken(token),
      previousTokenHash: tokenHash,
      graceUntil: now + this.deps.policy.refreshGrace,
      expiresAt: refreshedExpiry(session, now, this.deps.policy),
      lastUsedAt: now,
    };
    if (!(await this.deps.store.sessions.rotate(next, tokenHash, this.retainUntil(next)))) {
      throw new KeycardError(
        "SESSION_INVALID",
        "This session token was already refreshed; use the newer token",
      );
    }
    return { token, session: next };
  }

  /** Ends the caller's own session. */
  async logout({ session }: SessionPrincipal): Promise<void> {
    await this.deps.store.sessions.revoke(session.userId, session.id);
  }

  /** The caller's live sessions, newest first; idle-timed-out ones are not live. */
  async list({ session }: SessionPrincipal): Promise<SessionRecord[]> {
    const now = this.deps.clock.now();
    const sessions = await this.deps.store.sessions.list(session.userId, now);
    return sessions.filter((candidate) => !isIdle(candidate, now, this.deps.policy));
  }

  /** Ends one of the caller's sessions; NOT_FOUND for any id that is not one of them. */
  async revoke({ session }: SessionPrincipal, sessionId: string): Promise<number> {
    if (sessionId === "") {
      throw invalidArgument("session_id", "session_id is required unless scope is all or others");
    }
    if (!(await this.deps.store.sessions.revoke(session.userId, sessionId))) {
      throw new KeycardError("NOT_FOUND", "No live session with this id");
    }
    return 1;
  }

  /** Ends all the caller's sessions, or all but the current one. */
  revokeAll({ session }: SessionPrincipal, keepCurrent: boolean): Promise<number> {
    return this.deps.store.sessions.revokeAll(session.userId, keepCurrent ? session.id : undefined);
  }

  /** The caller's account as stored now. */
  async me({ session }: SessionPrincipal): Promise<UserRecord> {
    const user = await this.deps.store.users.findById(session.userId);
    if (user === undefined) {
      throw inactiveError("revoked");
    }
    return user;
  }

  private async start(
    user: UserRecord,
    client: ClientInfo,
    durationSeconds: number,
    authMethods: string[],
  ): Promise<IssuedSession> {
    const now = this.deps.clock.now();
    const token = mintToken(this.deps.tokenPrefix, "sess");
    const session: SessionRecord = {
      id: newId(),
      userId: user.id,
      createdAt: now,
      expiresAt: sessionExpiry(now, durationSeconds, this.deps.policy),
      lastUsedAt: now,
      ip: client.ip,
      userAgent: client.userAgent,
      authMethods,
      roles: user.roles,
      email: user.email,
      displayName: user.displayName,
      tokenHash: hashToken(token),
    };
    if (!(await this.deps.store.sessions.create(session, this.retainUntil(session)))) {
      throw invalidCredentials();
    }
    return { token, session };
  }

  private retainUntil(session: SessionRecord): number {
    return session.expiresAt + this.deps.policy.retention;
  }

  private touchIfDue(session: SessionRecord, now: number): void {
    if (isTouchDue(session, now, this.deps.policy)) {
      this.deps.store.sessions
        .touch(session.userId, session.id, now)
        .catch((error: unknown) => this.deps.onBackgroundError?.(error));
    }
  }

  private dummyPasswordHash(): Promise<string> {
    this.dummyHash ??= this.deps.hasher.hash(newId());
    return this.dummyHash;
  }
}

function validateLogin(email: string, input: LoginInput): void {
  if (email === "") {
    throw invalidArgument("email", "email is required");
  }
  if (input.password === "") {
    throw invalidArgument("password", "password is required");
  }
  if (Buffer.byteLength(input.password) > maxPasswordBytes) {
    throw invalidArgument("password", `password must be at most ${maxPasswordBytes} bytes`);
  }
  if (!Number.isInteger(input.durationSeconds) || input.durationSeconds < 0) {
    throw invalidArgument("duration_seconds", "duration_seconds must not be negative");
  }
}
