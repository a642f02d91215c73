import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import type { Store } from "../../src/domain/ports.js";
import type { UserRecord } from "../../src/domain/user.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { testStore } from "../helpers/keycard.js";
import {
  describeStoreContract,
  makeSession,
  makeUser,
  newTokenHash,
  sleepUntil,
  untilReady,
} from "./store-contract.js";

describeStoreContract("redis", () => testStore("redis"));

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

  /** The keys of this namespace other than token pointers, which have a retention of their own. */
  async function keysBesidesPointers(): Promise<string[]> {
    return (await allKeys()).filter((key) => !key.startsWith(`${namespace}:tok:`));
  }

  /** The keys a user keeps for good: the record and the email claim. */
  function permanentKeysOf(user: UserRecord): string[] {
    return [`${namespace}:email:${user.email}`, `${namespace}:{u:${user.id}}:user`].sort();
  }

  async function givenUser(): Promise<UserRecord> {
    const user = makeUser();
    expect(await store.users.create(user)).toBe(true);
    return user;
  }

  it("gives every key but the user's record and email claim a deadline", async () => {
    const user = await givenUser();
    const session = makeSession(user);
    expect(await store.sessions.create(session, session.expiresAt + 60_000)).toBe(true);
    const permanent = permanentKeysOf(user);
    const keys = await allKeys();
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

  it("leaves only the user's record and email claim once every session and pointer has expired", async () => {
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

    await sleepUntil(start + 500);
    await store.sessions.touch(user.id, plain.id, Date.now());
    await store.sessions.touch(user.id, revoked.id, Date.now());
    await store.sessions.touch(user.id, next.id, Date.now());

    await sleepUntil(start + 1_000);
    expect(await allKeys()).toEqual(permanentKeysOf(user));
  });

  it("drops the session index with the last live session even when a longer one was revoked", async () => {
    const user = await givenUser();
    const start = Date.now();
    const short = makeSession(user, { expiresAt: start + 300 });
    const long = makeSession(user, { expiresAt: start + 60_000 });
    expect(await store.sessions.create(short, short.expiresAt + 60_000)).toBe(true);
    expect(await store.sessions.create(long, long.expiresAt + 60_000)).toBe(true);
    expect(await store.sessions.revoke(user.id, long.id)).toBe(true);

    await sleepUntil(start + 500);
    expect(await keysBesidesPointers()).toEqual(permanentKeysOf(user));
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

    await sleepUntil(start + 500);
    expect(await keysBesidesPointers()).toEqual(permanentKeysOf(user));
  });

  it("writes nothing for a session refused to a disabled user", async () => {
    const user = await givenUser();
    await store.users.update(user.id, { disabled: true });
    const session = makeSession(user);
    expect(await store.sessions.create(session, session.expiresAt)).toBe(false);
    expect(await allKeys()).toEqual(permanentKeysOf(user));
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

  it("leaves no key of a user refused for a taken email", async () => {
    const first = await givenUser();
    const second = makeUser({ email: first.email });
    expect(await store.users.create(second)).toBe(false);
    expect(await allKeys()).toEqual(permanentKeysOf(first));
  });
});
