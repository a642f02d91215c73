import { apiKeyMethods } from "../domain/api-key.js";
import {
  type Assurance,
  assuranceOf,
  meetsStepUp,
  type StepUp,
  sessionAssurance,
} from "../domain/assurance.js";
import type { Clock } from "../domain/clock.js";
import { type ErrorReason, KeycardError } from "../domain/errors.js";
import type { Store } from "../domain/ports.js";
import {
  type ClientInfo,
  extendedSession,
  type InactiveReason,
  isRenewalDue,
  isTouchDue,
  judgeToken,
  retainUntil,
  type SessionPolicy,
  type SessionRecord,
  type TokenVerdict,
} from "../domain/session.js";
import { hashToken, isWellFormedToken } from "../domain/token.js";
import { ApiKeyRefused, type ApiKeyService } from "./api-key-service.js";
import type { AuditLog } from "./audit.js";
import type { SessionEpoch } from "./session-epoch.js";
import { reportLifetimes, type SessionEndListener } from "./session-lifetimes.js";

/** The caller behind a valid session token. */
export interface SessionPrincipal {
  readonly session: SessionRecord;
  readonly tokenHash: string;
  /** Where this request came from (the session's own IP and user agent are the login's). */
  readonly client?: ClientInfo;
}

/** Who a credential proves, as Validate reports it. */
export interface Identity {
  readonly kind: "session" | "api_key";
  readonly userId: string;
  readonly sessionId: string;
  /** Zero for an API key that never expires. */
  readonly expiresAt: number;
  /** When the session began (its login) or the API key was created. */
  readonly issuedAt: number;
  readonly roles: readonly string[];
  readonly email: string;
  readonly displayName: string;
  /** How and when the person proved themselves: the session's login, or this request's key. */
  readonly assurance: Assurance;
}

/** The answer of Validate: who, or why not. */
export type Introspection =
  | { readonly active: true; readonly identity: Identity }
  | { readonly active: false; readonly reason: InactiveReason };

const inactiveErrors: Record<InactiveReason, ConstructorParameters<typeof KeycardError>> = {
  malformed: ["SESSION_INVALID", "Invalid session token"],
  unknown: ["SESSION_INVALID", "Invalid session token"],
  expired: ["SESSION_EXPIRED", "Session token expired"],
  idle_timeout: ["SESSION_EXPIRED", "Session token expired after inactivity"],
  revoked: ["SESSION_REVOKED", "Session token revoked"],
  totp_required: ["TOTP_REQUIRED", "TOTP code required"],
  totp_invalid: ["TOTP_INVALID", "Invalid or already used TOTP code"],
  step_up_required: ["STEP_UP_REQUIRED", "This needs a more recent or stronger login"],
};

/** The `[reason, message]` a caller is refused with for an inactive token, on any surface. */
export function inactiveRefusal(reason: InactiveReason): readonly [ErrorReason, string] {
  const [error, message] = inactiveErrors[reason];
  return [error, message];
}

/** The error a caller gets for presenting an inactive token. */
export function inactiveError(reason: InactiveReason): KeycardError {
  return new KeycardError(...inactiveRefusal(reason));
}

/** What judging tokens needs. */
export interface SessionJudgeDeps {
  readonly store: Store;
  readonly apiKeys: ApiKeyService;
  readonly clock: Clock;
  readonly policy: SessionPolicy;
  readonly tokenPrefix: string;
  /** In hybrid mode Validate also introspects API keys. */
  readonly hybrid: boolean;
  readonly audit: AuditLog;
  /** Told when a background write (a throttled touch) failed; the request still succeeded. */
  readonly onBackgroundError?: (error: unknown) => void;
  /** Told of every token presented that keycard never issued (unknown or malformed). */
  readonly onUnknownToken?: () => void;
  /** The emergency end of every session. */
  readonly epoch: SessionEpoch;
  /** Told how long each session lived when it ended, and why (the lifetime histogram). */
  readonly onSessionEnd?: SessionEndListener;
}

/**
 * Judges presented tokens (Validate, and every call that needs a session): active or why
 * not, a rotated-out token's reuse ending its session, and a live session's use recorded
 * or its lifetime renewed.
 */
export class SessionJudge {
  constructor(private readonly deps: SessionJudgeDeps) {}

  /** Judges a session token without failing for an inactive one. */
  async validate(token: string): Promise<TokenVerdict> {
    if (!isWellFormedToken(token, this.deps.tokenPrefix, "sess")) {
      this.deps.onUnknownToken?.();
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
    if (verdict.active && this.deps.epoch.ended(verdict.session.createdAt)) {
      return { active: false, reason: "revoked" };
    }
    if (verdict.active) {
      return { active: true, session: await this.keepAlive(verdict.session, now) };
    }
    if (verdict.reason === "unknown") {
      this.deps.onUnknownToken?.();
    }
    if (verdict.stolen !== undefined) {
      await this.deps.store.sessions.revoke(verdict.stolen.userId, verdict.stolen.id);
      const { createdAt } = verdict.stolen;
      reportLifetimes(this.deps.onSessionEnd, "reuse_detected", [createdAt], this.deps.clock.now());
      this.deps.audit("session.reuse_detected", {
        userId: verdict.stolen.userId,
        sessionId: verdict.stolen.id,
      });
    }
    return verdict;
  }

  /**
   * The Validate contract: a session token, or in hybrid mode an API key (+ TOTP code,
   * consumed), introspected without failing for an inactive credential; one that does not
   * meet `stepUp` is inactive with `step_up_required`.
   */
  introspect(
    token: string,
    totpCode: string,
    client: () => ClientInfo,
    stepUp: StepUp = {},
  ): Promise<Introspection> {
    const answer = this.introspectCredential(token, totpCode, client);
    if (stepUp.maxAgeMs === undefined && stepUp.minAal === undefined) {
      return answer;
    }
    return answer.then((found) =>
      found.active && !meetsStepUp(found.identity.assurance, stepUp, this.deps.clock.now())
        ? { active: false, reason: "step_up_required" }
        : found,
    );
  }

  private async introspectCredential(
    token: string,
    totpCode: string,
    client: () => ClientInfo,
  ): Promise<Introspection> {
    if (this.deps.hybrid && this.deps.apiKeys.isApiKey(token)) {
      return this.introspectApiKey(token, totpCode, client());
    }
    const verdict = await this.validate(token);
    if (!verdict.active) {
      return verdict;
    }
    const { session } = verdict;
    return {
      active: true,
      identity: {
        kind: "session",
        userId: session.userId,
        sessionId: session.id,
        expiresAt: session.expiresAt,
        issuedAt: session.createdAt,
        roles: session.roles,
        email: session.email,
        displayName: session.displayName,
        assurance: sessionAssurance(session),
      },
    };
  }

  /** Resolves a token to its caller, or fails with SESSION_INVALID/EXPIRED/REVOKED. */
  async authenticate(token: string): Promise<SessionPrincipal> {
    const verdict = await this.validate(token);
    if (!verdict.active) {
      throw inactiveError(verdict.reason);
    }
    return { session: verdict.session, tokenHash: hashToken(token) };
  }

  /** A hybrid-mode API key (+ TOTP code) at Validate, forward auth or ext_authz. */
  private async introspectApiKey(
    key: string,
    totpCode: string,
    client: ClientInfo,
  ): Promise<Introspection> {
    try {
      const { user, apiKey, factor } = await this.deps.apiKeys.authenticateGuarded(
        key,
        totpCode,
        client,
        "validate",
      );
      return {
        active: true,
        identity: {
          kind: "api_key",
          userId: user.id,
          sessionId: "",
          expiresAt: apiKey.expiresAt,
          issuedAt: apiKey.createdAt,
          roles: user.roles,
          email: user.email,
          displayName: user.displayName,
          assurance: assuranceOf(apiKeyMethods(factor?.method), this.deps.clock.now()),
        },
      };
    } catch (error) {
      if (error instanceof ApiKeyRefused) {
        return { active: false, reason: error.inactiveReason };
      }
      throw error;
    }
  }

  /**
   * A use of a live session: renews it once its renewal is due (returning it renewed), or
   * else records the use when the write throttle allows. Neither write fails the use.
   */
  private async keepAlive(session: SessionRecord, now: number): Promise<SessionRecord> {
    if (!isRenewalDue(session, now, this.deps.policy)) {
      this.touchIfDue(session, now);
      return session;
    }
    const renewed = extendedSession(session, now, this.deps.policy);
    try {
      const stored = await this.deps.store.sessions.rotate(
        renewed,
        session.tokenHash,
        retainUntil(renewed, this.deps.policy),
      );
      if (!stored) {
        return session;
      }
    } catch (error) {
      this.deps.onBackgroundError?.(error);
      return session;
    }
    this.deps.audit("session.renewed", {
      userId: session.userId,
      sessionId: session.id,
      expiresAt: renewed.expiresAt,
    });
    return renewed;
  }

  private touchIfDue(session: SessionRecord, now: number): void {
    if (isTouchDue(session, now, this.deps.policy)) {
      this.deps.store.sessions
        .touch(session.userId, session.id, now)
        .catch((error: unknown) => this.deps.onBackgroundError?.(error));
    }
  }
}
