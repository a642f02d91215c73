import type { Clock } from "../../domain/clock.js";
import type { SightingStore } from "../../domain/ports.js";
import type { Sighting, SightingKind, SightingRules } from "../../domain/sightings.js";
import { ExpiringMap } from "./expiring-map.js";

/** One user's sightings: when each was last seen, and which kinds ever were. */
interface UserSightings {
  readonly lastSeen: Map<string, { readonly kind: SightingKind; readonly at: number }>;
  readonly kinds: Set<SightingKind>;
}

/** A sighting's name in a user's map: its kind, then its value. */
function nameOf(sighting: Sighting): string {
  return `${sighting.kind}:${sighting.value}`;
}

/**
 * The embedded store's sightings, by user; a user's are dropped `retainMs` after their
 * last login, like the Redis key's expiry. Each call runs to its end before another starts,
 * so a user's record is atomic here by construction.
 */
export class MemorySightingStore implements SightingStore {
  private readonly users: ExpiringMap<string, UserSightings>;

  constructor(private readonly clock: Clock) {
    this.users = new ExpiringMap(() => clock.now());
  }

  async record(
    userId: string,
    seen: readonly Sighting[],
    at: number,
    rules: SightingRules,
  ): Promise<boolean[]> {
    if (seen.length === 0) {
      return [];
    }
    const user = this.users.get(userId) ?? { lastSeen: new Map(), kinds: new Set() };
    const horizon = at - rules.windowMs;
    const fresh = seen.map(
      (sighting) =>
        user.kinds.has(sighting.kind) &&
        (user.lastSeen.get(nameOf(sighting))?.at ?? Number.NEGATIVE_INFINITY) < horizon,
    );
    for (const sighting of seen) {
      const last = user.lastSeen.get(nameOf(sighting))?.at ?? at;
      user.lastSeen.set(nameOf(sighting), { kind: sighting.kind, at: Math.max(last, at) });
      user.kinds.add(sighting.kind);
    }
    forgetOld(user, horizon, rules.perKind);
    this.users.set(userId, user, this.clock.now() + rules.retainMs);
    return fresh;
  }

  /** Drops the sightings of users gone for longer than their retention. */
  sweep(): void {
    this.users.sweep();
  }
}

/** Forgets sightings seen last before `horizon`, and all but the newest `perKind` of each kind. */
function forgetOld(user: UserSightings, horizon: number, perKind: number): void {
  const newestFirst = [...user.lastSeen].sort(([, a], [, b]) => b.at - a.at);
  const counts = new Map<SightingKind, number>();
  for (const [name, { kind, at }] of newestFirst) {
    const count = (counts.get(kind) ?? 0) + 1;
    counts.set(kind, count);
    if (at < horizon || count > perKind) {
      user.lastSeen.delete(name);
    }
  }
}
