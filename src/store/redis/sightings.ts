import type { SightingStore } from "../../domain/ports.js";
import type { Sighting, SightingKind, SightingRules } from "../../domain/sightings.js";
import { guarded } from "./guarded.js";
import type { ScriptedRedis } from "./scripts.js";

/** The letter a kind's members start with in a user's sightings key. */
const letters: Readonly<Record<SightingKind, string>> = { device: "d", location: "l" };

/**
 * Sightings in Redis: one sorted set per user under the user's hash tag, scored by when
 * each device or place was last seen. One script per login reads, records, forgets and
 * trims, so concurrent logins of a user are answered one after the other; the key expires
 * `retainMs` after the user's last login.
 */
export class RedisSightingStore implements SightingStore {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keyOf: (userId: string) => string,
  ) {}

  record(
    userId: string,
    seen: readonly Sighting[],
    at: number,
    rules: SightingRules,
  ): Promise<boolean[]> {
    if (seen.length === 0) {
      return Promise.resolve([]);
    }
    return guarded(async () => {
      const flags = await this.redis.kcRecordSightings(
        this.keyOf(userId),
        at,
        at - rules.windowMs,
        rules.perKind,
        rules.retainMs,
        ...seen.map(({ kind, value }) => `${letters[kind]}:${value}`),
      );
      return flags.map((flag) => flag === "1");
    });
  }
}
