import { clusterOf, masterOfSlot } from "./cluster-client.js";
import type { RedisKeys, SessionShard } from "./keys.js";
import type { ScriptedRedis } from "./scripts.js";

/** Users due for the sweep: from the shards, and from keycard 0.1.0's single shard. */
export interface DueOwners {
  readonly users: string[];
  readonly unsharded: string[];
}

/**
 * Reads over every session bookkeeping shard, with one script per Redis node over the slots
 * it serves, so that a gauge or a sweep costs a command per node rather than 16,384; the
 * single shard of keycard 0.1.0 is read beside them.
 */
export class ShardReads {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly keys: RedisKeys,
  ) {}

  /** The live count of every shard, summed. */
  async countLive(): Promise<number> {
    const [unsharded, ...counts] = await Promise.all([
      this.redis.get(this.keys.unshardedBookkeeping().live),
      ...this.byNode().map((group) =>
        this.redis.kcSumCounts(group[0]?.live ?? "", ...group.map((shard) => shard.live)),
      ),
    ]);
    return counts.reduce((sum: number, count) => sum + Number(count), Number(unsharded ?? 0));
  }

  /**
   * Up to `limit` users with a session expiry due by `now`. A node that fails is left for
   * the next sweep while the others are swept; only when every node fails does it throw.
   */
  async dueOwners(now: number, limit: number): Promise<DueOwners> {
    const found = await Promise.allSettled([
      this.redis.zrangebyscore(
        this.keys.unshardedBookkeeping().owners,
        "-inf",
        now,
        "LIMIT",
        0,
        limit,
      ),
      ...this.byNode().map((group) =>
        this.redis.kcDueOwners(
          group[0]?.owners ?? "",
          now,
          limit,
          ...group.map((shard) => shard.owners),
        ),
      ),
    ]);
    const failed = found.find((result) => result.status === "rejected");
    if (failed !== undefined && found.every((result) => result.status === "rejected")) {
      throw failed.reason;
    }
    const [unsharded = [], ...sharded] = found.map((result) =>
      result.status === "fulfilled" ? result.value : [],
    );
    const users = [...new Set([...unsharded, ...sharded.flat()])].slice(0, limit);
    const chosen = new Set(users);
    return { users, unsharded: unsharded.filter((user) => chosen.has(user)) };
  }

  /** The shards grouped by the Cluster node that serves their slot (one group otherwise). */
  private byNode(): (readonly SessionShard[])[] {
    const shards = this.keys.shards();
    const cluster = clusterOf(this.redis);
    if (cluster === undefined) {
      return [shards];
    }
    const groups = new Map<string, SessionShard[]>();
    shards.forEach((shard, slot) => {
      const node = masterOfSlot(cluster, slot) ?? "";
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
