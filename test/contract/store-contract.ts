import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import type { ApiKeyRecord } from "../../src/domain/api-key.js";
import { deviceLabel } from "../../src/domain/device-label.js";
import { type Cursor, cursorOf } from "../../src/domain/page.js";
import type { Store } from "../../src/domain/ports.js";
import { listingOf, type SessionRecord } from "../../src/domain/session.js";
import { hashToken, mintToken, newId, sessionIdOf } from "../../src/domain/token.js";
import type { UserRecord } from "../../src/domain/user.js";

const minute = 60_000;

/**
 * How a test waits for an expiry on the store's own clock (Redis's TIME and key TTLs, which
 * no fake clock reaches): it polls what the store answers until that changes, and fails
 * with the last answer if it has not within 5 s.
 */
export const untilExpiry = { timeout: 5_000, interval: 10 } as const;

/**
 * Resolves once the store answers a ping. A Redis store refuses commands until its
 * connection is up (it has no offline queue, by design), so a new one needs a moment.
 */
export async function untilReady(store: Store, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await store.ping();
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw error;
      }
      await sleep(20);
    }
  }
}

/** The hash of a freshly minted session token. */
export function newTokenHash(): string {
  return hashToken(mintToken("kc", "sess"));
}

/** A user record with a unique id and email, not yet stored. */
export function makeUser(fields: Partial<UserRecord> = {}): UserRecord {
  return {
    id: newId(),
    email: `user-${randomUUID()}@example.com`,
    displayName: "Contract User",
    passwordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
    roles: ["user"],
    totpSecret: "",
    totpPending: "",
    disabled: false,
    createdAt: Date.now(),
    ...fields,
  };
}

/**
 * A session of `user` that lives ten minutes from now, not yet stored; its id is the start of
 * its token's hash, as a login makes it (or a new id, for the 1 in 64 hashes that start
 * with "-").
 */
export function makeSession(user: UserRecord, fields: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  const tokenHash = fields.tokenHash ?? newTokenHash();
  return {
    id: sessionIdOf(tokenHash) ?? newId(),
    userId: user.id,
    createdAt: now,
    expiresAt: now + 10 * minute,
    lastUsedAt: now,
    ip: "203.0.113.7",
    userAgent: "contract-test/1.0",
    authMethods: ["password"],
    roles: user.roles,
    email: user.email,
    displayName: user.displayName,
    kind: "standard",
    lifetime: 10 * minute,
    deviceLabel: deviceLabel(fields.userAgent ?? "contract-test/1.0"),
    tokenHash,
    ...fields,
  };
}

/** An API key of `user` that never expires and was never used, not yet stored. */
export function makeApiKey(user: UserRecord, fields: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  const key = mintToken("kc", "key");
  return {
    id: newId(),
    userId: user.id,
    name: "contract key",
    keyHash: hashToken(key),
    hint: key.slice(0, 11),
    createdAt: Date.now(),
    lastUsedAt: 0,
    expiresAt: 0,
    revoked: false,
    skipTotp: false,
    ...fields,
  };
}

/** The session a refresh would store: a new current token, the presented one in grace. */
function rotated(session: SessionRecord, fields: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  return {
    ...session,
    tokenHash: newTokenHash(),
    previousTokenHash: session.tokenHash,
    graceUntil: now + 2_000,
    expiresAt: session.expiresAt + minute,
    lastUsedAt: now,
    ...fields,
  };
}

/** The pointer a store must keep for a token hash of `session`. */
function pointerOf(session: SessionRecord): {
  userId: string;
  sessionId: string;
  expiresAt: number;
} {
  return { userId: session.userId, sessionId: session.id, expiresAt: session.expiresAt };
}

/**
 * The contract of the Store port (src/domain/ports.ts), run against a real adapter on the
 * real clock. Every test makes its own users, so the adapter may be shared by all of them.
 */
export function describeStoreContract(name: string, makeStore: () => Store): void {
  describe(`the ${name} store`, () => {
    let store: Store;

    beforeAll(async () => {
      store = makeStore();
      await untilReady(store);
    });

    afterAll(async () => {
      await store.close();
    });

    async function givenUser(fields: Partial<UserRecord> = {}): Promise<UserRecord> {
      const user = makeUser(fields);
      expect(await store.users.create(user)).toBe(true);
      return user;
    }

    async function givenSession(
      user: UserRecord,
      fields: Partial<SessionRecord> = {},
      retainUntil?: number,
    ): Promise<SessionRecord> {
      const session = makeSession(user, fields);
      const retained = retainUntil ?? session.expiresAt + 10 * minute;
      expect(await store.sessions.create(session, retained)).toBe(true);
      return session;
    }

    /**
     * Resolves once the store answers only the pointer of `session`'s token: the session has
     * expired, and not before its time.
     */
    async function expired(session: SessionRecord): Promise<void> {
      await expect
        .poll(() => store.sessions.lookup(session.tokenHash), {
          ...untilExpiry,
          message: "an expired session's token finds its pointer only",
        })
        .toEqual({ pointer: pointerOf(session) });
      expect(Date.now()).toBeGreaterThanOrEqual(session.expiresAt);
    }

    it("answers a ping", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    describe("users", () => {
      it("finds a created user by email and by id", async () => {
        const user = await givenUser({ roles: ["admin", "user"], displayName: 'Zoë, "Z" O\'Neil' });
        expect(await store.users.findByEmail(user.email)).toEqual(user);
        expect(await store.users.findById(user.id)).toEqual(user);
      });

      it("refuses a second user whose email is taken and keeps the first one", async () => {
        const first = await givenUser();
        const second = makeUser({ email: first.email, displayName: "Impostor" });
        expect(await store.users.create(second)).toBe(false);
        expect(await store.users.findByEmail(first.email)).toEqual(first);
        expect(await store.users.findById(first.id)).toEqual(first);
        expect(await store.users.findById(second.id)).toBeUndefined();
      });

      it("finds nobody for an unknown email or id", async () => {
        expect(await store.users.findByEmail(`nobody-${randomUUID()}@example.com`)).toBeUndefined();
        expect(await store.users.findById(newId())).toBeUndefined();
      });

      it("disables a user and returns the disabled record", async () => {
        const user = await givenUser();
        const disabled = { ...user, disabled: true };
        expect(await store.users.update(user.id, { disabled: true })).toEqual(disabled);
        expect(await store.users.findById(user.id)).toEqual(disabled);
        expect(await store.users.findByEmail(user.email)).toEqual(disabled);
      });

      it("answers undefined when disabling an unknown user and does not create it", async () => {
        const id = newId();
        expect(await store.users.update(id, { disabled: true })).toBeUndefined();
        expect(await store.users.findById(id)).toBeUndefined();
      });

      it("keeps the TOTP fields of a created user as they were given", async () => {
        const user = await givenUser({ totpSecret: "v1.sealed-secret", totpPending: "v1.pending" });
        expect(await store.users.findById(user.id)).toEqual(user);
        expect(await store.users.findByEmail(user.email)).toEqual(user);
      });

      it("changes only the fields of a patch and returns the whole updated record", async () => {
        const user = await givenUser({ roles: ["user"] });
        const patch = {
          passwordHash: "$argon2id$v=19$m=19456,t=2,p=1$bmV3$bmV3aGFzaA",
          totpSecret: "v1.sealed-secret",
          totpPending: "v1.pending",
          roles: ["admin", "user"],
        };
        const updated = { ...user, ...patch };
        expect(await store.users.update(user.id, patch)).toEqual(updated);
        expect(await store.users.findById(user.id)).toEqual(updated);
        expect(await store.users.findByEmail(user.email)).toEqual(updated);
      });

      it("clears fields with empty values and applies patches one after another", async () => {
        const user = await givenUser({ totpSecret: "v1.sealed-secret", roles: ["admin"] });
        expect(await store.users.update(user.id, { totpPending: "v1.pending" })).toEqual({
          ...user,
          totpPending: "v1.pending",
        });
        const cleared = { ...user, totpSecret: "", totpPending: "", roles: [] };
        expect(
          await store.users.update(user.id, { totpSecret: "", totpPending: "", roles: [] }),
        ).toEqual(cleared);
        expect(await store.users.findById(user.id)).toEqual(cleared);
      });

      it("re-enables a disabled user, who may then open sessions again", async () => {
        const user = await givenUser();
        await store.users.update(user.id, { disabled: true });
        expect(await store.users.update(user.id, { disabled: false })).toEqual(user);
        await givenSession(user);
      });

      it("answers undefined when patching an unknown user and creates nobody", async () => {
        const id = newId();
        expect(
          await store.users.update(id, { passwordHash: "x", totpSecret: "y", roles: ["admin"] }),
        ).toBeUndefined();
        expect(await store.users.findById(id)).toBeUndefined();
      });

      it("changes only the patched user", async () => {
        const patched = await givenUser();
        const other = await givenUser();
        await store.users.update(patched.id, { disabled: true, roles: [] });
        expect(await store.users.findById(other.id)).toEqual(other);
      });
    });

    describe("listing users", () => {
      /** A store of its own, so that no other test's users are listed. */
      async function withOwnStore(run: (own: Store) => Promise<void>): Promise<void> {
        const own = makeStore();
        try {
          await untilReady(own);
          await run(own);
        } finally {
          await own.close();
        }
      }

      /** Creates users in order, one millisecond apart, and returns them. */
      async function createUsers(own: Store, count: number): Promise<UserRecord[]> {
        const start = Date.now();
        const users: UserRecord[] = [];
        for (let index = 0; index < count; index++) {
          const user = makeUser({ createdAt: start + index, displayName: `User ${index}` });
          expect(await own.users.create(user)).toBe(true);
          users.push(user);
        }
        return users;
      }

      it("lists nobody in an empty store", async () => {
        await withOwnStore(async (own) => {
          expect(await own.users.list({ size: 10 })).toEqual([]);
        });
      });

      it("lists users in creation order", async () => {
        await withOwnStore(async (own) => {
          const users = await createUsers(own, 5);
          expect(await own.users.list({ size: 10 })).toEqual(users);
          expect(await own.users.list({ size: 5 })).toEqual(users);
        });
      });

      it("pages through users after a position, each user exactly once", async () => {
        await withOwnStore(async (own) => {
          const users = await createUsers(own, 5);
          const past = (index: number): Cursor => cursorOf(users[index] as UserRecord);
          expect(await own.users.list({ size: 2 })).toEqual(users.slice(0, 2));
          expect(await own.users.list({ size: 2, after: past(1) })).toEqual(users.slice(2, 4));
          expect(await own.users.list({ size: 2, after: past(3) })).toEqual(users.slice(4));
          expect(await own.users.list({ size: 2, after: past(4) })).toEqual([]);
          expect(await own.users.list({ size: 1, after: past(0) })).toEqual([users[1]]);
          expect(await own.users.list({ size: 0 })).toEqual([]);
        });
      });

      it("orders users of the same millisecond by id and resumes among them", async () => {
        await withOwnStore(async (own) => {
          const at = Date.now();
          const [before] = await createUsers(own, 1);
          const tied = ["Bb", "aA", "Ab", "cc"].map((id) => makeUser({ id, createdAt: at + 10 }));
          for (const user of tied) {
            expect(await own.users.create(user)).toBe(true);
          }
          const later = makeUser({ createdAt: at + 11 });
          expect(await own.users.create(later)).toBe(true);
          const byId = ["Ab", "Bb", "aA", "cc"].map((id) => tied.find((user) => user.id === id));
          expect(await own.users.list({ size: 10 })).toEqual([before, ...byId, later]);
          const afterBb = { createdAt: at + 10, id: "Bb" };
          expect(await own.users.list({ size: 2, after: afterBb })).toEqual(byId.slice(2));
          expect(await own.users.list({ size: 3, after: afterBb })).toEqual([
            ...byId.slice(2),
            later,
          ]);
        });
      });

      it("resumes after a position whose user is not stored, and is not moved by users created before it", async () => {
        await withOwnStore(async (own) => {
          const users = await createUsers(own, 4);
          const second = users[1] as UserRecord;
          const gone = { createdAt: second.createdAt, id: `${second.id}~` };
          expect(await own.users.list({ size: 10, after: gone })).toEqual(users.slice(2));
          // Another replica's clock, a little behind: the new user sorts before the position.
          const behind = makeUser({ createdAt: second.createdAt - 1 });
          expect(await own.users.create(behind)).toBe(true);
          expect(await own.users.list({ size: 10, after: cursorOf(second) })).toEqual(
            users.slice(2),
          );
        });
      });

      it("lists the current records, and not a user refused for a taken email", async () => {
        await withOwnStore(async (own) => {
          const [first, second] = await createUsers(own, 2);
          if (first === undefined || second === undefined) {
            throw new Error("expected two users");
          }
          expect(await own.users.create(makeUser({ email: first.email }))).toBe(false);
          const disabled = await own.users.update(second.id, { disabled: true });
          expect(await own.users.list({ size: 10 })).toEqual([first, disabled]);
        });
      });
    });

    describe("claiming TOTP steps", () => {
      it("accepts the first claim of a step and refuses it the second time", async () => {
        const user = await givenUser();
        expect(await store.users.claimTotpStep(user.id, 1_000)).toBe(true);
        expect(await store.users.claimTotpStep(user.id, 1_000)).toBe(false);
      });

      it("refuses an earlier step once a later one was claimed", async () => {
        const user = await givenUser();
        expect(await store.users.claimTotpStep(user.id, 1_000)).toBe(true);
        expect(await store.users.claimTotpStep(user.id, 999)).toBe(false);
        expect(await store.users.claimTotpStep(user.id, 0)).toBe(false);
      });

      it("accepts each later step once", async () => {
        const user = await givenUser();
        expect(await store.users.claimTotpStep(user.id, 1_000)).toBe(true);
        expect(await store.users.claimTotpStep(user.id, 1_001)).toBe(true);
        expect(await store.users.claimTotpStep(user.id, 1_003)).toBe(true);
        expect(await store.users.claimTotpStep(user.id, 1_002)).toBe(false);
        expect(await store.users.claimTotpStep(user.id, 1_003)).toBe(false);
      });

      it("accepts a real-time step (tens of millions) and step zero", async () => {
        const step = Math.floor(Date.now() / 30_000);
        const user = await givenUser();
        expect(await store.users.claimTotpStep(user.id, step)).toBe(true);
        expect(await store.users.claimTotpStep(user.id, step)).toBe(false);
        const other = await givenUser();
        expect(await store.users.claimTotpStep(other.id, 0)).toBe(true);
        expect(await store.users.claimTotpStep(other.id, 0)).toBe(false);
      });

      it("keeps each user's claims apart", async () => {
        const alice = await givenUser();
        const bob = await givenUser();
        expect(await store.users.claimTotpStep(alice.id, 1_000)).toBe(true);
        expect(await store.users.claimTotpStep(bob.id, 1_000)).toBe(true);
        expect(await store.users.claimTotpStep(bob.id, 999)).toBe(false);
        expect(await store.users.claimTotpStep(alice.id, 1_001)).toBe(true);
        expect(await store.users.claimTotpStep(bob.id, 1_001)).toBe(true);
      });

      it("leaves the user's record as it was", async () => {
        const user = await givenUser({ totpSecret: "v1.sealed-secret" });
        expect(await store.users.claimTotpStep(user.id, 1_000)).toBe(true);
        expect(await store.users.findById(user.id)).toEqual(user);
      });

      it("refuses a claim for a user that does not exist and creates nobody", async () => {
        const id = newId();
        expect(await store.users.claimTotpStep(id, 1_000)).toBe(false);
        expect(await store.users.findById(id)).toBeUndefined();
      });
    });

    describe("api keys", () => {
      async function givenApiKey(
        user: UserRecord,
        fields: Partial<ApiKeyRecord> = {},
      ): Promise<ApiKeyRecord> {
        const key = makeApiKey(user, fields);
        await expect(store.apiKeys.create(key)).resolves.toBeUndefined();
        return key;
      }

      it("finds a created key by id and by hash", async () => {
        const user = await givenUser();
        const key = await givenApiKey(user);
        expect(await store.apiKeys.findById(key.id)).toEqual(key);
        expect(await store.apiKeys.findByHash(key.keyHash)).toEqual(key);
      });

      it("keeps every field of a key as it was given", async () => {
        const user = await givenUser();
        const now = Date.now();
        const key = await givenApiKey(user, {
          name: 'CI deploy, "prod" Zoë\'s',
          createdAt: now - 5_000,
          lastUsedAt: now - 1_000,
          expiresAt: now + 60 * minute,
          revoked: true,
          skipTotp: true,
        });
        expect(await store.apiKeys.findById(key.id)).toEqual(key);
        expect(await store.apiKeys.findByHash(key.keyHash)).toEqual(key);
        expect(await store.apiKeys.listByUser(user.id)).toEqual([key]);
      });

      it("files a key under a new hash, and no longer under its old one", async () => {
        const user = await givenUser();
        const key = await givenApiKey(user);
        const rehashed = newTokenHash();
        await store.apiKeys.rehash(key.id, rehashed);
        expect(await store.apiKeys.findByHash(rehashed)).toEqual({ ...key, keyHash: rehashed });
        expect(await store.apiKeys.findByHash(key.keyHash)).toBeUndefined();
        await expect(store.apiKeys.rehash(newId(), newTokenHash())).resolves.toBeUndefined();
      });

      it("finds nothing for an unknown id or hash", async () => {
        expect(await store.apiKeys.findById(newId())).toBeUndefined();
        expect(await store.apiKeys.findByHash(newTokenHash())).toBeUndefined();
      });

      it("lists a user's keys newest first, revoked ones included", async () => {
        const user = await givenUser();
        const now = Date.now();
        const oldest = await givenApiKey(user, { createdAt: now - 3_000 });
        const newest = await givenApiKey(user, { createdAt: now - 1_000 });
        const middle = await givenApiKey(user, { createdAt: now - 2_000, revoked: true });
        expect(await store.apiKeys.listByUser(user.id)).toEqual([newest, middle, oldest]);
      });

      it("lists only the keys of the given user, and none for a user without keys", async () => {
        const alice = await givenUser();
        const bob = await givenUser();
        const ofAlice = await givenApiKey(alice);
        const ofBob = await givenApiKey(bob);
        expect(await store.apiKeys.listByUser(alice.id)).toEqual([ofAlice]);
        expect(await store.apiKeys.listByUser(bob.id)).toEqual([ofBob]);
        expect(await store.apiKeys.listByUser((await givenUser()).id)).toEqual([]);
        expect(await store.apiKeys.listByUser(newId())).toEqual([]);
      });

      it("revokes a key and returns it; it is still found and listed, revoked", async () => {
        const user = await givenUser();
        const key = await givenApiKey(user);
        const revoked = { ...key, revoked: true };
        expect(await store.apiKeys.update(key.id, { revoked: true })).toEqual(revoked);
        expect(await store.apiKeys.findById(key.id)).toEqual(revoked);
        expect(await store.apiKeys.findByHash(key.keyHash)).toEqual(revoked);
        expect(await store.apiKeys.listByUser(user.id)).toEqual([revoked]);
      });

      it("records the last use of a key and nothing else", async () => {
        const user = await givenUser();
        const key = await givenApiKey(user);
        const other = await givenApiKey(user, { createdAt: key.createdAt - 1_000 });
        const used = { ...key, lastUsedAt: key.createdAt + 5_000 };
        expect(await store.apiKeys.update(key.id, { lastUsedAt: used.lastUsedAt })).toEqual(used);
        expect(await store.apiKeys.findByHash(key.keyHash)).toEqual(used);
        const later = { ...used, lastUsedAt: used.lastUsedAt + 5_000, revoked: true };
        expect(
          await store.apiKeys.update(key.id, { lastUsedAt: later.lastUsedAt, revoked: true }),
        ).toEqual(later);
        expect(await store.apiKeys.listByUser(user.id)).toEqual([later, other]);
      });

      it("answers undefined when updating an unknown key and creates none", async () => {
        const user = await givenUser();
        const id = newId();
        expect(await store.apiKeys.update(id, { revoked: true, lastUsedAt: 1 })).toBeUndefined();
        expect(await store.apiKeys.findById(id)).toBeUndefined();
        expect(await store.apiKeys.listByUser(user.id)).toEqual([]);
      });
    });

    describe("creating and looking up sessions", () => {
      it("finds a new session and its pointer by the token hash", async () => {
        const user = await givenUser();
        const session = await givenSession(user);
        expect(await store.sessions.lookup(session.tokenHash)).toEqual({
          pointer: pointerOf(session),
          session,
        });
      });

      it("keeps every field of a session as it was given", async () => {
        const user = await givenUser({ roles: ["admin", "auditor"], displayName: "Zoë O'Neil" });
        const session = await givenSession(user, {
          ip: "2001:db8::1",
          userAgent: 'Mozilla/5.0 (X11; Linux x86_64), "quoted" agent',
          authMethods: ["password", "totp"],
        });
        const found = await store.sessions.lookup(session.tokenHash);
        expect(found.session).toEqual(session);
      });

      it("shows its owner's email, name and roles as the user record has them now", async () => {
        const user = await givenUser({ roles: ["admin"] });
        const session = await givenSession(user);
        const renamed = { displayName: "Renamed Owner", roles: ["auditor"] };
        await store.users.update(user.id, renamed);
        const now = { ...session, ...renamed };
        expect((await store.sessions.lookup(session.tokenHash)).session).toEqual(now);
        expect(await store.sessions.list(user.id, Date.now())).toEqual([now].map(listingOf));
      });

      it("keeps the login time a derived session inherited", async () => {
        const user = await givenUser();
        const session = await givenSession(user, { authenticatedAt: Date.now() - 3_600_000 });
        expect((await store.sessions.lookup(session.tokenHash)).session).toEqual(session);
      });

      it("keeps the API key id of a session opened with a key, also across a rotation", async () => {
        const user = await givenUser();
        const key = makeApiKey(user);
        const session = await givenSession(user, {
          authMethods: ["api_key"],
          apiKeyId: key.id,
          deviceId: key.id,
        });
        expect(await store.sessions.lookup(session.tokenHash)).toEqual({
          pointer: pointerOf(session),
          session,
        });
        expect(await store.sessions.list(user.id, Date.now())).toEqual([session].map(listingOf));
        const next = rotated(session);
        expect(await store.sessions.rotate(next, session.tokenHash, next.expiresAt)).toBe(true);
        expect((await store.sessions.lookup(next.tokenHash)).session?.apiKeyId).toBe(key.id);
      });

      it("keeps no API key id for a session opened without a key", async () => {
        const user = await givenUser();
        const session = await givenSession(user);
        expect((await store.sessions.lookup(session.tokenHash)).session).not.toHaveProperty(
          "apiKeyId",
        );
      });

      it("keeps a session that has no auth methods and no roles", async () => {
        const user = await givenUser({ roles: [] });
        const session = await givenSession(user, { authMethods: [], roles: [] });
        expect((await store.sessions.lookup(session.tokenHash)).session).toEqual(session);
      });

      it("answers an empty lookup for an unknown token hash", async () => {
        expect(await store.sessions.lookup(newTokenHash())).toEqual({});
      });

      it("refuses a session for a disabled user and stores nothing of it", async () => {
        const user = await givenUser();
        await store.users.update(user.id, { disabled: true });
        const session = makeSession(user);
        expect(await store.sessions.create(session, session.expiresAt + minute)).toBe(false);
        expect(await store.sessions.lookup(session.tokenHash)).toEqual({});
        expect(await store.sessions.list(user.id, Date.now())).toEqual([]);
      });

      it("refuses a session for a user that does not exist", async () => {
        const stranger = makeUser();
        const session = makeSession(stranger);
        expect(await store.sessions.create(session, session.expiresAt + minute)).toBe(false);
        expect(await store.sessions.lookup(session.tokenHash)).toEqual({});
      });

      it("refuses it too when the token needs a link to its record (a hash starting with -)", async () => {
        // Such a session's record and link lie in two Cluster slots; taking both back must
        // not be one DEL (CROSSSLOT), which once answered 503 for 1 in 64 such logins.
        const session = makeSession(makeUser(), { tokenHash: `-${newTokenHash().slice(1)}` });
        expect(await store.sessions.create(session, session.expiresAt + minute)).toBe(false);
        expect(await store.sessions.lookup(session.tokenHash)).toEqual({});
      });
    });

    describe("listing sessions", () => {
      it("lists a user's live sessions newest first", async () => {
        const user = await givenUser();
        const now = Date.now();
        const oldest = await givenSession(user, { createdAt: now - 3_000 });
        const newest = await givenSession(user, { createdAt: now - 1_000 });
        const middle = await givenSession(user, { createdAt: now - 2_000 });
        expect(await store.sessions.list(user.id, Date.now())).toEqual(
          [newest, middle, oldest].map(listingOf),
        );
      });

      it("lists only the sessions of the given user", async () => {
        const alice = await givenUser();
        const bob = await givenUser();
        const ofAlice = await givenSession(alice);
        const ofBob = await givenSession(bob);
        expect(await store.sessions.list(alice.id, Date.now())).toEqual([ofAlice].map(listingOf));
        expect(await store.sessions.list(bob.id, Date.now())).toEqual([ofBob].map(listingOf));
      });

      it("lists nothing for a user without sessions", async () => {
        const user = await givenUser();
        expect(await store.sessions.list(user.id, Date.now())).toEqual([]);
        expect(await store.sessions.list(newId(), Date.now())).toEqual([]);
      });

      it("does not list a revoked session", async () => {
        const user = await givenUser();
        const revoked = await givenSession(user);
        const kept = await givenSession(user);
        expect(await store.sessions.revoke(user.id, revoked.id)).toBe(true);
        expect(await store.sessions.list(user.id, Date.now())).toEqual([kept].map(listingOf));
      });
    });

    describe("rotating tokens", () => {
      it("makes the new token current and keeps the presented one as the previous", async () => {
        const user = await givenUser();
        const session = await givenSession(user);
        const next = rotated(session);
        expect(await store.sessions.rotate(next, session.tokenHash, next.expiresAt + minute)).toBe(
          true,
        );
        expect(await store.sessions.lookup(next.tokenHash)).toEqual({
          pointer: pointerOf(next),
          session: next,
        });
        const old = await store.sessions.lookup(session.tokenHash);
        expect(old.pointer).toMatchObject({ userId: user.id, sessionId: session.id });
        expect(old.session).toEqual(next);
        expect(await store.sessions.list(user.id, Date.now())).toEqual([next].map(listingOf));
      });

      it("refuses a second rotation that presents the rotated-out token", async () => {
        const user = await givenUser();
        const session = await givenSession(user);
        const winner = rotated(session);
        const loser = rotated(session);
        expect(await store.sessions.rotate(winner, session.tokenHash, winner.expiresAt)).toBe(true);
        expect(await store.sessions.rotate(loser, session.tokenHash, loser.expiresAt)).toBe(false);
        expect(await store.sessions.lookup(loser.tokenHash)).toEqual({});
        const current = await store.sessions.lookup(winner.tokenHash);
        expect(current.session).toEqual(winner);
        expect(current.session?.previousTokenHash).toBe(session.tokenHash);
        expect(current.session?.graceUntil).toBe(winner.graceUntil);
      });

      it("refuses a rotation that presents a token hash the session never had", async () => {
        const user = await givenUser();
        const session = await givenSession(user);
        const next = rotated(session);
        expect(await store.sessions.rotate(next, newTokenHash(), next.expiresAt)).toBe(false);
        expect(await store.sessions.lookup(next.tokenHash)).toEqual({});
        expect((await store.sessions.lookup(session.tokenHash)).session).toEqual(session);
      });

      it("refuses to rotate a revoked session and does not bring it back", async () => {
        const user = await givenUser();
        const session = await givenSession(user);
        await store.sessions.revoke(user.id, session.id);
        const next = rotated(session);
        expect(await store.sessions.rotate(next, session.tokenHash, next.expiresAt)).toBe(false);
        expect(await store.sessions.lookup(next.tokenHash)).toEqual({});
        expect(await store.sessions.lookup(session.tokenHash)).toEqual({
          pointer: pointerOf(session),
        });
        expect(await store.sessions.list(user.id, Date.now())).toEqual([]);
      });

      it("rotates again with the current token and keeps every earlier pointer", async () => {
        const user = await givenUser();
        const first = await givenSession(user);
        const second = rotated(first);
        expect(await store.sessions.rotate(second, first.tokenHash, second.expiresAt)).toBe(true);
        const third = rotated(second);
        expect(await store.sessions.rotate(third, second.tokenHash, third.expiresAt)).toBe(true);
        expect((await store.sessions.lookup(third.tokenHash)).session).toEqual(third);
        const oldest = await store.sessions.lookup(first.tokenHash);
        expect(oldest.pointer).toMatchObject({ userId: user.id, sessionId: first.id });
        expect(oldest.session?.tokenHash).toBe(third.tokenHash);
      });
    });

    describe("revoking sessions", () => {
      it("revokes a live session and keeps its pointer without the session", async () => {
        const user = await givenUser();
        const session = await givenSession(user);
        expect(await store.sessions.revoke(user.id, session.id)).toBe(true);
        expect(await store.sessions.lookup(session.tokenHash)).toEqual({
          pointer: pointerOf(session),
        });
      });

      it("answers false when the session was already revoked", async () => {
        const user = await givenUser();
        const session = await givenSession(user);
        expect(await store.sessions.revoke(user.id, session.id)).toBe(true);
        expect(await store.sessions.revoke(user.id, session.id)).toBe(false);
      });

      it("answers false and keeps the session when another user revokes it", async () => {
        const owner = await givenUser();
        const other = await givenUser();
        const session = await givenSession(owner);
        expect(await store.sessions.revoke(other.id, session.id)).toBe(false);
        expect((await store.sessions.lookup(session.tokenHash)).session).toEqual(session);
        expect(await store.sessions.list(owner.id, Date.now())).toEqual([session].map(listingOf));
      });

      it("answers false for an unknown session id", async () => {
        const user = await givenUser();
        expect(await store.sessions.revoke(user.id, newId())).toBe(false);
      });

      it("revokes all of a user's sessions and says how many ended", async () => {
        const user = await givenUser();
        const other = await givenUser();
        const sessions = [
          await givenSession(user),
          await givenSession(user),
          await givenSession(user),
        ];
        const untouched = await givenSession(other);
        expect(await store.sessions.revokeAll(user.id)).toBe(3);
        expect(await store.sessions.list(user.id, Date.now())).toEqual([]);
        for (const session of sessions) {
          expect(await store.sessions.lookup(session.tokenHash)).toEqual({
            pointer: pointerOf(session),
          });
        }
        expect(await store.sessions.list(other.id, Date.now())).toEqual([untouched].map(listingOf));
      });

      it("revokes all sessions but the kept one", async () => {
        const user = await givenUser();
        const now = Date.now();
        await givenSession(user, { createdAt: now - 2_000 });
        const kept = await givenSession(user, { createdAt: now - 1_000 });
        await givenSession(user, { createdAt: now });
        expect(await store.sessions.revokeAll(user.id, kept.id)).toBe(2);
        expect(await store.sessions.list(user.id, Date.now())).toEqual([kept].map(listingOf));
        expect((await store.sessions.lookup(kept.tokenHash)).session).toEqual(kept);
      });

      it("counts only the sessions that were still live", async () => {
        const user = await givenUser();
        const revoked = await givenSession(user);
        await givenSession(user);
        await givenSession(user);
        await store.sessions.revoke(user.id, revoked.id);
        expect(await store.sessions.revokeAll(user.id)).toBe(2);
      });

      it("answers zero when there is nothing to revoke", async () => {
        const user = await givenUser();
        expect(await store.sessions.revokeAll(user.id)).toBe(0);
        const kept = await givenSession(user);
        expect(await store.sessions.revokeAll(user.id, kept.id)).toBe(0);
        expect(await store.sessions.list(user.id, Date.now())).toEqual([kept].map(listingOf));
      });
    });

    describe("devices, places and labels", () => {
      it("keeps a session's device and location, and an API key session's key as its device", async () => {
        const user = await givenUser();
        const browser = await givenSession(user, {
          deviceId: "dev1ce_Id-0123456789abc",
          location: "DE",
        });
        const keyed = await givenSession(user, {
          apiKeyId: "key-of-the-session",
          deviceId: "key-of-the-session",
        });
        expect((await store.sessions.lookup(browser.tokenHash)).session).toEqual(browser);
        expect((await store.sessions.lookup(keyed.tokenHash)).session).toEqual(keyed);
      });

      it("renames a live session of its user, and shows the label in lookup and listing", async () => {
        const user = await givenUser();
        const session = await givenSession(user);
        expect(await store.sessions.rename(user.id, session.id, "Work laptop")).toBe(true);
        const renamed = { ...session, label: "Work laptop" };
        expect((await store.sessions.lookup(session.tokenHash)).session).toEqual(renamed);
        expect(await store.sessions.list(user.id, Date.now())).toEqual([renamed].map(listingOf));
      });

      it("renames no session of another user, nor an unknown one", async () => {
        const [user, other] = [await givenUser(), await givenUser()];
        const session = await givenSession(other);
        expect(await store.sessions.rename(user.id, session.id, "mine now")).toBe(false);
        expect(await store.sessions.rename(user.id, "no-such-session-id-00", "x")).toBe(false);
        expect((await store.sessions.lookup(session.tokenHash)).session).toEqual(session);
      });

      it("does not rename a revoked session and does not bring it back", async () => {
        const user = await givenUser();
        const session = await givenSession(user);
        await store.sessions.revoke(user.id, session.id);
        expect(await store.sessions.rename(user.id, session.id, "ghost")).toBe(false);
        expect(await store.sessions.lookup(session.tokenHash)).toEqual({
          pointer: pointerOf(session),
        });
        expect(await store.sessions.list(user.id, Date.now())).toEqual([]);
      });
    });

    describe("touching sessions", () => {
      it("records the time of the latest use and nothing else", async () => {
        const user = await givenUser();
        const session = await givenSession(user);
        const at = session.lastUsedAt + 5_000;
        await store.sessions.touch(user.id, session.id, at);
        const touched = { ...session, lastUsedAt: at };
        expect((await store.sessions.lookup(session.tokenHash)).session).toEqual(touched);
        expect(await store.sessions.list(user.id, Date.now())).toEqual([touched].map(listingOf));
      });

      it("does nothing for a revoked session and does not bring it back", async () => {
        const user = await givenUser();
        const session = await givenSession(user);
        await store.sessions.revoke(user.id, session.id);
        await store.sessions.touch(user.id, session.id, Date.now());
        expect(await store.sessions.lookup(session.tokenHash)).toEqual({
          pointer: pointerOf(session),
        });
        expect(await store.sessions.list(user.id, Date.now())).toEqual([]);
        expect(await store.sessions.revoke(user.id, session.id)).toBe(false);
      });
    });

    describe("expiry by time", () => {
      it("drops an expired session but keeps its pointer until retainUntil, then drops that too", async () => {
        const user = await givenUser();
        const start = Date.now();
        const lasting = await givenSession(user, { createdAt: start - 1_000 });
        const session = await givenSession(user, { expiresAt: start + 300 }, start + 700);
        expect((await store.sessions.lookup(session.tokenHash)).session).toEqual(session);

        await expired(session);
        expect(await store.sessions.list(user.id, Date.now())).toEqual([lasting].map(listingOf));

        await expect
          .poll(() => store.sessions.lookup(session.tokenHash), {
            ...untilExpiry,
            message: "the pointer is dropped at retainUntil",
          })
          .toEqual({});
        expect(Date.now()).toBeGreaterThanOrEqual(start + 700);
        expect(await store.sessions.list(user.id, Date.now())).toEqual([lasting].map(listingOf));
      });

      it("does not bring back an expired session that is touched", async () => {
        const user = await givenUser();
        const start = Date.now();
        const session = await givenSession(user, { expiresAt: start + 300 }, start + 5_000);
        await expired(session);
        await store.sessions.touch(user.id, session.id, Date.now());
        expect(await store.sessions.lookup(session.tokenHash)).toEqual({
          pointer: pointerOf(session),
        });
        expect(await store.sessions.list(user.id, Date.now())).toEqual([]);
        expect(await store.sessions.revoke(user.id, session.id)).toBe(false);
      });

      it("refuses to rotate an expired session", async () => {
        const user = await givenUser();
        const start = Date.now();
        const session = await givenSession(user, { expiresAt: start + 300 }, start + 5_000);
        await expired(session);
        const next = rotated(session, { expiresAt: Date.now() + minute });
        expect(await store.sessions.rotate(next, session.tokenHash, next.expiresAt)).toBe(false);
        expect(await store.sessions.lookup(next.tokenHash)).toEqual({});
        expect(await store.sessions.list(user.id, Date.now())).toEqual([]);
      });

      it("does not count expired sessions when revoking all", async () => {
        const user = await givenUser();
        const start = Date.now();
        const ending = await givenSession(user, { expiresAt: start + 300 }, start + 5_000);
        await givenSession(user);
        await expired(ending);
        expect(await store.sessions.revokeAll(user.id)).toBe(1);
      });

      it("keeps a session alive past its first deadline when a rotation moved it later", async () => {
        const user = await givenUser();
        const start = Date.now();
        const session = await givenSession(user, { expiresAt: start + 300 }, start + 5_000);
        // Its twin keeps that first deadline, and shows when the store has passed it.
        const twin = await givenSession(user, { expiresAt: start + 300 }, start + 5_000);
        const next = rotated(session, { expiresAt: start + 10 * minute });
        expect(await store.sessions.rotate(next, session.tokenHash, next.expiresAt)).toBe(true);
        await expired(twin);
        expect((await store.sessions.lookup(next.tokenHash)).session).toEqual(next);
        expect(await store.sessions.list(user.id, Date.now())).toEqual([next].map(listingOf));
      });

      it("ends a session at the earlier deadline a rotation gave it", async () => {
        const user = await givenUser();
        const start = Date.now();
        const session = await givenSession(user);
        const next = rotated(session, { expiresAt: start + 300 });
        expect(await store.sessions.rotate(next, session.tokenHash, start + 5_000)).toBe(true);
        expect((await store.sessions.lookup(next.tokenHash)).session).toEqual(next);
        await expired(next);
        expect(await store.sessions.list(user.id, Date.now())).toEqual([]);
      });
    });

    describe("sweeping expired sessions and counting live ones", () => {
      /**
       * A store of its own (a namespace nobody else writes), so that the count of live
       * sessions moves only with this test's sessions, however slow the machine.
       */
      async function ownStore(): Promise<Store> {
        const own = makeStore();
        await untilReady(own);
        onTestFinished(() => own.close());
        return own;
      }

      it("returns each expired session to one sweep only, never a revoked one, and counts down", async () => {
        const store = await ownStore();
        const alice = makeUser();
        const bob = makeUser();
        await Promise.all([store.users.create(alice), store.users.create(bob)]);
        const givenSession = async (user: UserRecord, fields: Partial<SessionRecord> = {}) => {
          const session = makeSession(user, fields);
          expect(await store.sessions.create(session, session.expiresAt + 10 * minute)).toBe(true);
          return session;
        };
        const start = Date.now();
        const base = await store.sessions.countLive();
        // Far enough ahead that a loaded machine still counts and revokes them live.
        const ending = start + 5_000;
        const expiring = [
          await givenSession(alice, { expiresAt: ending }),
          await givenSession(alice, { expiresAt: ending }),
        ];
        const revoked = await givenSession(alice, { expiresAt: ending });
        await givenSession(bob);
        expect(await store.sessions.countLive()).toBe(base + 4);
        expect(await store.sessions.revoke(alice.id, revoked.id)).toBe(true);
        expect(await store.sessions.countLive()).toBe(base + 3);

        // A sweep's `now` is its clock: these sweeps run after the expiry.
        const later = ending + 200;
        const sweeps = await Promise.all([
          store.sessions.sweepExpired(later, 100),
          store.sessions.sweepExpired(later, 100),
        ]);
        const ours = sweeps
          .flat()
          .filter((expired) => expired.userId === alice.id || expired.userId === bob.id);
        expect(ours.map((expired) => expired.sessionId).sort()).toEqual(
          expiring.map((session) => session.id).sort(),
        );
        expect(ours.every((expired) => expired.expiresAt === ending)).toBe(true);
        const began = new Map(expiring.map((session) => [session.id, session.createdAt]));
        expect(ours.every((expired) => expired.createdAt === began.get(expired.sessionId))).toBe(
          true,
        );
        expect(await store.sessions.countLive()).toBeLessThanOrEqual(base + 1);
        const again = await store.sessions.sweepExpired(later, 100);
        expect(again.filter((expired) => expired.userId === alice.id)).toEqual([]);
      });

      it("counts and sweeps the sessions of many users, wherever their keys live", async () => {
        const store = await ownStore();
        const start = Date.now();
        const base = await store.sessions.countLive();
        const many = Array.from({ length: 24 }, () => makeUser());
        await Promise.all(many.map((user) => store.users.create(user)));
        const open = async (user: UserRecord, expiresAt: number) => {
          const session = makeSession(user, { expiresAt });
          expect(await store.sessions.create(session, expiresAt + 10 * minute)).toBe(true);
          return session;
        };
        const ending = start + 5_000;
        const expiring = await Promise.all(many.map((user) => open(user, ending)));
        await Promise.all(many.map((user) => open(user, start + 10 * minute)));
        expect(await store.sessions.countLive()).toBe(base + 48);

        const swept = new Set<string>();
        for (let batch = 0; batch < 10; batch += 1) {
          for (const expired of await store.sessions.sweepExpired(ending + 200, 5)) {
            swept.add(expired.sessionId);
          }
        }
        expect(expiring.filter((session) => !swept.has(session.id))).toEqual([]);
        expect(await store.sessions.countLive()).toBe(base + 24);
      });

      it("trims a user's sessions to the newest, counting only live ones", async () => {
        const user = await givenUser();
        const start = Date.now();
        const ending = await givenSession(user, { expiresAt: start + 200, createdAt: start - 10 });
        const oldest = await givenSession(user, { createdAt: start - 3 });
        const middle = await givenSession(user, { createdAt: start - 2 });
        const newest = await givenSession(user, { createdAt: start - 1 });
        await expired(ending);
        expect(await store.sessions.trim(user.id, 2, Date.now())).toEqual([
          { sessionId: oldest.id, createdAt: start - 3 },
        ]);
        const left = await store.sessions.list(user.id, Date.now());
        expect(left.map((session) => session.id)).toEqual([newest.id, middle.id]);
        expect(await store.sessions.trim(user.id, 2, Date.now())).toEqual([]);
      });
    });

    describe("loginAttempts", () => {
      const keyOf = (kind: "pair" | "ip" | "account") => ({ kind, id: `contract-${randomUUID()}` });
      const hour = { windowMs: 60 * minute, limit: 3 };

      it("records failures per counter and reads each counter's count, first and last back", async () => {
        const pair = keyOf("pair");
        const ip = keyOf("ip");
        const t = Date.now();
        await store.loginAttempts.record([pair, ip], t, minute);
        await store.loginAttempts.record([pair], t + 5, minute);
        expect(await store.loginAttempts.read([pair, ip, keyOf("ip")])).toEqual([
          { count: 2, firstAt: t, lastAt: t + 5 },
          { count: 1, firstAt: t, lastAt: t },
          { count: 0, firstAt: 0, lastAt: 0 },
        ]);
      });

      it("keeps counters of different kinds with one id apart", async () => {
        const id = `contract-${randomUUID()}`;
        await store.loginAttempts.record([{ kind: "pair", id }], Date.now(), minute);
        expect(await store.loginAttempts.read([{ kind: "ip", id }])).toEqual([
          { count: 0, firstAt: 0, lastAt: 0 },
        ]);
      });

      it("clears only the counters it is given", async () => {
        const pair = keyOf("pair");
        const ip = keyOf("ip");
        await store.loginAttempts.record([pair, ip], Date.now(), minute);
        await store.loginAttempts.clear([pair]);
        const [cleared, kept] = await store.loginAttempts.read([pair, ip]);
        expect(cleared?.count).toBe(0);
        expect(kept?.count).toBe(1);
      });

      it("clears an account's window, which then takes failures from empty", async () => {
        const account = keyOf("account");
        const t = Date.now();
        for (const name of ["a", "b", "c"]) {
          await store.loginAttempts.claim(account, name, t, hour);
        }
        await store.loginAttempts.clear([account]);
        expect(await store.loginAttempts.claim(account, "", t, hour)).toEqual({
          claimed: false,
          count: 0,
          openAt: 0,
        });
      });

      it("drops a counter its retention after the last failure", async () => {
        const pair = keyOf("pair");
        const start = Date.now();
        await store.loginAttempts.record([pair], start, 300);
        expect((await store.loginAttempts.read([pair]))[0]?.count).toBe(1);
        await expect
          .poll(async () => (await store.loginAttempts.read([pair]))[0]?.count, {
            ...untilExpiry,
            message: "the counter is dropped its retention after the failure",
          })
          .toBe(0);
        expect(Date.now()).toBeGreaterThanOrEqual(start + 300);
      });

      it("fills an account's window up to its limit, then answers when the oldest failure leaves it", async () => {
        const account = keyOf("account");
        const t = Date.now();
        const claims = [];
        for (const at of [t, t + 10, t + 20, t + 30]) {
          claims.push(await store.loginAttempts.claim(account, `f${at}`, at, hour));
        }
        expect(claims).toEqual([
          { claimed: true, count: 0, openAt: 0 },
          { claimed: true, count: 1, openAt: 0 },
          { claimed: true, count: 2, openAt: 0 },
          { claimed: false, count: 3, openAt: t + hour.windowMs },
        ]);
        expect(await store.loginAttempts.claim(account, "", t + 40, hour)).toEqual(claims[3]);
        const later = t + hour.windowMs + 15;
        expect(await store.loginAttempts.claim(account, "", later, hour)).toEqual({
          claimed: false,
          count: 1,
          openAt: 0,
        });
      });

      it("takes a claimed failure back out of the window, and adds past the limit when the limit is 0", async () => {
        const account = keyOf("account");
        const t = Date.now();
        for (const name of ["a", "b", "c"]) {
          await store.loginAttempts.claim(account, name, t, hour);
        }
        await store.loginAttempts.unclaim(account, "b");
        expect((await store.loginAttempts.claim(account, "d", t, hour)).claimed).toBe(true);
        const unlimited = { ...hour, limit: 0 };
        expect(await store.loginAttempts.claim(account, "e", t, unlimited)).toEqual({
          claimed: true,
          count: 3,
          openAt: 0,
        });
        expect((await store.loginAttempts.claim(account, "", t, hour)).count).toBe(4);
      });

      it("lets exactly the limit of 50 concurrent claims into a window", async () => {
        const account = keyOf("account");
        const window = { windowMs: minute, limit: 20 };
        const claims = await Promise.all(
          Array.from({ length: 50 }, (_, index) =>
            store.loginAttempts.claim(account, `f${index}`, Date.now(), window),
          ),
        );
        expect(claims.filter((claim) => claim.claimed)).toHaveLength(20);
      });
    });
  });
}
