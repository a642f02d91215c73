import type { Cluster, Redis } from "ioredis";

/** The fewest replicas any master has, from `INFO replication` (`connected_slaves`). */
export async function fewestReplicas(redis: Redis | Cluster): Promise<number> {
  const masters = "nodes" in redis ? redis.nodes("master") : [redis];
  const counts = await Promise.all(
    masters.map(async (node) => {
      const info = await node.info("replication");
      return Number(/^connected_slaves:(\d+)/m.exec(info)?.[1] ?? 0);
    }),
  );
  return Math.min(...counts);
}
