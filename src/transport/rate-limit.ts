import {
  Code,
  ConnectError,
  type Interceptor,
  type StreamRequest,
  type UnaryRequest,
} from "@connectrpc/connect";
import type { Redis } from "ioredis";
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from "rate-limiter-flexible";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import { KeycardError } from "../domain/errors.js";
import { fingerprint } from "../domain/login-throttle.js";
import { withinRequestDeadline } from "../domain/request-deadline.js";
import { clientInfoKey } from "../service/context.js";
import { toConnectError } from "../service/errors.js";

/** Which budget a call spends: Login's small one, or the one shared by other auth calls. */
export type RateLimitKind = "login" | "auth";

/** The outcome of one rate-limited call, with what the client should be told about it. */
export interface RateDecision {
  readonly allowed: boolean;
  /** Calls allowed per window; 0 means no limit was applied (disabled). */
  readonly limit: number;
  /** Calls left in the current window after this one. */
  readonly remaining: number;
  /** Seconds until the current window ends and the budget is full again. */
  readonly resetSeconds: number;
  /** Seconds the client must wait before trying again; 0 when the call is allowed. */
  readonly retryAfterSeconds: number;
}

/** The per-IP limits of keycard's authentication routes (reference 002). */
export interface RateLimits {
  /** Spends one call of `kind` for `ip`; never rejects (a limiter failure counts locally). */
  check(kind: RateLimitKind, ip: string): Promise<RateDecision>;
  /**
   * The HTTP headers describing a decision: X-RateLimit-Limit, X-RateLimit-Remaining,
   * X-RateLimit-Reset and, when refused, Retry-After. Empty when no limit was applied.
   */
  headersOf(decision: RateDecision): Record<string, string>;
}

/** How the limits are built; main passes the store's Redis client when there is one. */
export interface RateLimitOptions {
  /**
   * The Redis store's client, so that every replica counts against the same budget. It must
   * be the store's client (no offline queue, a timeout on every command): a limiter call then
   * fails fast instead of hanging when Redis is down. Absent: counts are kept in memory.
   */
  readonly redis?: Redis;
  /** Prefix of the limiter's Redis keys, e.g. `<REDIS_KEY_PREFIX>:ratelimit`. */
  readonly keyPrefix: string;
  /** Login calls per minute per IP; 0 disables the limit. */
  readonly loginPerMinute: number;
  /** Other AuthService calls (Validate excepted) per minute per IP; 0 disables the limit. */
  readonly otherPerMinute: number;
  /** Told when the shared counters failed (e.g. Redis down) and a call was counted locally. */
  readonly onError?: (error: unknown) => void;
}

const windowSeconds = 60;

/** The decision for a call no limit applies to; it produces no headers. */
const unlimited: RateDecision = {
  allowed: true,
  limit: 0,
  remaining: 0,
  resetSeconds: 0,
  retryAfterSeconds: 0,
};

/** A limit's counters: in Redis with an in-memory insurance, or in memory alone. */
interface Limiter {
  readonly shared: RateLimiterAbstract;
  /** Counts in this process while the shared counters cannot be reached. */
  readonly local: RateLimiterMemory;
}

function limiterFor(
  options: RateLimitOptions,
  kind: RateLimitKind,
  points: number,
): Limiter | undefined {
  if (points <= 0) {
    return undefined;
  }
  const settings = { keyPrefix: `${options.keyPrefix}:${kind}`, points, duration: windowSeconds };
  const local = new RateLimiterMemory(settings);
  if (options.redis === undefined) {
    return { shared: local, local };
  }
  // ioredis is the library's default client, so `useRedisPackage` (for node-redis) stays unset.
  // No `insuranceLimiter`: check() falls back to `local` itself, also when the request's
  // store deadline passes first, and an insurance would then count the call a second time.
  const shared = new RateLimiterRedis({ ...settings, storeClient: options.redis });
  return { shared, local };
}

function secondsUntil(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}

/** The decision a limiter's answer (spent points, or a refusal) stands for. */
function decisionOf(outcome: RateLimiterRes, limit: number, allowed: boolean): RateDecision {
  if (allowed) {
    return {
      allowed,
      limit,
      remaining: outcome.remainingPoints,
      resetSeconds: secondsUntil(outcome.msBeforeNext),
      retryAfterSeconds: 0,
    };
  }
  const wait = Math.max(1, secondsUntil(outcome.msBeforeNext));
  return { allowed, limit, remaining: 0, resetSeconds: wait, retryAfterSeconds: wait };
}

/** Spends one point of `key`, answering refusals as decisions; other failures throw. */
async function spend(consume: () => Promise<RateLimiterRes>, limit: number): Promise<RateDecision> {
  try {
    return decisionOf(await consume(), limit, true);
  } catch (outcome) {
    if (outcome instanceof RateLimiterRes) {
      return decisionOf(outcome, limit, false);
    }
    throw outcome;
  }
}

/**
 * Builds the limits of reference 002: a fixed one-minute window per client IP, in Redis
 * (shared by every replica) when keycard runs on Redis, else in process memory.
 *
 * The limits never fail open: while the shared counters cannot be reached (their Redis node
 * is down, or the request's store deadline passed) each replica counts in its own memory,
 * so a partial Cluster outage does not lift them. Failed credentials have their own
 * counters, which fail closed (login-guard.ts).
 */
export function createRateLimits(options: RateLimitOptions): RateLimits {
  const limiters: Record<RateLimitKind, Limiter | undefined> = {
    login: limiterFor(options, "login", options.loginPerMinute),
    auth: limiterFor(options, "auth", options.otherPerMinute),
  };

  return {
    async check(kind, ip) {
      const limiter = limiters[kind];
      if (limiter === undefined) {
        return unlimited;
      }
      // Keyed by a fingerprint: no client address is stored in Redis.
      const key = fingerprint(`ip:${ip}`);
      const limit = limiter.shared.points;
      try {
        // Counted in the request's store budget, like every other Redis call it makes.
        return await spend(() => withinRequestDeadline(() => limiter.shared.consume(key)), limit);
      } catch (error) {
        options.onError?.(error);
        return spend(() => limiter.local.consume(key), limit);
      }
    },

    headersOf(decision) {
      if (decision.limit === 0) {
        return {};
      }
      return {
        "X-RateLimit-Limit": String(decision.limit),
        "X-RateLimit-Remaining": String(decision.remaining),
        // A Unix time in seconds, as reference 002 documents it (`1704067260`).
        "X-RateLimit-Reset": String(Math.ceil(Date.now() / 1000) + decision.resetSeconds),
        ...(decision.allowed ? {} : { "Retry-After": String(decision.retryAfterSeconds) }),
      };
    },
  };
}

/**
 * The budget an RPC spends, if any. Login has its own; every other AuthService method
 * shares the "auth" one, except Validate: it is called by services on every request they
 * serve, often from one address, so it is not a per-person auth route and is not limited.
 * AdminService is not limited: it requires the administrator token.
 */
export function rateLimitKindOf(req: UnaryRequest | StreamRequest): RateLimitKind | undefined {
  if (req.service.typeName !== AuthService.typeName) {
    return undefined;
  }
  if (req.method.name === AuthService.method.login.name) {
    return "login";
  }
  return req.method.name === AuthService.method.validate.name ? undefined : "auth";
}

/** The client's IP as the server determined it for this request (see client-info.ts). */
export function clientIpOf(req: UnaryRequest | StreamRequest): string {
  return req.contextValues.get(clientInfoKey).ip;
}

/**
 * Refuses AuthService calls over their per-IP budget with ResourceExhausted, reason
 * RATE_LIMITED, a google.rpc.RetryInfo detail and the rate-limit headers; calls within the
 * budget get the headers on their response. It throws an already mapped ConnectError, so it
 * works anywhere in the chain; place it before auth so refused calls cost no store lookups.
 */
export function rateLimitInterceptor(
  limits: RateLimits,
  ipOf: (req: UnaryRequest | StreamRequest) => string = clientIpOf,
): Interceptor {
  return (next) => async (req) => {
    const kind = rateLimitKindOf(req);
    if (kind === undefined) {
      return next(req);
    }
    const decision = await limits.check(kind, ipOf(req));
    const headers = Object.entries(limits.headersOf(decision));
    if (!decision.allowed) {
      const refused = toConnectError(
        new KeycardError(
          "RATE_LIMITED",
          kind === "login"
            ? "Too many login attempts. Please try again later."
            : "Too many requests. Please try again later.",
          undefined,
          decision.retryAfterSeconds,
        ),
      );
      if (refused instanceof ConnectError) {
        for (const [name, value] of headers) {
          refused.metadata.set(name, value);
        }
      }
      throw refused;
    }
    const response = await next(req);
    for (const [name, value] of headers) {
      response.header.set(name, value);
    }
    return response;
  };
}

const headerNames = [
  "Retry-After",
  "X-RateLimit-Limit",
  "X-RateLimit-Remaining",
  "X-RateLimit-Reset",
];

/**
 * The HTTP headers a REST answer to a throttled call carries (Retry-After and the
 * X-RateLimit-* set), read from the error the RPC failed with; empty for any other error.
 */
export function rateLimitHeadersFromError(error: unknown): Record<string, string> {
  const mapped = toConnectError(error);
  if (!(mapped instanceof ConnectError) || mapped.code !== Code.ResourceExhausted) {
    return {};
  }
  const headers: Record<string, string> = {};
  for (const name of headerNames) {
    const value = mapped.metadata.get(name);
    if (value !== null) {
      headers[name] = value;
    }
  }
  const delay = mapped.findDetails(RetryInfoSchema)[0]?.retryDelay;
  if (headers["Retry-After"] === undefined && delay !== undefined) {
    headers["Retry-After"] = String(delay.seconds);
  }
  return headers;
}
