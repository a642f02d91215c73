import { Cluster } from "ioredis";
import type { SessionShard } from "./keys.js";
import type { ScriptedRedis } from "./scripts.js";

/**
 * Reads over every session bookkeeping shard: one Redis holds one, read directly; a
 * Cluster one per slot, read with one script per node over the slots it serves, so that a
 * gauge or a sweep costs a command per node rather than 16,384.
 */
export class ShardReads {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly shards: () => readonly SessionShard[],
  ) {}

  /** The live count of every shard, summed. */
  async countLive(): Promise<number> {
    const counts = await Promise.all(
      this.byNode().map(async (group) => {
        const [first] = group;
        if (group.length === 1 && first !== undefined) {
          return Number((await this.redis.get(first.live)) ?? 0);
        }
        return this.redis.kcSumCounts(first?.live ?? "", ...group.map((shard) => shard.live));
      }),
    );
    return counts.reduce((sum, count) => sum + count, 0);
  }

  /**
   * Up to `limit` users with a session expiry due by `now`. A node that fails is left for
   * the next sweep while the others are swept; only when every node fails does it throw.
   */
  async dueOwners(now: number, limit: number): Promise<string[]> {
    const found = await Promise.allSettled(
      this.byNode().map((group) => this.dueOn(group, now, limit)),
    );
    const failed = found.find((result) => result.status === "rejected");
    if (failed !== undefined && found.every((result) => result.status === "rejected")) {
      throw failed.reason;
    }
    return found
      .flatMap((result) => (result.status === "fulfilled" ? result.value : []))
      .slice(0, limit);
  }

  private dueOn(group: readonly SessionShard[], now: number, limit: number): Promise<string[]> {
    const [first] = group;
    if (group.length === 1 && first !== undefined) {
      return this.redis.zrangebyscore(first.owners, "-inf", now, "LIMIT", 0, limit);
    }
    return this.redis.kcDueOwners(
      first?.owners ?? "",
      now,
      limit,
      ...group.map((shard) => shard.owners),
    );
  }

  /** The shards grouped by the Cluster node that serves their slot (one group otherwise). */
  private byNode(): (readonly SessionShard[])[] {
    const shards = this.shards();
    const cluster: unknown = this.redis;
    if (!(cluster instanceof Cluster) || shards.length === 1) {
      return [shards];
    }
    const groups = new Map<string, SessionShard[]>();
    shards.forEach((shard, slot) => {
      const node = cluster.slots[slot]?.[0] ?? "";
      const group = groups.get(node);
      if (group === undefined) {
        groups.set(node, [shard]);
      } else {
        group.push(shard);
      }
    });
    return [...groups.values()];
  }
}
