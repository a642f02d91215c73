import type { Clock } from "../domain/clock.js";
import { mintDeviceId } from "../domain/device.js";
import { deviceLabel } from "../domain/device-label.js";
import { TokenNotStoredError } from "../domain/errors.js";
import type { Store } from "../domain/ports.js";
import {
  type ClientInfo,
  retainUntil,
  type SessionPolicy,
  type SessionRecord,
  type SessionRequest,
  sessionTerms,
} from "../domain/session.js";
import { hashToken, mintToken, sessionIdOf } from "../domain/token.js";
import type { AuditLog } from "./audit.js";
import { invalidCredentials, type ProvenUser } from "./credential-prover.js";
import { reportLifetimes, type SessionEndListener } from "./session-lifetimes.js";

/** A session together with the secret token that opens it, as handed out once. */
export interface IssuedSession {
  readonly token: string;
  readonly session: SessionRecord;
}

/**
 * Tokens a login tries when their sessions cannot be stored (their Cluster shard is down,
 * which the store says at once): with one master in three down, all ten fail once in 59,049.
 */
const tokenAttempts = 10;

/** What opening sessions needs. */
export interface SessionOpenerDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly policy: SessionPolicy;
  readonly tokenPrefix: string;
  readonly audit: AuditLog;
  /** Told when taking back a session whose login failed failed too. */
  readonly onBackgroundError?: (error: unknown) => void;
  /** Told the lifetime of each session the cap on sessions per user ended. */
  readonly onSessionEnd?: SessionEndListener;
}

/**
 * Opens sessions for proven logins, all or nothing: a new token (another one when its
 * Cluster shard is down), the session stored under it, the cap on sessions per user.
 */
export class SessionOpener {
  constructor(private readonly deps: SessionOpenerDeps) {}

  /**
   * Opens a session for a proven login: stores it under a new token, audits it, and ends
   * the user's oldest sessions beyond the cap (or takes it back if that fails). Its device
   * is the API key that proved the login, else the client's device id, else a new one
   * (which the transport hands the browser as its `device-id` cookie).
   */
  async open(
    proven: ProvenUser,
    client: ClientInfo,
    asked: { readonly durationSeconds: number; readonly rememberMe?: boolean },
  ): Promise<IssuedSession> {
    const { user } = proven;
    const now = this.deps.clock.now();
    const request: SessionRequest = {
      apiKey: proven.apiKeyId !== undefined,
      rememberMe: asked.rememberMe ?? false,
      durationSeconds: asked.durationSeconds,
    };
    const deviceId = proven.apiKeyId ?? client.deviceId ?? mintDeviceId();
    const { token, session } = await this.storeWithToken({
      userId: user.id,
      createdAt: now,
      ...(proven.authenticatedAt === undefined ? {} : { authenticatedAt: proven.authenticatedAt }),
      ...sessionTerms(request, now, this.deps.policy, proven.authenticatedAt),
      lastUsedAt: now,
      ip: client.ip,
      userAgent: client.userAgent,
      deviceLabel: deviceLabel(client.userAgent),
      deviceId,
      ...(client.location === undefined ? {} : { location: client.location }),
      authMethods: proven.methods,
      ...(proven.apiKeyId === undefined ? {} : { apiKeyId: proven.apiKeyId }),
      ...(proven.passkeyIds === undefined ? {} : { passkeyIds: proven.passkeyIds }),
      roles: user.roles,
      email: user.email,
      displayName: user.displayName,
    });
    this.deps.audit("session.created", {
      userId: user.id,
      sessionId: session.id,
      kind: session.kind,
      device: session.deviceLabel,
      ...client,
      deviceId,
    });
    try {
      await this.enforceSessionCap(user.id, now);
    } catch (error) {
      await this.withdraw(session);
      throw error;
    }
    return { token, session };
  }

  /**
   * Mints the new session's token and stores both (the session's id is the start of the
   * token's hash); when only the token could not be stored (its Cluster shard is down),
   * nothing was written and another token is tried.
   */
  private async storeWithToken(
    unsigned: Omit<SessionRecord, "tokenHash" | "id">,
  ): Promise<{ token: string; session: SessionRecord }> {
    for (let attempt = 1; ; attempt += 1) {
      const { token, tokenHash, id } = this.mintSessionToken();
      const session: SessionRecord = { ...unsigned, id, tokenHash };
      try {
        if (
          !(await this.deps.store.sessions.create(session, retainUntil(session, this.deps.policy)))
        ) {
          throw invalidCredentials();
        }
        return { token, session };
      } catch (error) {
        if (!(error instanceof TokenNotStoredError) || attempt >= tokenAttempts) {
          throw error;
        }
      }
    }
  }

  /** A new session token, its hash and the id of the session it opens. */
  private mintSessionToken(): { token: string; tokenHash: string; id: string } {
    const token = mintToken(this.deps.tokenPrefix, "sess");
    const tokenHash = hashToken(token);
    const id = sessionIdOf(tokenHash);
    return id === undefined ? this.mintSessionToken() : { token, tokenHash, id };
  }

  /**
   * Ends a session whose login then failed, so that a login answered with an error leaves
   * nothing behind; if even that fails the session stays, and the error is reported.
   */
  private async withdraw(session: SessionRecord): Promise<void> {
    try {
      await this.deps.store.sessions.revoke(session.userId, session.id);
      this.deps.audit("session.revoked", {
        userId: session.userId,
        sessionId: session.id,
        reason: "login_failed",
      });
    } catch (error) {
      this.deps.onBackgroundError?.(error);
    }
  }

  /** Ends the user's oldest sessions beyond SESSION_MAX_PER_USER. */
  private async enforceSessionCap(userId: string, now: number): Promise<void> {
    const cap = this.deps.policy.maxSessionsPerUser;
    if (cap <= 0) {
      return;
    }
    for (const { sessionId, createdAt } of await this.deps.store.sessions.trim(userId, cap, now)) {
      reportLifetimes(this.deps.onSessionEnd, "session_limit", [createdAt], now);
      this.deps.audit("session.revoked", { userId, sessionId, reason: "session_limit" });
    }
  }
}
