import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import type { Store } from "../../src/domain/ports.js";
import { newId } from "../../src/domain/token.js";
import type { UserRecord } from "../../src/domain/user.js";
import { redisKeys, type SessionShard } from "../../src/store/redis/keys.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { testStore } from "../helpers/keycard.js";
import { describePasskeyContract } from "./passkey-contract.js";
import { describePasswordResetContract } from "./password-reset-contract.js";
import { describeRecoveryCodeContract } from "./recovery-code-contract.js";
import { describeSightingContract } from "./sighting-contract.js";
import { describeSigningKeyContract } from "./signing-key-contract.js";
import {
  describeStoreContract,
  makeSession,
  makeUser,
  newTokenHash,
  untilExpiry,
  untilReady,
} from "./store-contract.js";

describeStoreContract("redis", () => testStore("redis"));
describeSigningKeyContract("redis", () => testStore("redis"));
describePasswordResetContract("redis", () => testStore("redis"));
describeRecoveryCodeContract("redis", () => testStore("redis"));
describePasskeyContract("redis", () => testStore("redis"));
describeSightingContract("redis", () => testStore("redis"));

describe("the redis store's keys", () => {
  let redis: Redis;
  let namespace: string;
  let store: Store;

  beforeAll(() => {
    redis = new Redis(inject("redisUrl"));
  });

  afterAll(async () => {
    await redis.quit();
  });

  beforeEach(async () => {
    namespace = `test-${randomUUID()}`;
    store = createRedisStore({ url: inject("redisUrl"), namespace, commandTimeoutMs: 500 });
    await untilReady(store);
  });

  afterEach(async () => {
    await store.close();
  });

  /** Every key of this test's namespace, sorted. */
  async function allKeys(): Promise<string[]> {
    return (await redis.keys(`${namespace}:*`)).sort();
  }

  /**
   * The keys of this namespace other than session records and token links, which are kept
   * until their retention ends; the records of ended sessions must be tombstones by then
   * (their user and expiry only).
   */
  async function keysBesidesRetained(): Promise<string[]> {
    const records = (await allKeys()).filter((key) => key.startsWith(`${namespace}:s:`));
    for (const record of records) {
      const fields = Object.keys(await redis.hgetall(record)).sort();
      expect([["ea", "u"], ["i"]], record).toContainEqual(fields);
    }
    return (await allKeys()).filter((key) => !records.includes(key));
  }

  /** The index of every user of this namespace, by creation time. */
  function usersIndex(): string {
    return `${namespace}:users`;
  }

  /** The keys kept for good once a user exists: the record, the email claim, the users index. */
  function permanentKeysOf(user: UserRecord): string[] {
    return [
      `${namespace}:email:${user.email}`,
      `${namespace}:{u:${user.id}}:user`,
      usersIndex(),
    ].sort();
  }

  /** The keys that count the user's sessions and file them for the sweep. */
  function shardOf(user: UserRecord): SessionShard {
    return redisKeys(namespace).shardOf(user.id);
  }

  /** The permanent keys once sessions have existed: the live count of the user's shard joins them. */
  function keptAfterSessions(user: UserRecord): string[] {
    return [...permanentKeysOf(user), shardOf(user).live].sort();
  }

  /** What a running keycard does every 15 s: takes sessions expired by `now` off the indexes. */
  async function sweep(now = Date.now()): Promise<void> {
    await store.sessions.sweepExpired(now, 1_000);
  }

  /** The session records and token links of this namespace (all under `s:`). */
  async function retainedKeys(): Promise<string[]> {
    return (await allKeys()).filter((key) => key.startsWith(`${namespace}:s:`));
  }

  async function givenUser(fields: Partial<UserRecord> = {}): Promise<UserRecord> {
    const user = makeUser(fields);
    expect(await store.users.create(user)).toBe(true);
    return user;
  }

  it("gives every key a deadline but the user's record, email claim, users index, live count and the owners a sweep keeps", async () => {
    const user = await givenUser();
    const session = makeSession(user);
    expect(await store.sessions.create(session, session.expiresAt + 60_000)).toBe(true);
    const permanent = [...keptAfterSessions(user), shardOf(user).owners];
    const keys = await allKeys();
    expect(keys).toEqual(expect.arrayContaining(permanent));
    expect(keys.length).toBeGreaterThan(permanent.length);
    for (const key of keys) {
      const ttl = await redis.pttl(key);
      if (permanent.includes(key)) {
        expect(ttl, key).toBe(-1);
      } else {
        expect(ttl, key).toBeGreaterThan(0);
      }
    }
  });

  it("leaves only the permanent keys once every session and pointer has expired and a sweep ran", async () => {
    const user = await givenUser();
    const start = Date.now();
    const plain = makeSession(user, { expiresAt: start + 300 });
    const revoked = makeSession(user, { expiresAt: start + 300 });
    const refreshed = makeSession(user, { expiresAt: start + 300 });
    for (const session of [plain, revoked, refreshed]) {
      expect(await store.sessions.create(session, start + 700)).toBe(true);
    }
    expect(await store.sessions.revoke(user.id, revoked.id)).toBe(true);
    const next = {
      ...refreshed,
      tokenHash: newTokenHash(),
      previousTokenHash: refreshed.tokenHash,
      graceUntil: start + 350,
      expiresAt: start + 400,
    };
    expect(await store.sessions.rotate(next, refreshed.tokenHash, start + 800)).toBe(true);
    expect(await store.sessions.list(user.id, Date.now())).toHaveLength(2);

    // Touched once Redis has seen both live sessions expire, before their retention ends.
    const live = async (): Promise<boolean[]> => {
      const found = await Promise.all([plain, next].map((s) => store.sessions.lookup(s.tokenHash)));
      return found.map((lookup) => lookup.session !== undefined);
    };
    await expect
      .poll(live, { ...untilExpiry, message: "both live sessions expire" })
      .toEqual([false, false]);
    await store.sessions.touch(user.id, plain.id, Date.now());
    await store.sessions.touch(user.id, revoked.id, Date.now());
    await store.sessions.touch(user.id, next.id, Date.now());

    await expect
      .poll(retainedKeys, { ...untilExpiry, message: "records and links go at their retention" })
      .toEqual([]);
    // The sweep runs periodically and leaves a node that timed out for its next round, as
    // a loaded machine makes it do now and then: sweep until it has cleared, with a deadline.
    const swept = async (): Promise<string[]> => {
      await sweep();
      return allKeys();
    };
    await expect
      .poll(swept, { ...untilExpiry, message: "a sweep leaves only the permanent keys" })
      .toEqual(keptAfterSessions(user));
    expect(await store.sessions.countLive()).toBe(0);
  });

  it("drops the session index with the last live session even when a longer one was revoked", async () => {
    const user = await givenUser();
    const start = Date.now();
    const short = makeSession(user, { expiresAt: start + 300 });
    const long = makeSession(user, { expiresAt: start + 60_000 });
    expect(await store.sessions.create(short, short.expiresAt + 60_000)).toBe(true);
    expect(await store.sessions.create(long, long.expiresAt + 60_000)).toBe(true);
    expect(await store.sessions.revoke(user.id, long.id)).toBe(true);

    await sweep(start + 500);
    expect(await keysBesidesRetained()).toEqual(keptAfterSessions(user));
  });

  it("drops the session index with its session when a rotation moved the deadline earlier", async () => {
    const user = await givenUser();
    const start = Date.now();
    const session = makeSession(user, { expiresAt: start + 60_000 });
    expect(await store.sessions.create(session, session.expiresAt + 60_000)).toBe(true);
    const next = {
      ...session,
      tokenHash: newTokenHash(),
      previousTokenHash: session.tokenHash,
      graceUntil: start + 200,
      expiresAt: start + 300,
    };
    expect(await store.sessions.rotate(next, session.tokenHash, next.expiresAt + 60_000)).toBe(
      true,
    );

    await sweep(start + 500);
    expect(await keysBesidesRetained()).toEqual(keptAfterSessions(user));
  });

  it("writes nothing for a session refused to a disabled user", async () => {
    const user = await givenUser();
    await store.users.update(user.id, { disabled: true });
    const session = makeSession(user);
    expect(await store.sessions.create(session, session.expiresAt)).toBe(false);
    expect(await allKeys()).toEqual(permanentKeysOf(user));
  });

  it("still sweeps and counts the sessions keycard 0.1.0 filed in its single shard", async () => {
    const user = await givenUser();
    const start = Date.now();
    const session = makeSession(user, { expiresAt: start + 300 });
    expect(await store.sessions.create(session, start + 700)).toBe(true);
    // Filed as 0.1.0 filed it: owner and count in the single shard, not in the user's.
    const unsharded = redisKeys(namespace).unshardedBookkeeping();
    await redis.zrem(shardOf(user).owners, user.id);
    await redis.decr(shardOf(user).live);
    await redis.zadd(unsharded.owners, session.expiresAt, user.id);
    await redis.set(unsharded.live, "1");
    expect(await store.sessions.countLive()).toBe(1);

    const swept = await store.sessions.sweepExpired(start + 500, 100);
    expect(swept.map((expired) => expired.sessionId)).toEqual([session.id]);
    expect(await store.sessions.countLive()).toBe(0);
    expect(await redis.zcard(unsharded.owners)).toBe(0);
  });

  it("takes a session back when its creation fails half-way, leaving nothing and counting nothing", async () => {
    const user = await givenUser();
    // A live count that is not a number makes the creation script fail half-way, after
    // the session and its index entry were written: the store must take both back.
    await redis.set(shardOf(user).live, "not a number");
    const session = makeSession(user);
    await expect(store.sessions.create(session, session.expiresAt)).rejects.toThrow();
    expect(await store.sessions.lookup(session.tokenHash)).toEqual({});
    expect(await store.sessions.list(user.id, Date.now())).toEqual([]);
    expect(await redis.get(shardOf(user).live)).toBe("not a number");
    const keys = redisKeys(namespace);
    expect(await redis.exists(keys.record(session.id), keys.index(user.id))).toBe(0);
  });

  it("writes nothing for a refused rotation", async () => {
    const user = await givenUser();
    const session = makeSession(user);
    expect(await store.sessions.create(session, session.expiresAt)).toBe(true);
    const before = await allKeys();
    const next = { ...session, tokenHash: newTokenHash(), previousTokenHash: session.tokenHash };
    expect(await store.sessions.rotate(next, newTokenHash(), next.expiresAt)).toBe(false);
    expect(await allKeys()).toEqual(before);
  });

  it("keeps the users index as a sorted set of user ids by creation time", async () => {
    const first = await givenUser();
    const second = await givenUser({ createdAt: first.createdAt + 1 });
    expect(await redis.type(usersIndex())).toBe("zset");
    expect(await redis.zrange(usersIndex(), "0", "-1", "WITHSCORES")).toEqual([
      first.id,
      String(first.createdAt),
      second.id,
      String(second.createdAt),
    ]);
  });

  it("leaves no key of a user refused for a taken email", async () => {
    const first = await givenUser();
    const second = makeUser({ email: first.email });
    expect(await store.users.create(second)).toBe(false);
    expect(await allKeys()).toEqual(permanentKeysOf(first));
    expect(await redis.zrange(usersIndex(), "0", "-1")).toEqual([first.id]);
  });

  it("writes nothing for an update, a list or a TOTP claim of a user that does not exist", async () => {
    const id = newId();
    expect(await store.users.update(id, { disabled: true, roles: ["admin"] })).toBeUndefined();
    expect(await store.users.claimTotpStep(id, 1_000)).toBe(false);
    expect(await store.users.list({ size: 10 })).toEqual([]);
    expect(await allKeys()).toEqual([]);
  });

  it("keeps a user's sightings in one bounded sorted set under the user's hash tag, expiring", async () => {
    const user = await givenUser();
    const rules = { windowMs: 60_000, perKind: 64, retainMs: 3_600_000 };
    const at = Date.now();
    const devices = Array.from({ length: 100 }, (_, index) => ({
      kind: "device" as const,
      value: `device-${index}`,
    }));
    await store.sightings.record(user.id, [{ kind: "location", value: "DE" }], at, rules);
    await store.sightings.record(user.id, devices, at + 1, rules);
    const key = `${namespace}:{u:${user.id}}:sightings`;
    expect(await allKeys()).toEqual([...permanentKeysOf(user), key].sort());
    expect(await redis.type(key)).toBe("zset");
    expect(await redis.zcard(key)).toBe(64 + 1 + 2);
    expect(await redis.zscore(key, "l:DE")).toBe(String(at));
    expect(await redis.zscore(key, "d")).toBe(String(at + 1));
    expect(await redis.pttl(key)).toBeGreaterThan(3_500_000);
  });

  it("keeps a TOTP claim and an update within the user's own keys", async () => {
    const user = await givenUser();
    expect(await store.users.claimTotpStep(user.id, 1_000)).toBe(true);
    expect(await store.users.update(user.id, { totpSecret: "sealed" })).toBeDefined();
    expect(await allKeys()).toEqual(permanentKeysOf(user));
    for (const key of await allKeys()) {
      expect(await redis.pttl(key), key).toBe(-1);
    }
  });
});
