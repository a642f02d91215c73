import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fingerprint } from "../../src/domain/login-throttle.js";
import { testAdminToken } from "../helpers/keycard.js";
import { killStarted, startMain, waitFor } from "../helpers/process.js";
import {
  clusterLayout,
  type RedisClusterHandle,
  startRedisCluster,
} from "../helpers/redis-cluster.js";
import { restClient } from "../helpers/rest.js";

describe("LOGIN_RATE_LIMIT on a Redis Cluster whose shard holding the counter is down", () => {
  let cluster: RedisClusterHandle | undefined;

  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 60_000);
  afterAll(async () => {
    killStarted();
    await cluster?.stop();
  });

  it("keeps limiting an address in the replica's memory instead of letting its logins through", async () => {
    const running = cluster as RedisClusterHandle;
    const prefix = `cluster-limit-${randomUUID()}`;
    const started = startMain({
      REDIS_URL: running.url,
      REDIS_KEY_PREFIX: prefix,
      KEYCARD_ADMIN_TOKEN: testAdminToken,
      KEYCARD_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString("hex"),
      LOGIN_RATE_LIMIT: "5",
    });
    const port = Number((await waitFor(started, /"port":(\d+).*keycard listening/))[1]);
    const counter = `${prefix}:ratelimit:login:${fingerprint("ip:127.0.0.1")}`;
    const [master = 0] = await running.masters();
    const shard = (await clusterLayout(master)).shardOf(counter);
    expect(shard).toHaveLength(2);
    for (const node of shard) {
      await running.kill(node);
    }
    const rest = restClient(`http://127.0.0.1:${port}`);
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 7; attempt += 1) {
      const reply = await rest.post("/auth/login", {
        email: "nobody@example.com",
        password: "not the password",
      });
      statuses.push(reply.status);
    }
    expect(statuses.slice(0, 5)).not.toContain(429);
    expect(statuses.slice(5)).toEqual([429, 429]);
    // One warning for the seven calls counted locally, not one per call.
    const warnings = started.output().match(/rate limiter's Redis counters unavailable/g) ?? [];
    expect(warnings).toHaveLength(1);
  }, 60_000);
});
