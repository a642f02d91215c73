import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { type AddressInfo, createServer } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { KeycardError } from "../../src/domain/errors.js";
import type { RateLimits } from "../../src/domain/rate-limits.js";
import { withRequestDeadline } from "../../src/domain/request-deadline.js";
import { createRateLimits } from "../../src/store/infra/rate-limits.js";
import { waitUntilReachable } from "../../src/store/reachable.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { reasonOf, toConnectError } from "../../src/transport/handlers/errors.js";
import { rateLimitHeaders, rateLimitHeadersFromError } from "../../src/transport/rate-limit.js";

const perMinute = { loginPerMinute: 5, otherPerMinute: 30 };

async function spend(limits: RateLimits, kind: "login" | "auth", ip: string, times: number) {
  for (let call = 0; call < times; call += 1) {
    expect((await limits.check(kind, ip)).allowed).toBe(true);
  }
}

/** The behaviour every backend must have, run on memory and on Redis. */
function sharedBehaviour(build: () => RateLimits): void {
  it("refuses the 6th login in a minute from one IP and says when to retry", async () => {
    const limits = build();
    await spend(limits, "login", "203.0.113.1", 5);
    const refused = await limits.check("login", "203.0.113.1");
    expect(refused).toMatchObject({ allowed: false, limit: 5, remaining: 0 });
    expect(refused.retryAfterSeconds).toBeGreaterThan(0);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(refused.resetSeconds).toBe(refused.retryAfterSeconds);
  });

  it("counts each IP on its own", async () => {
    const limits = build();
    await spend(limits, "login", "203.0.113.2", 5);
    expect((await limits.check("login", "203.0.113.2")).allowed).toBe(false);
    expect(await limits.check("login", "2001:db8::2")).toMatchObject({
      allowed: true,
      remaining: 4,
    });
  });

  it("keeps the login budget apart from the 30 calls of the other auth routes", async () => {
    const limits = build();
    await spend(limits, "login", "203.0.113.3", 5);
    await spend(limits, "auth", "203.0.113.3", 30);
    expect(await limits.check("auth", "203.0.113.3")).toMatchObject({ allowed: false, limit: 30 });
  });

  it("counts down X-RateLimit-Remaining and adds Retry-After only once refused", async () => {
    const limits = build();
    const first = await limits.check("login", "203.0.113.4");
    const allowedHeaders = rateLimitHeaders(first);
    expect(allowedHeaders).toMatchObject({
      "X-RateLimit-Limit": "5",
      "X-RateLimit-Remaining": "4",
    });
    const nowSeconds = Math.floor(Date.now() / 1000);
    expect(Number(allowedHeaders["X-RateLimit-Reset"])).toBeGreaterThan(nowSeconds);
    expect(Number(allowedHeaders["X-RateLimit-Reset"])).toBeLessThanOrEqual(nowSeconds + 61);
    expect(allowedHeaders).not.toHaveProperty("Retry-After");
    await spend(limits, "login", "203.0.113.4", 4);
    const refused = await limits.check("login", "203.0.113.4");
    const refusedHeaders = rateLimitHeaders(refused);
    expect(refusedHeaders).toEqual({
      "X-RateLimit-Limit": "5",
      "X-RateLimit-Remaining": "0",
      "X-RateLimit-Reset": expect.stringMatching(/^\d{10}$/),
      "Retry-After": String(refused.retryAfterSeconds),
    });
    const resetAt = Number(refusedHeaders["X-RateLimit-Reset"]);
    expect(
      Math.abs(resetAt - (Math.ceil(Date.now() / 1000) + refused.resetSeconds)),
    ).toBeLessThanOrEqual(1);
  });
}

describe("rate limits in memory (the embedded store)", () => {
  sharedBehaviour(() => createRateLimits({ keyPrefix: "rl", ...perMinute }));

  it("turns a limit off when it is 0, and sends no headers for it", async () => {
    const limits = createRateLimits({ keyPrefix: "rl", loginPerMinute: 0, otherPerMinute: 0 });
    await spend(limits, "login", "203.0.113.5", 50);
    const decision = await limits.check("auth", "203.0.113.5");
    expect(decision).toMatchObject({ allowed: true, limit: 0 });
    expect(rateLimitHeaders(decision)).toEqual({});
  });
});

describe("rate limits on Redis (shared by replicas)", () => {
  const url = inject("redisUrl");
  const stores = [
    createRedisStore({ url, namespace: "unused", commandTimeoutMs: 500 }),
    createRedisStore({ url, namespace: "unused", commandTimeoutMs: 500 }),
  ] as const;
  const [first, second] = stores;
  beforeAll(async () => {
    for (const store of stores) {
      expect(await waitUntilReachable(store, 10_000)).toBe(true);
    }
  });
  afterAll(() => Promise.all(stores.map((store) => store.close())));

  /** A prefix no other test or file uses, so counts never leak between tests. */
  const ownPrefix = (): string => `test-rl-${randomUUID()}`;
  const onRedis = (store: { redis: Redis }, keyPrefix: string): RateLimits =>
    createRateLimits({ redis: store.redis, keyPrefix, ...perMinute });

  sharedBehaviour(() => onRedis(first, ownPrefix()));

  it("shares one count between two replicas with their own Redis clients", async () => {
    const keyPrefix = ownPrefix();
    const replicaA = onRedis(first, keyPrefix);
    const replicaB = onRedis(second, keyPrefix);
    await spend(replicaA, "login", "198.51.100.7", 3);
    await spend(replicaB, "login", "198.51.100.7", 2);
    expect((await replicaA.check("login", "198.51.100.7")).allowed).toBe(false);
    expect(await replicaB.check("login", "198.51.100.7")).toMatchObject({ allowed: false });
    expect((await replicaB.check("login", "198.51.100.8")).allowed).toBe(true);
  });

  it("keeps its counters under its key prefix, expiring with the window, with no address in the keys", async () => {
    const keyPrefix = ownPrefix();
    await onRedis(first, keyPrefix).check("login", "198.51.100.9");
    const keys = await first.redis.keys(`${keyPrefix}:*`);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(new RegExp(`^${keyPrefix}:login:[A-Za-z0-9_-]{22}$`));
    expect(keys.join()).not.toContain("198.51");
    const ttl = await first.redis.pttl(keys[0] ?? "");
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it("keeps limiting, in this process's memory and at once, when Redis is unreachable", async () => {
    const down = new Redis("redis://127.0.0.1:1", {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
    });
    const limits = createRateLimits({ redis: down, keyPrefix: ownPrefix(), ...perMinute });
    const started = performance.now();
    const decisions = [];
    for (let call = 0; call < 7; call += 1) {
      decisions.push(await limits.check("login", "198.51.100.10"));
    }
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(decisions.map((decision) => decision.allowed)).toEqual([
      ...Array(perMinute.loginPerMinute).fill(true),
      ...Array(7 - perMinute.loginPerMinute).fill(false),
    ]);
    expect(decisions[6]).toMatchObject({ limit: perMinute.loginPerMinute, remaining: 0 });
    expect(await limits.check("login", "198.51.100.11")).toMatchObject({ allowed: true });
    down.disconnect();
  });

  it("counts locally and reports it when the request's store deadline passes first", async () => {
    const silent = createServer(() => undefined).listen(0, "127.0.0.1");
    await once(silent, "listening");
    const redis = new Redis((silent.address() as AddressInfo).port, "127.0.0.1", {
      enableReadyCheck: false,
      maxRetriesPerRequest: 0,
    });
    await once(redis, "connect");
    const failures: unknown[] = [];
    const limits = createRateLimits({
      redis,
      keyPrefix: ownPrefix(),
      ...perMinute,
      onError: (error) => failures.push(error),
    });
    const decision = await withRequestDeadline(50, () => limits.check("login", "198.51.100.12"));
    expect(decision).toMatchObject({ allowed: true, limit: perMinute.loginPerMinute });
    expect(failures).toHaveLength(1);
    redis.disconnect();
    silent.close();
  });
});

describe("RATE_LIMITED errors", () => {
  it("map to ResourceExhausted with ErrorInfo and a RetryInfo delay in seconds", () => {
    const mapped = toConnectError(new KeycardError("RATE_LIMITED", "Slow down", undefined, 42));
    expect(mapped).toBeInstanceOf(ConnectError);
    const error = mapped as ConnectError;
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(reasonOf(error)).toBe("RATE_LIMITED");
    expect(error.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds).toBe(42n);
  });

  it("give REST the headers they carry, or at least Retry-After from RetryInfo", () => {
    const bare = new KeycardError("RATE_LIMITED", "Slow down", undefined, 12);
    expect(rateLimitHeadersFromError(bare)).toEqual({ "Retry-After": "12" });
    const withHeaders = toConnectError(bare) as ConnectError;
    withHeaders.metadata.set("x-ratelimit-limit", "5");
    withHeaders.metadata.set("x-ratelimit-remaining", "0");
    withHeaders.metadata.set("x-ratelimit-reset", "12");
    withHeaders.metadata.set("retry-after", "12");
    expect(rateLimitHeadersFromError(withHeaders)).toEqual({
      "Retry-After": "12",
      "X-RateLimit-Limit": "5",
      "X-RateLimit-Remaining": "0",
      "X-RateLimit-Reset": "12",
    });
  });

  it("give no headers for any other error", () => {
    expect(rateLimitHeadersFromError(new KeycardError("INVALID_CREDENTIALS", "No"))).toEqual({});
    expect(rateLimitHeadersFromError(new Error("boom"))).toEqual({});
  });
});
