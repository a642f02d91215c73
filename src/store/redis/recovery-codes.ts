import type { RecoveryCodeStore } from "../../domain/ports.js";
import type { DurableWrites } from "./durable-writes.js";
import { guarded } from "./guarded.js";
import type { ScriptedRedis } from "./scripts.js";

/**
 * Recovery codes in Redis: one set of hashes per user, under the user's hash tag. Each
 * change is one script on that key, so a use and a replacement never interleave and of
 * concurrent uses of one code only one removes it. Every change is durable: a used code
 * brought back by a failover could be used twice, and a replaced or deleted one would
 * work again.
 */
export class RedisRecoveryCodeStore implements RecoveryCodeStore {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keyOf: (userId: string) => string,
    private readonly durable: DurableWrites,
  ) {}

  replace(userId: string, hashes: readonly string[]): Promise<void> {
    const key = this.keyOf(userId);
    return guarded(async () => {
      await this.durable.run(key, (redis) => redis.kcReplaceSet(key, ...hashes));
    });
  }

  redeem(userId: string, hashes: readonly string[]): Promise<number | undefined> {
    if (hashes.length === 0) {
      return Promise.resolve(undefined);
    }
    const key = this.keyOf(userId);
    return guarded(async () => {
      const left = await this.durable.run(
        key,
        (redis) => redis.kcTakeMember(key, ...hashes),
        (remaining) => remaining >= 0,
      );
      return left < 0 ? undefined : left;
    });
  }

  count(userId: string): Promise<number> {
    return guarded(() => this.redis.scard(this.keyOf(userId)));
  }

  clear(userId: string): Promise<number> {
    const key = this.keyOf(userId);
    return guarded(() =>
      this.durable.run(
        key,
        (redis) => redis.kcDeleteSet(key),
        (count) => count > 0,
      ),
    );
  }
}
