import type { PasswordReset } from "../../domain/password-reset.js";
import type { PasswordResetStore } from "../../domain/ports.js";
import type { DurableWrites } from "./durable-writes.js";
import { guarded } from "./guarded.js";
import type { RedisKeys } from "./keys.js";
import type { ScriptedRedis } from "./scripts.js";

/**
 * Pending password resets in Redis: one string key per token hash holding the reset as
 * JSON, and per user the hash of their latest token, both expiring at the reset's expiry
 * (PXAT). GETDEL takes a reset in one command, so of two concurrent redemptions only one
 * reads it. Both writes wait for the replicas (REDIS_WAIT_REPLICAS), so a failover brings
 * back neither a redeemed token nor one a newer reset replaced.
 */
export class RedisPasswordResetStore implements PasswordResetStore {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: Pick<RedisKeys, "passwordReset" | "latestPasswordReset">,
    private readonly durable: DurableWrites,
  ) {}

  /** Names the token its user's latest first: if filing it then fails, no older one works. */
  save(tokenHash: string, reset: PasswordReset): Promise<void> {
    return guarded(async () => {
      const latest = this.keys.latestPasswordReset(reset.userId);
      await this.durable.run(latest, (redis) =>
        redis.set(latest, tokenHash, "PXAT", reset.expiresAt),
      );
      const key = this.keys.passwordReset(tokenHash);
      await this.durable.run(key, (redis) =>
        redis.set(key, JSON.stringify(reset), "PXAT", reset.expiresAt),
      );
    });
  }

  take(tokenHash: string): Promise<PasswordReset | undefined> {
    return guarded(async () => {
      const key = this.keys.passwordReset(tokenHash);
      const json = await this.durable.run(
        key,
        (redis) => redis.getdel(key),
        (taken) => taken !== null,
      );
      if (json === null) {
        return undefined;
      }
      const reset = JSON.parse(json) as PasswordReset;
      const latest = await this.redis.get(this.keys.latestPasswordReset(reset.userId));
      return latest === tokenHash ? reset : undefined;
    });
  }
}
