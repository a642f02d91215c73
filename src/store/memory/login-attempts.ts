import type { Clock } from "../../domain/clock.js";
import {
  type FailureCount,
  type LoginCounterKey,
  noFailures,
} from "../../domain/login-throttle.js";
import type { LoginAttemptStore } from "../../domain/ports.js";
import { ExpiringMap } from "./expiring-map.js";

function nameOf(key: LoginCounterKey): string {
  return `${key.kind}:${key.id}`;
}

/** Failed-login counters of the embedded store, dropped like Redis keys by their TTL. */
export class MemoryLoginAttemptStore implements LoginAttemptStore {
  private readonly counts: ExpiringMap<string, FailureCount>;

  constructor(clock: Clock) {
    this.counts = new ExpiringMap(() => clock.now());
  }

  async reserve(
    keys: readonly LoginCounterKey[],
    at: number,
    retainMs: number,
  ): Promise<FailureCount[]> {
    return keys.map((key) => {
      const name = nameOf(key);
      const before = this.counts.get(name) ?? noFailures;
      this.counts.set(
        name,
        { count: before.count + 1, firstAt: before.firstAt || at, lastAt: at },
        at + retainMs,
      );
      return before;
    });
  }

  async release(keys: readonly LoginCounterKey[], before: readonly FailureCount[]): Promise<void> {
    keys.forEach((key, index) => {
      const name = nameOf(key);
      const now = this.counts.get(name);
      if (now === undefined) {
        return;
      }
      if (now.count <= 1) {
        this.counts.delete(name);
        return;
      }
      const lastAt = before[index]?.lastAt || now.lastAt;
      this.counts.replace(name, { ...now, count: now.count - 1, lastAt });
    });
  }

  async read(keys: readonly LoginCounterKey[]): Promise<FailureCount[]> {
    return keys.map((key) => this.counts.get(nameOf(key)) ?? noFailures);
  }

  async clear(keys: readonly LoginCounterKey[]): Promise<void> {
    for (const key of keys) {
      this.counts.delete(nameOf(key));
    }
  }

  /** Drops expired counters; called periodically by the store. */
  sweep(): void {
    this.counts.sweep();
  }
}
