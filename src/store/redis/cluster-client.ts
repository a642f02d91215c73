import { Cluster, type Redis } from "ioredis";

/**
 * The Cluster client behind a store connection, or undefined for one Redis or a Sentinel
 * group (a Cluster client is typed as `Redis` throughout the store; see connection.ts).
 */
export function clusterOf(redis: Redis): Cluster | undefined {
  const client: unknown = redis;
  return client instanceof Cluster ? client : undefined;
}

/** The `host:port` of the master serving `slot`, as the client's slot map has it. */
export function masterOfSlot(cluster: Cluster, slot: number): string | undefined {
  return cluster.slots[slot]?.[0];
}

/**
 * Pings the store: one Redis or Sentinel group's master, or, once the Cluster client knows
 * the slots, any master of the Cluster (with one master down it still answers for the
 * others' slots: degraded, not down).
 */
export async function pingAnyMaster(redis: Redis): Promise<void> {
  const cluster = clusterOf(redis);
  if (cluster === undefined || cluster.status !== "ready") {
    await redis.ping();
    return;
  }
  await Promise.any(cluster.nodes("master").map((node) => node.ping()));
}
