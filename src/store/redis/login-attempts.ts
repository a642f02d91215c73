import type { Redis } from "ioredis";
import { StoreUnavailableError } from "../../domain/errors.js";
import {
  type FailureCount,
  type LoginCounterKey,
  noFailures,
} from "../../domain/login-throttle.js";
import type { LoginAttemptStore } from "../../domain/ports.js";
import type { RedisKeys } from "./keys.js";

/** Turns any Redis failure into the store's one typed, retryable error. */
async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw new StoreUnavailableError({ cause: error });
  }
}

/** A counter's hash fields: count, first and last failure (epoch ms). */
function decodeCount(fields: readonly unknown[] | undefined): FailureCount {
  const [count, firstAt, lastAt] = (fields ?? []).map((field) => Number(field ?? 0));
  if (count === undefined || !(count > 0)) {
    return noFailures;
  }
  return { count, firstAt: firstAt ?? 0, lastAt: lastAt ?? 0 };
}

/**
 * Failed-login counters in Redis: one hash per counter (`n`, `f`, `l`), every command on a
 * single key (so the adapter also runs on Redis Cluster), and a TTL on every key.
 */
export class RedisLoginAttemptStore implements LoginAttemptStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  recordFailure(
    keys: readonly LoginCounterKey[],
    at: number,
    retainMs: number,
  ): Promise<FailureCount[]> {
    return guarded(() => Promise.all(keys.map((key) => this.recordOne(key, at, retainMs))));
  }

  read(keys: readonly LoginCounterKey[]): Promise<FailureCount[]> {
    return guarded(() =>
      Promise.all(
        keys.map(async (key) =>
          decodeCount(await this.redis.hmget(this.nameOf(key), "n", "f", "l")),
        ),
      ),
    );
  }

  clear(keys: readonly LoginCounterKey[]): Promise<void> {
    return guarded(async () => {
      await Promise.all(keys.map((key) => this.redis.del(this.nameOf(key))));
    });
  }

  private async recordOne(
    key: LoginCounterKey,
    at: number,
    retainMs: number,
  ): Promise<FailureCount> {
    const name = this.nameOf(key);
    const replies = await this.redis
      .multi()
      .hincrby(name, "n", 1)
      .hsetnx(name, "f", at)
      .hset(name, "l", at)
      .pexpire(name, retainMs)
      .hmget(name, "n", "f", "l")
      .exec();
    const last = replies?.at(-1);
    if (replies === null || last === undefined) {
      throw new Error("the failed-login counter transaction was aborted");
    }
    const failed = replies.find(([error]) => error !== null);
    if (failed !== undefined) {
      throw failed[0];
    }
    return decodeCount(last[1] as unknown[]);
  }

  private nameOf(key: LoginCounterKey): string {
    return this.keys.loginFailures(key.kind, key.id);
  }
}
