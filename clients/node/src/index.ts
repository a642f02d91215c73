import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import {
  type Client,
  Code,
  ConnectError,
  createClient,
  createContextKey,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { AuthService } from "../../../gen/keycard/v1/auth_service_pb.js";
import { ErrorReason } from "../../../gen/keycard/v1/error_reason_pb.js";
import { InactiveReason } from "../../../gen/keycard/v1/session_pb.js";

export { ErrorReason, InactiveReason };

/**
 * Why keycard found a token inactive, by name: `EXPIRED`, `REVOKED`, `IDLE_TIMEOUT`,
 * `MALFORMED`, `UNKNOWN`, `TOTP_REQUIRED`, ...; `UNSPECIFIED` for an active token.
 */
export type InactiveReasonName = keyof typeof InactiveReason;

/**
 * What keycard says about one token. Fields other than `active` and `reason` are set only
 * when the token is active.
 */
export interface KeycardAnswer {
  readonly active: boolean;
  readonly subject: string;
  readonly roles: readonly string[];
  readonly sessionId: string;
  readonly expiresAt: Date | undefined;
  readonly reason: InactiveReasonName;
}

/** How to reach keycard and how long to trust an answer. */
export interface KeycardValidatorOptions {
  /** Where keycard listens, e.g. `http://keycard:8080`. */
  readonly baseUrl: string;
  /** gRPC over HTTP/2 (the default) or the Connect protocol over HTTP/1.1. */
  readonly transport?: "grpc" | "connect";
  /**
   * How long a positive answer is reused, in milliseconds (default 1000). A session that is
   * revoked or logged out stays accepted by this validator for at most this long; 0 disables
   * the cache.
   */
  readonly cacheTtlMs?: number;
  /** How many positive answers are kept at most (default 10000); the least recently used go first. */
  readonly cacheMax?: number;
  /** Client interceptors for every call to keycard (tracing, metrics, tests). */
  readonly interceptors?: Interceptor[];
}

/** Validates tokens against keycard, reusing recent positive answers. */
export interface KeycardValidator {
  /**
   * Asks keycard whether `token` is active. An inactive token is an answer, not an error;
   * it rejects only when keycard cannot be reached or fails (a ConnectError).
   */
  validate(token: string): Promise<KeycardAnswer>;
  /** Forgets cached answers and closes the connection to keycard. */
  close(): void;
}

interface CacheEntry {
  readonly answer: KeycardAnswer;
  readonly until: number;
}

/**
 * Creates a validator for other Node services: one call per token, then its positive answer
 * is reused for at most `cacheTtlMs` (never past the session's own expiry). Negative answers
 * are never cached, so a token that becomes valid is accepted at once, and revocation is
 * honored within `cacheTtlMs`.
 */
export function createKeycardValidator(options: KeycardValidatorOptions): KeycardValidator {
  const ttl = options.cacheTtlMs ?? 1000;
  const max = options.cacheMax ?? 10_000;
  const interceptors = options.interceptors ?? [];
  let sessionManager: Http2SessionManager | undefined;
  let transport: Transport;
  if (options.transport === "connect") {
    transport = createConnectTransport({
      baseUrl: options.baseUrl,
      httpVersion: "1.1",
      interceptors,
    });
  } else {
    sessionManager = new Http2SessionManager(options.baseUrl);
    transport = createGrpcTransport({ baseUrl: options.baseUrl, sessionManager, interceptors });
  }
  const client: Client<typeof AuthService> = createClient(AuthService, transport);
  // A Map iterates in insertion order: re-inserting on a hit keeps the oldest entry first.
  const cache = new Map<string, CacheEntry>();

  function cached(token: string, now: number): KeycardAnswer | undefined {
    const entry = cache.get(token);
    if (entry === undefined) {
      return undefined;
    }
    cache.delete(token);
    if (entry.until <= now) {
      return undefined;
    }
    cache.set(token, entry);
    return entry.answer;
  }

  function remember(token: string, answer: KeycardAnswer, now: number): void {
    if (ttl <= 0 || max <= 0) {
      return;
    }
    const until = Math.min(now + ttl, answer.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY);
    cache.set(token, { answer, until });
    while (cache.size > max) {
      const oldest = cache.keys().next();
      if (oldest.done === true) {
        break;
      }
      cache.delete(oldest.value);
    }
  }

  return {
    async validate(token) {
      if (token === "") {
        return inactive("MALFORMED");
      }
      const hit = cached(token, Date.now());
      if (hit !== undefined) {
        return hit;
      }
      const reply = await client.validate({ token });
      const answer: KeycardAnswer = {
        active: reply.active,
        subject: reply.subject,
        roles: [...reply.roles],
        sessionId: reply.sessionId,
        expiresAt: reply.expiresAt === undefined ? undefined : timestampDate(reply.expiresAt),
        reason: InactiveReason[reply.reason] as InactiveReasonName,
      };
      if (answer.active) {
        remember(token, answer, Date.now());
      }
      return answer;
    },
    close() {
      cache.clear();
      sessionManager?.abort();
    },
  };
}

function inactive(reason: InactiveReasonName): KeycardAnswer {
  return { active: false, subject: "", roles: [], sessionId: "", expiresAt: undefined, reason };
}

/**
 * The caller's identity inside a handler behind `keycardInterceptor`:
 * `ctx.values.get(keycardIdentity)`. Undefined only where the interceptor is not installed.
 */
export const keycardIdentity = createContextKey<KeycardAnswer | undefined>(undefined, {
  description: "keycard identity",
});

/** Where `keycardInterceptor` reads the token. */
export interface KeycardInterceptorOptions {
  /** The header carrying `Bearer <token>` (default `authorization`); `x-session-token` is the fallback. */
  readonly header?: string;
}

const reasonOf: Partial<Record<InactiveReasonName, ErrorReason>> = {
  EXPIRED: ErrorReason.SESSION_EXPIRED,
  IDLE_TIMEOUT: ErrorReason.SESSION_EXPIRED,
  REVOKED: ErrorReason.SESSION_REVOKED,
  TOTP_REQUIRED: ErrorReason.TOTP_REQUIRED,
};

/**
 * A Connect server interceptor that lets a request through only with an active keycard
 * token (`Authorization: Bearer <token>`, else `X-Session-Token`) and puts the identity in
 * `keycardIdentity`. Anything else is rejected with Unauthenticated and a
 * google.rpc.ErrorInfo (domain `keycard.dev`) saying why; keycard being unreachable stays
 * the error the validator raised (e.g. Unavailable).
 */
export function keycardInterceptor(
  validator: KeycardValidator,
  options: KeycardInterceptorOptions = {},
): Interceptor {
  const header = options.header ?? "authorization";
  return (next) => async (request) => {
    const token = tokenOf(request.header, header);
    if (token === "") {
      throw unauthenticated("A session token is required.", ErrorReason.SESSION_INVALID);
    }
    const answer = await validator.validate(token);
    if (!answer.active) {
      const reason = reasonOf[answer.reason] ?? ErrorReason.SESSION_INVALID;
      throw unauthenticated("The session token is not valid.", reason);
    }
    request.contextValues.set(keycardIdentity, answer);
    return next(request);
  };
}

function tokenOf(headers: Headers, header: string): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(headers.get(header) ?? "");
  if (match?.[1] !== undefined) {
    return match[1];
  }
  return headers.get("x-session-token")?.trim() ?? "";
}

/** An Unauthenticated error with keycard's ErrorInfo: the reason's name, domain keycard.dev. */
function unauthenticated(message: string, reason: ErrorReason): ConnectError {
  const info = create(ErrorInfoSchema, { reason: ErrorReason[reason], domain: "keycard.dev" });
  return new ConnectError(message, Code.Unauthenticated, undefined, [
    { desc: ErrorInfoSchema, value: info },
  ]);
}
