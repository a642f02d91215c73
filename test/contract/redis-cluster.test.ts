import { afterAll, beforeAll } from "vitest";
import { testStore } from "../helpers/keycard.js";
import { type RedisClusterHandle, startRedisCluster } from "../helpers/redis-cluster.js";
import { describePasskeyContract } from "./passkey-contract.js";
import { describeRecoveryCodeContract } from "./recovery-code-contract.js";
import { describeSightingContract } from "./sighting-contract.js";
import { describeStoreContract } from "./store-contract.js";

let cluster: RedisClusterHandle | undefined;

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

/** A store on the cluster whose revocations (and recovery-code changes) wait for a replica. */
/** A store on the test cluster. */
function clusterStore() {
  if (cluster === undefined) {
    throw new Error("the test cluster did not start");
  }
  return testStore("redis", {
    redisUrl: cluster.url,
    // Revocations wait for a replica, as REDIS_WAIT_REPLICAS's default asks here; the
    // timeouts are generous, since a replica of a loaded machine may take its time to ack.
    durability: { replicas: 1, timeoutMs: 2_000 },
    commandTimeoutMs: 3_000,
  });
}

describeStoreContract("redis cluster (3 masters, 3 replicas)", clusterStore);
describeRecoveryCodeContract("redis cluster (3 masters, 3 replicas)", clusterStore);
describePasskeyContract("redis cluster (3 masters, 3 replicas)", clusterStore);
describeSightingContract("redis cluster", clusterStore);
