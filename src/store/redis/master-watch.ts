import type { Cluster, Redis } from "ioredis";
import { clusterOf, masterOfSlot } from "./cluster-client.js";

/** The master or masters keycard writes to changed: the addresses now and before. */
export interface MasterChange {
  readonly masters: readonly string[];
  readonly previous: readonly string[];
}

/**
 * Calls `onChange` when the Redis keycard writes to is a different node than before: a
 * Sentinel failover (the connection is ready on another address) or a Cluster whose slot
 * map names other masters after a refresh. The first sighting is not a change.
 */
export function watchMasters(redis: Redis, onChange: (change: MasterChange) => void): void {
  let previous: readonly string[] | undefined;
  const seen = (masters: readonly string[]): void => {
    if (masters.length === 0) {
      return;
    }
    if (previous !== undefined && masters.join(",") !== previous.join(",")) {
      onChange({ masters, previous });
    }
    previous = masters;
  };
  const cluster = clusterOf(redis);
  if (cluster !== undefined) {
    cluster.on("refresh", () => seen(clusterMasters(cluster)));
  } else {
    redis.on("ready", () => seen(connectedAddress(redis)));
  }
}

function clusterMasters(cluster: Cluster): string[] {
  return [...new Set(cluster.slots.map((_, slot) => masterOfSlot(cluster, slot)))]
    .filter((node): node is string => node !== undefined)
    .sort();
}

function connectedAddress(redis: Redis): string[] {
  const { remoteAddress, remotePort } = redis.stream ?? {};
  return remoteAddress === undefined ? [] : [`${remoteAddress}:${remotePort}`];
}
