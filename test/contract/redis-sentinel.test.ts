import { afterAll, beforeAll } from "vitest";
import { testStore } from "../helpers/keycard.js";
import { type RedisSentinelGroup, startRedisSentinel } from "../helpers/redis-sentinel.js";
import { describeStoreContract } from "./store-contract.js";

let group: RedisSentinelGroup | undefined;

beforeAll(async () => {
  group = await startRedisSentinel();
}, 60_000);

afterAll(async () => {
  await group?.stop();
});

describeStoreContract("redis sentinel (master, replica, 3 sentinels)", () => {
  if (group === undefined) {
    throw new Error("the test Sentinel group did not start");
  }
  return testStore("redis", {
    redisUrl: group.url,
    // Revocations wait for a replica, as REDIS_WAIT_REPLICAS's default asks here; the
    // timeouts are generous, since a replica of a loaded machine may take its time to ack.
    durability: { replicas: 1, timeoutMs: 2_000 },
    commandTimeoutMs: 3_000,
  });
});
