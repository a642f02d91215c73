import {
  type FailureCount,
  type LoginCounterKey,
  noFailures,
} from "../../domain/login-throttle.js";
import type { LoginAttemptStore } from "../../domain/ports.js";
import { guarded } from "./guarded.js";
import type { RedisKeys } from "./keys.js";
import type { ScriptedRedis } from "./scripts.js";

/** A counter's hash fields: count, first and last failure (epoch ms). */
function decodeCount(fields: readonly unknown[] | undefined): FailureCount {
  const [count, firstAt, lastAt] = (fields ?? []).map((field) => Number(field ?? 0));
  if (count === undefined || !(count > 0)) {
    return noFailures;
  }
  return { count, firstAt: firstAt ?? 0, lastAt: lastAt ?? 0 };
}

/**
 * Failed-login counters in Redis: one hash per counter (`n`, `f`, `l`), every command and
 * script on a single key (so the adapter also runs on Redis Cluster), and a TTL on every key.
 */
export class RedisLoginAttemptStore implements LoginAttemptStore {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: RedisKeys,
  ) {}

  reserve(keys: readonly LoginCounterKey[], at: number, retainMs: number): Promise<FailureCount[]> {
    return guarded(() =>
      Promise.all(
        keys.map(async (key) =>
          decodeCount(await this.redis.kcReserveFailure(this.nameOf(key), at, retainMs)),
        ),
      ),
    );
  }

  release(keys: readonly LoginCounterKey[], before: readonly FailureCount[]): Promise<void> {
    return guarded(async () => {
      await Promise.all(
        keys.map((key, index) =>
          this.redis.kcReleaseFailure(this.nameOf(key), before[index]?.lastAt ?? 0),
        ),
      );
    });
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

  private nameOf(key: LoginCounterKey): string {
    return this.keys.loginFailures(key.kind, key.id);
  }
}
