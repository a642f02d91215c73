import type { Redis } from "ioredis";
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from "rate-limiter-flexible";
import { fingerprint } from "../../domain/login-throttle.js";
import type { RateDecision, RateLimitKind, RateLimits } from "../../domain/rate-limits.js";
import { withinRequestDeadline } from "../../domain/request-deadline.js";

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
  };
}
