import type { Redis } from "ioredis";
import { clusterOf, masterOfSlot } from "./cluster-client.js";
import { keySlot } from "./slots.js";

/**
 * Whether the Cluster node that serves `key` is connected now (always true for one Redis or
 * a Sentinel group, and for a slot the client has not mapped yet). A write that has a
 * choice of key, such as a new token's pointer, asks first instead of waiting out its
 * command timeout on a master that is down.
 */
export function servingNodeIsUp(redis: Redis, key: string): boolean {
  const cluster = clusterOf(redis);
  const serving = cluster === undefined ? undefined : masterOfSlot(cluster, keySlot(key));
  if (cluster === undefined || serving === undefined) {
    return true;
  }
  const node = cluster
    .nodes("master")
    .find(({ options }) => `${options.host}:${options.port}` === serving);
  return node?.status === "ready";
}
