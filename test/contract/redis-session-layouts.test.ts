import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import type { Store } from "../../src/domain/ports.js";
import { listingOf, type SessionRecord } from "../../src/domain/session.js";
import { newId } from "../../src/domain/token.js";
import type { UserRecord } from "../../src/domain/user.js";
import { encodeSession } from "../../src/store/redis/codec.js";
import { type RedisKeys, redisKeys } from "../../src/store/redis/keys.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { makeSession, makeUser, newTokenHash, untilReady } from "./store-contract.js";

/**
 * Sessions that are not in the common shape: those keycard 0.1.0 stored (a pointer per
 * token and a hash per session, still served after an upgrade until they end), and those
 * whose id is not the start of their token's hash (reached through a link).
 */
describe("the redis store's older and linked sessions", () => {
  let redis: Redis;
  let store: Store;
  let keys: RedisKeys;

  beforeAll(() => {
    redis = new Redis(inject("redisUrl"));
  });

  afterAll(async () => {
    await redis.quit();
  });

  beforeEach(async () => {
    const namespace = `test-${randomUUID()}`;
    keys = redisKeys(namespace);
    store = createRedisStore({ url: inject("redisUrl"), namespace, commandTimeoutMs: 500 });
    await untilReady(store);
  });

  afterEach(async () => {
    await store.close();
  });

  async function givenUser(): Promise<UserRecord> {
    const user = makeUser();
    expect(await store.users.create(user)).toBe(true);
    return user;
  }

  /** A session written as keycard 0.1.0 wrote it, owner fields copied in and all. */
  async function givenOlderSession(
    user: UserRecord,
    fields: Partial<SessionRecord> = {},
  ): Promise<SessionRecord> {
    const session = makeSession(user, { id: newId(), ...fields });
    const shard = keys.shardOf(user.id);
    const hash = keys.legacySession(user.id, session.id);
    const pointer = `${user.id} ${session.id} ${session.expiresAt}`;
    await redis.set(keys.legacyPointer(session.tokenHash), pointer, "PXAT", session.expiresAt);
    await redis.hset(hash, ...encodeSession(session), "em", "old@example.com", "dn", "Old");
    await redis.pexpireat(hash, session.expiresAt);
    await redis.zadd(keys.index(user.id), session.expiresAt, session.id);
    await redis.zadd(shard.owners, session.expiresAt, user.id);
    await redis.incr(shard.live);
    return session;
  }

  it("renames a 0.1.0 session in its own layout, and never another user's", async () => {
    const [user, other] = [await givenUser(), await givenUser()];
    const older = await givenOlderSession(user);
    expect(await store.sessions.rename(other.id, older.id, "not yours")).toBe(false);
    expect(await store.sessions.rename(user.id, older.id, "Old laptop")).toBe(true);
    expect((await store.sessions.lookup(older.tokenHash)).session?.label).toBe("Old laptop");
  });

  it("serves a 0.1.0 session: looked up with its owner as now, listed, touched", async () => {
    const user = await givenUser();
    const older = await givenOlderSession(user);
    const newer = makeSession(user, { createdAt: older.createdAt + 1 });
    expect(await store.sessions.create(newer, newer.expiresAt)).toBe(true);

    expect((await store.sessions.lookup(older.tokenHash)).session).toEqual(older);
    expect(await store.sessions.list(user.id, Date.now())).toEqual([newer, older].map(listingOf));
    await store.sessions.touch(user.id, older.id, older.lastUsedAt + 5);
    const touched = (await store.sessions.lookup(older.tokenHash)).session;
    expect(touched?.lastUsedAt).toBe(older.lastUsedAt + 5);
    expect(await store.sessions.countLive()).toBe(2);
  });

  it("refreshes a 0.1.0 session in its own layout and refuses the rotated-out token's second try", async () => {
    const user = await givenUser();
    const older = await givenOlderSession(user);
    const next = {
      ...older,
      tokenHash: newTokenHash(),
      previousTokenHash: older.tokenHash,
      graceUntil: Date.now() + 2_000,
    };
    const late = { ...next, tokenHash: newTokenHash() };
    expect(await store.sessions.rotate(next, older.tokenHash, next.expiresAt)).toBe(true);
    expect(await store.sessions.rotate(late, older.tokenHash, late.expiresAt)).toBe(false);
    expect(await store.sessions.lookup(late.tokenHash)).toEqual({});
    expect((await store.sessions.lookup(next.tokenHash)).session).toEqual(next);
    expect((await store.sessions.lookup(older.tokenHash)).session?.tokenHash).toBe(next.tokenHash);
    expect(await redis.exists(keys.record(older.id))).toBe(0);
  });

  it("ends 0.1.0 sessions with the new ones: one, all, the oldest beyond a cap", async () => {
    const user = await givenUser();
    const now = Date.now();
    const [first, second, third] = [
      await givenOlderSession(user, { createdAt: now - 3 }),
      await givenOlderSession(user, { createdAt: now - 2 }),
      await givenOlderSession(user, { createdAt: now + 2 }),
    ];
    const newer = makeSession(user, { createdAt: now - 1 });
    expect(await store.sessions.create(newer, newer.expiresAt)).toBe(true);

    expect(await store.sessions.trim(user.id, 3, Date.now())).toEqual([
      { sessionId: first?.id, createdAt: now - 3 },
    ]);
    expect(await store.sessions.revoke(user.id, second?.id ?? "")).toBe(true);
    expect(await store.sessions.lookup(second?.tokenHash ?? "")).toEqual({
      pointer: { userId: user.id, sessionId: second?.id, expiresAt: second?.expiresAt },
    });
    expect(await store.sessions.revokeAll(user.id, newer.id)).toBe(1);
    expect((await store.sessions.lookup(third?.tokenHash ?? "")).session).toBeUndefined();
    expect(await store.sessions.list(user.id, Date.now())).toEqual([newer].map(listingOf));
    expect(await redis.keys(`${keys.legacySessionPrefix(user.id)}*`)).toEqual([]);
    expect(await store.sessions.countLive()).toBe(1);
  });

  it("sweeps an expired 0.1.0 session and counts it down", async () => {
    const user = await givenUser();
    const start = Date.now();
    const older = await givenOlderSession(user, { expiresAt: start + 200 });
    const swept = await store.sessions.sweepExpired(start + 300, 100);
    expect(swept.map(({ sessionId }) => sessionId)).toEqual([older.id]);
    expect(await store.sessions.countLive()).toBe(0);
  });

  it("keeps no token hash in a record while its first token is current, and the refreshed one after", async () => {
    const user = await givenUser();
    let session = makeSession(user);
    while (!session.tokenHash.startsWith(session.id)) {
      session = makeSession(user);
    }
    expect(await store.sessions.create(session, session.expiresAt)).toBe(true);
    expect(await redis.hexists(keys.record(session.id), "tk")).toBe(0);
    expect((await store.sessions.lookup(session.tokenHash)).session).toEqual(session);
    const renewed = { ...session, expiresAt: session.expiresAt + 1_000 };
    expect(await store.sessions.rotate(renewed, session.tokenHash, renewed.expiresAt)).toBe(true);
    expect(await redis.hexists(keys.record(session.id), "tk")).toBe(0);

    const next = {
      ...renewed,
      tokenHash: newTokenHash(),
      previousTokenHash: session.tokenHash,
      graceUntil: Date.now() + 2_000,
    };
    expect(await store.sessions.rotate(next, session.tokenHash, next.expiresAt)).toBe(true);
    expect(await redis.hget(keys.record(session.id), "tk")).toBe(next.tokenHash);
    expect((await store.sessions.lookup(next.tokenHash)).session).toEqual(next);
    expect((await store.sessions.lookup(session.tokenHash)).session).toEqual(next);
    const late = { ...next, tokenHash: newTokenHash(), previousTokenHash: session.tokenHash };
    expect(await store.sessions.rotate(late, session.tokenHash, late.expiresAt)).toBe(false);
  });

  it("reaches a session whose id is not its token's start through a link, and ends it", async () => {
    const user = await givenUser();
    const session = makeSession(user, { id: newId() });
    expect(await store.sessions.create(session, session.expiresAt)).toBe(true);
    expect(await redis.hgetall(keys.record(session.tokenHash.slice(0, 22)))).toEqual({
      i: session.id,
    });
    expect((await store.sessions.lookup(session.tokenHash)).session).toEqual(session);
    expect(await store.sessions.revoke(user.id, session.id)).toBe(true);
    expect(await store.sessions.lookup(session.tokenHash)).toEqual({
      pointer: { userId: user.id, sessionId: session.id, expiresAt: session.expiresAt },
    });
  });

  it("never ends another user's session by its id, nor shrinks its record", async () => {
    const owner = await givenUser();
    const other = await givenUser();
    const session = makeSession(owner);
    expect(await store.sessions.create(session, session.expiresAt)).toBe(true);
    const record = await redis.hgetall(keys.record(session.id));
    expect(await store.sessions.revoke(other.id, session.id)).toBe(false);
    expect(await store.sessions.revokeAll(other.id)).toBe(0);
    expect(await redis.hgetall(keys.record(session.id))).toEqual(record);
  });
});
