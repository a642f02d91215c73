import { Cluster } from "ioredis";
import { keySlot } from "./slots.js";

/**
 * Whether the Cluster node that serves `key` is connected now (always true for one Redis or
 * a Sentinel group, and for a slot the client has not mapped yet). A write that has a
 * choice of key, such as a new token's pointer, asks first instead of waiting out its
 * command timeout on a master that is down.
 */
export function servingNodeIsUp(redis: unknown, key: string): boolean {
  if (!(redis instanceof Cluster)) {
    return true;
  }
  const serving = redis.slots[keySlot(key)]?.[0];
  if (serving === undefined) {
    return true;
  }
  const node = redis
    .nodes("master")
    .find(({ options }) => `${options.host}:${options.port}` === serving);
  return node?.status === "ready";
}
