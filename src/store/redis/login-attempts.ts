import {
  type FailureCount,
  type LoginCounterKey,
  noFailures,
  type WindowClaim,
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

/** `kcClaimFailure`'s answer: claimed (1/0), the count before, and when a full window opens. */
function decodeClaim(reply: readonly unknown[]): WindowClaim {
  const [claimed, count, openAt] = reply.map(Number);
  return { claimed: claimed === 1, count: count ?? 0, openAt: openAt ?? 0 };
}

/**
 * Failed-login counters in Redis: a hash per delay counter (`n`, `f`, `l`) and a sorted set
 * per account window (members are failures, scored by time), every command and script on a
 * single key (so the adapter also runs on Redis Cluster), and a TTL on every key.
 */
export class RedisLoginAttemptStore implements LoginAttemptStore {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: RedisKeys,
  ) {}

  record(keys: readonly LoginCounterKey[], at: number, retainMs: number): Promise<void> {
    return guarded(async () => {
      await Promise.all(
        keys.map((key) => this.redis.kcRecordFailure(this.counterOf(key), at, retainMs)),
      );
    });
  }

  read(keys: readonly LoginCounterKey[]): Promise<FailureCount[]> {
    return guarded(() =>
      Promise.all(
        keys.map(async (key) =>
          decodeCount(await this.redis.hmget(this.counterOf(key), "n", "f", "l")),
        ),
      ),
    );
  }

  clear(keys: readonly LoginCounterKey[]): Promise<void> {
    return guarded(async () => {
      await Promise.all(
        keys.map((key) =>
          this.redis.del(
            key.kind === "account" ? this.keys.loginFailureWindow(key.id) : this.counterOf(key),
          ),
        ),
      );
    });
  }

  claim(
    key: LoginCounterKey,
    failure: string,
    at: number,
    { windowMs, limit }: { readonly windowMs: number; readonly limit: number },
  ): Promise<WindowClaim> {
    return guarded(async () =>
      decodeClaim(
        await this.redis.kcClaimFailure(
          this.keys.loginFailureWindow(key.id),
          at,
          windowMs,
          limit,
          failure,
        ),
      ),
    );
  }

  unclaim(key: LoginCounterKey, failure: string): Promise<void> {
    return guarded(async () => {
      await this.redis.zrem(this.keys.loginFailureWindow(key.id), failure);
    });
  }

  private counterOf(key: LoginCounterKey): string {
    return this.keys.loginFailures(key.kind, key.id);
  }
}
