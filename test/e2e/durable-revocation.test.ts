import { describe, expect, it } from "vitest";
import type { Durability } from "../../src/store/redis/durable-writes.js";
import {
  createTestUser,
  type KeycardOptions,
  loginRest,
  startKeycard,
  type TestKeycard,
  testPolicy,
} from "../helpers/keycard.js";
import { type RedisSentinelGroup, startRedisSentinel } from "../helpers/redis-sentinel.js";
import { bearer, type Reply, restClient } from "../helpers/rest.js";

/** Whether `token` validates active, retrying the 503s of a failover for up to 10 s. */
async function activeAfterFailover(keycard: TestKeycard, token: string): Promise<boolean> {
  const rest = restClient(keycard.baseUrl);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const reply = await rest.post("/auth/validate", { token });
    if (reply.status === 200 || Date.now() > deadline) {
      expect(reply.status).toBe(200);
      return reply.body.active === true;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A Sentinel group and a keycard on it that acknowledges revocations after `durability`. */
async function withSentinel(
  durability: Durability,
  run: (group: RedisSentinelGroup, keycard: TestKeycard) => Promise<void>,
  options: KeycardOptions = {},
): Promise<void> {
  const group = await startRedisSentinel();
  const keycard = await startKeycard({ ...options, redisUrl: group.url, durability }).catch(
    async (error: unknown) => {
      await group.stop();
      throw error;
    },
  );
  try {
    await run(group, keycard);
  } finally {
    await keycard.close();
    await group.stop();
  }
}

/** Logs a new session in and returns its token. */
async function sessionOf(
  keycard: TestKeycard,
): Promise<{ token: string; logout(): Promise<Reply> }> {
  const user = await createTestUser(keycard);
  const token = (await loginRest(keycard, user)).session_token;
  return {
    token,
    logout: () => restClient(keycard.baseUrl).post("/auth/logout", undefined, bearer(token)),
  };
}

/**
 * Kills the master while its replica is stalled with its link dropped (so the replica has
 * nothing written since), then lets the replica go on and waits for its promotion.
 */
async function failOverToStaleReplica(group: RedisSentinelGroup): Promise<void> {
  await group.stallReplica(true, true);
  const old = await group.killMaster();
  await group.stallReplica(false);
  await group.failedOverFrom(old);
}

describe("revocations through a Sentinel failover (REDIS_WAIT_REPLICAS)", () => {
  it("never undoes an acknowledged logout, and does not acknowledge one no replica holds", async () => {
    await withSentinel({ replicas: 1, timeoutMs: 250 }, async (group, keycard) => {
      const [unconfirmed, confirmed, kept] = [
        await sessionOf(keycard),
        await sessionOf(keycard),
        await sessionOf(keycard),
      ];
      await group.replicaCaughtUp();
      await group.stallReplica(true);
      const refused = await unconfirmed.logout();
      expect(refused.status).toBe(503);
      expect(refused.body.error).toBe("STORE_UNAVAILABLE");
      expect(await activeAfterFailover(keycard, unconfirmed.token)).toBe(false);
      await group.stallReplica(false);
      await group.replicaCaughtUp();

      expect((await confirmed.logout()).status).toBe(200);
      await failOverToStaleReplica(group);
      expect(await activeAfterFailover(keycard, confirmed.token)).toBe(false);
      expect(await activeAfterFailover(keycard, kept.token)).toBe(true);
    });
  }, 90_000);

  it("logs in without waiting for a replica, unless the login ends the user's oldest session", async () => {
    const capOfOne = { policy: { ...testPolicy, maxSessionsPerUser: 1 } };
    await withSentinel(
      { replicas: 1, timeoutMs: 250 },
      async (group, keycard) => {
        const user = await createTestUser(keycard);
        const rest = restClient(keycard.baseUrl);
        const login = () =>
          rest.post("/auth/login", { email: user.email, password: user.password });
        await group.replicaCaughtUp();
        await group.stallReplica(true);
        expect((await login()).status).toBe(200);
        const capped = await login();
        expect(capped.status).toBe(503);
        expect(capped.body.error).toBe("STORE_UNAVAILABLE");
        await group.stallReplica(false);
        await group.replicaCaughtUp();
        expect((await login()).status).toBe(200);
      },
      capOfOne,
    );
  }, 90_000);

  it("without a replica's acknowledgement, a logout answered 200 comes undone by the same failover", async () => {
    await withSentinel({ replicas: 0, timeoutMs: 0 }, async (group, keycard) => {
      const session = await sessionOf(keycard);
      await group.replicaCaughtUp();
      await group.stallReplica(true, true);
      expect((await session.logout()).status).toBe(200);
      const old = await group.killMaster();
      await group.stallReplica(false);
      await group.failedOverFrom(old);
      expect(await activeAfterFailover(keycard, session.token)).toBe(true);
    });
  }, 90_000);
});
