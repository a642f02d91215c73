import type { PasswordReset } from "../../domain/password-reset.js";
import type { PasswordResetStore } from "../../domain/ports.js";
import { guarded } from "./guarded.js";
import type { ScriptedRedis } from "./scripts.js";

/**
 * Pending password resets in Redis: one string key per token hash holding the reset as
 * JSON, expiring at the reset's expiry (PXAT). GETDEL takes it in one command, so of two
 * concurrent redemptions only one reads it.
 */
export class RedisPasswordResetStore implements PasswordResetStore {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keyOf: (tokenHash: string) => string,
  ) {}

  save(tokenHash: string, reset: PasswordReset): Promise<void> {
    return guarded(async () => {
      await this.redis.set(this.keyOf(tokenHash), JSON.stringify(reset), "PXAT", reset.expiresAt);
    });
  }

  take(tokenHash: string): Promise<PasswordReset | undefined> {
    return guarded(async () => {
      const json = await this.redis.getdel(this.keyOf(tokenHash));
      return json === null ? undefined : (JSON.parse(json) as PasswordReset);
    });
  }
}
