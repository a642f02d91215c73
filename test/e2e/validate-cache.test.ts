import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it } from "vitest";
import { redisKeys } from "../../src/store/redis/keys.js";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  createTestUser,
  loginRest,
  postJson,
  startKeycard,
  type TestKeycard,
} from "../helpers/keycard.js";
import { type RedisServer, startRedisServer } from "../helpers/redis-server.js";

type Json = Record<string, unknown>;

/*
 * VALIDATE_CACHE_TTL: each replica answers a token it looked up a moment ago from memory.
 * A revocation on any replica reaches the others over Redis pub/sub at once; the TTL bounds
 * what no message announces; and with Redis gone nothing validates.
 */
describe("the Validate look-up cache", () => {
  const running: TestKeycard[] = [];
  let redisServer: RedisServer | undefined;

  afterEach(async () => {
    await Promise.all(running.splice(0).map((keycard) => keycard.close()));
    await redisServer?.stop();
    redisServer = undefined;
  });

  /**
   * Resolves once `count` replicas listen on the revocation channel of `namespace`: before
   * that, a replica neither caches nor hears the others' revocations.
   */
  async function subscribed(namespace: string, count: number, redisUrl?: string): Promise<void> {
    const redis = new Redis(redisUrl ?? inject("redisUrl"));
    try {
      const channel = redisKeys(namespace).revocations();
      await expect
        .poll(async () => (await redis.pubsub("NUMSUB", channel))[1], {
          timeout: 5_000,
          interval: 10,
          message: "every replica subscribes to the revocation channel",
        })
        .toBe(count);
    } finally {
      redis.disconnect();
    }
  }

  async function replicas(
    cacheMs: number,
    count: number,
    options: { redisUrl?: string; refreshGrace?: number; clock?: FakeClock } = {},
  ): Promise<TestKeycard[]> {
    const namespace = `cache-${randomUUID()}`;
    const started = await Promise.all(
      Array.from({ length: count }, () =>
        startKeycard({
          namespace,
          validateCacheMs: cacheMs,
          ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
          ...(options.clock === undefined ? {} : { clock: options.clock }),
          ...(options.refreshGrace === undefined
            ? {}
            : { policy: { refreshGrace: options.refreshGrace } }),
        }),
      ),
    );
    running.push(...started);
    await subscribed(namespace, count, options.redisUrl);
    return started;
  }

  async function validate(keycard: TestKeycard, token: string): Promise<Json & { status: number }> {
    const reply = await postJson(`${keycard.baseUrl}/keycard.v1.AuthService/Validate`, { token });
    return { ...reply.body, status: reply.status };
  }

  it("ends a token on every replica at once when one replica revokes it", async () => {
    const [a, b] = (await replicas(60_000, 2)) as [TestKeycard, TestKeycard];
    const user = await createTestUser(a);
    const login = await loginRest(a, user);
    expect((await validate(b, login.session_token)).active).toBe(true);
    const logout = await postJson(
      `${a.baseUrl}/auth/logout`,
      {},
      {
        authorization: `Bearer ${login.session_token}`,
      },
    );
    expect(logout.status).toBe(200);
    await expect
      .poll(async () => (await validate(b, login.session_token)).active, { timeout: 1_000 })
      .toBe(false);
  });

  it("answers a token it saw from memory, for no longer than the TTL", async () => {
    const clock = new FakeClock();
    const namespace = `cache-${randomUUID()}`;
    const keycard = await startKeycard({ namespace, validateCacheMs: 400, clock });
    running.push(keycard);
    await subscribed(namespace, 1);
    const user = await createTestUser(keycard);
    const login = await loginRest(keycard, user);
    expect((await validate(keycard, login.session_token)).active).toBe(true);
    const redis = new Redis(inject("redisUrl"));
    try {
      // What a revocation does: the user's index no longer lists the session.
      const indexes = await redis.keys(`cache-*:{u:${user.id}}:sessions`);
      expect(indexes).toHaveLength(1);
      await redis.del(...indexes);
    } finally {
      redis.disconnect();
    }
    expect((await validate(keycard, login.session_token)).active).toBe(true);
    clock.advance(399);
    expect((await validate(keycard, login.session_token)).active).toBe(true);
    clock.advance(2);
    expect(await validate(keycard, login.session_token)).toMatchObject({
      active: false,
      reason: "INACTIVE_REASON_REVOKED",
    });
  });

  it("drops a rotated-out token everywhere after the grace, and sees its reuse", async () => {
    const clock = new FakeClock();
    const [a, b] = (await replicas(60_000, 2, { refreshGrace: 200, clock })) as [
      TestKeycard,
      TestKeycard,
    ];
    const user = await createTestUser(a);
    const login = await loginRest(a, user);
    expect((await validate(b, login.session_token)).active).toBe(true);
    const refreshed = await postJson(
      `${a.baseUrl}/auth/refresh`,
      {},
      {
        authorization: `Bearer ${login.session_token}`,
      },
    );
    expect(refreshed.status).toBe(200);
    expect((await validate(b, login.session_token)).active).toBe(true);
    clock.advance(200);
    expect((await validate(b, login.session_token)).active).toBe(false);
    expect((await validate(b, String(refreshed.body.session_token))).active).toBe(false);
  });

  it("writes a use once per touch interval however many cached hits follow it", async () => {
    redisServer = await startRedisServer();
    const namespace = `cache-${randomUUID()}`;
    const clock = new FakeClock();
    const keycard = await startKeycard({
      namespace,
      redisUrl: redisServer.url,
      validateCacheMs: 60_000,
      policy: { touchInterval: 500 },
      clock,
    });
    running.push(keycard);
    await subscribed(namespace, 1, redisServer.url);
    const user = await createTestUser(keycard);
    const login = await loginRest(keycard, user);
    expect((await validate(keycard, login.session_token)).active).toBe(true);
    clock.advance(500);
    const redis = new Redis(redisServer.url);
    try {
      // Every script call (EVALSHA, or EVAL when the script is not loaded yet) is a write.
      const scriptCalls = async (): Promise<number> => {
        const stats = await redis.info("commandstats");
        return [...stats.matchAll(/cmdstat_eval(?:sha)?:calls=(\d+)/g)].reduce(
          (sum, match) => sum + Number(match[1]),
          0,
        );
      };
      const before = await scriptCalls();
      for (let i = 0; i < 50; i += 1) {
        expect((await validate(keycard, login.session_token)).active).toBe(true);
      }
      expect((await scriptCalls()) - before).toBe(1);
    } finally {
      redis.disconnect();
    }
  });

  it("validates nothing once Redis is gone, even a token it saw a moment ago", async () => {
    redisServer = await startRedisServer();
    const [keycard] = (await replicas(60_000, 1, { redisUrl: redisServer.url })) as [TestKeycard];
    const user = await createTestUser(keycard);
    const login = await loginRest(keycard, user);
    expect((await validate(keycard, login.session_token)).active).toBe(true);
    await redisServer.stop();
    const reply = await validate(keycard, login.session_token);
    expect(reply.status).toBe(503);
    expect(reply).toMatchObject({ code: "unavailable" });
  });
});
