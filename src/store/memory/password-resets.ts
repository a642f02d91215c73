import type { Clock } from "../../domain/clock.js";
import type { PasswordReset } from "../../domain/password-reset.js";
import type { PasswordResetStore } from "../../domain/ports.js";
import { ExpiringMap } from "./expiring-map.js";

/** Pending password resets of the embedded store, gone at their expiry on its clock. */
export class MemoryPasswordResetStore implements PasswordResetStore {
  private readonly resets: ExpiringMap<string, PasswordReset>;
  /** Each user's latest token hash: their only reset that works. */
  private readonly latest: ExpiringMap<string, string>;

  constructor(clock: Clock) {
    this.resets = new ExpiringMap(() => clock.now());
    this.latest = new ExpiringMap(() => clock.now());
  }

  async save(tokenHash: string, reset: PasswordReset): Promise<void> {
    this.latest.set(reset.userId, tokenHash, reset.expiresAt);
    this.resets.set(tokenHash, reset, reset.expiresAt);
  }

  async take(tokenHash: string): Promise<PasswordReset | undefined> {
    const reset = this.resets.get(tokenHash);
    this.resets.delete(tokenHash);
    return reset !== undefined && this.latest.get(reset.userId) === tokenHash ? reset : undefined;
  }

  /** Drops expired resets; called with the store's other sweeps. */
  sweep(): void {
    this.resets.sweep();
    this.latest.sweep();
  }
}
