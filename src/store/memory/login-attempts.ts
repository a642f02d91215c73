import type { Clock } from "../../domain/clock.js";
import {
  type FailureCount,
  type LoginCounterKey,
  noFailures,
  type WindowClaim,
} from "../../domain/login-throttle.js";
import type { LoginAttemptStore } from "../../domain/ports.js";
import { ExpiringMap } from "./expiring-map.js";

/** One failure in an account's window. */
interface WindowedFailure {
  readonly at: number;
  readonly failure: string;
}

function nameOf(key: LoginCounterKey): string {
  return `${key.kind}:${key.id}`;
}

/** Failed-login counters and windows of the embedded store, dropped like Redis keys by their TTL. */
export class MemoryLoginAttemptStore implements LoginAttemptStore {
  private readonly counts: ExpiringMap<string, FailureCount>;
  private readonly windows: ExpiringMap<string, readonly WindowedFailure[]>;

  constructor(clock: Clock) {
    this.counts = new ExpiringMap(() => clock.now());
    this.windows = new ExpiringMap(() => clock.now());
  }

  async record(keys: readonly LoginCounterKey[], at: number, retainMs: number): Promise<void> {
    for (const key of keys) {
      const name = nameOf(key);
      const before = this.counts.get(name) ?? noFailures;
      this.counts.set(
        name,
        { count: before.count + 1, firstAt: before.firstAt || at, lastAt: at },
        at + retainMs,
      );
    }
  }

  async read(keys: readonly LoginCounterKey[]): Promise<FailureCount[]> {
    return keys.map((key) => this.counts.get(nameOf(key)) ?? noFailures);
  }

  async clear(keys: readonly LoginCounterKey[]): Promise<void> {
    for (const key of keys) {
      this.counts.delete(nameOf(key));
      if (key.kind === "account") {
        this.windows.delete(key.id);
      }
    }
  }

  async claim(
    key: LoginCounterKey,
    failure: string,
    at: number,
    { windowMs, limit }: { readonly windowMs: number; readonly limit: number },
  ): Promise<WindowClaim> {
    const kept = (this.windows.get(key.id) ?? []).filter((entry) => entry.at > at - windowMs);
    const count = kept.length;
    if (limit > 0 && count >= limit) {
      const oldest = kept[count - limit]?.at ?? at;
      return { claimed: false, count, openAt: oldest + windowMs };
    }
    if (failure === "") {
      return { claimed: false, count, openAt: 0 };
    }
    const added = [...kept, { at, failure }].sort((x, y) => x.at - y.at);
    this.windows.set(key.id, added, at + windowMs);
    return { claimed: true, count, openAt: 0 };
  }

  async unclaim(key: LoginCounterKey, failure: string): Promise<void> {
    const entries = this.windows.get(key.id);
    if (entries !== undefined) {
      this.windows.replace(
        key.id,
        entries.filter((entry) => entry.failure !== failure),
      );
    }
  }

  /** Drops expired counters and windows; called periodically by the store. */
  sweep(): void {
    this.counts.sweep();
    this.windows.sweep();
  }
}
