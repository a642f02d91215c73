import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PasskeyRecord, passkeyIdOf } from "../../src/domain/passkey.js";
import type { Store } from "../../src/domain/ports.js";
import { newId } from "../../src/domain/token.js";
import { untilReady } from "./store-contract.js";

/** A passkey of `userId` with a new credential id, created at `createdAt`. */
function passkeyOf(userId: string, createdAt = Date.now(), counter = 0): PasskeyRecord {
  const credentialId = randomBytes(32).toString("base64url");
  return {
    id: passkeyIdOf(credentialId),
    userId,
    credentialId,
    publicKey: randomBytes(77).toString("base64url"),
    counter,
    transports: ["internal", "hybrid"],
    name: "Laptop",
    createdAt,
    lastUsedAt: 0,
    backedUp: true,
    deviceType: "multiDevice",
  };
}

/**
 * What every store promises about passkeys and their challenges: passkeys added once per
 * user, found, listed oldest first, used only with a counter that moves forward (of
 * concurrent uses with one counter, exactly one), removed; challenges taken once (of
 * concurrent takes, exactly one) and gone at their expiry. `makeStore` must give a store of
 * its own.
 */
export function describePasskeyContract(name: string, makeStore: () => Store): void {
  describe(`the ${name} store's passkeys`, () => {
    let store: Store;

    beforeAll(async () => {
      store = makeStore();
      await untilReady(store);
    });
    afterAll(() => store.close());

    it("adds a passkey once and finds it whole under its user", async () => {
      const passkey = passkeyOf(newId());
      expect(await store.passkeys.add(passkey)).toBe(true);
      expect(await store.passkeys.add({ ...passkey, name: "Again" })).toBe(false);
      expect(await store.passkeys.find(passkey.userId, passkey.id)).toEqual(passkey);
      expect(await store.passkeys.find(newId(), passkey.id)).toBeUndefined();
    });

    it("lists a user's passkeys oldest first, and no one else's", async () => {
      const [alice, bob] = [newId(), newId()];
      const newer = passkeyOf(alice, 2_000);
      const older = passkeyOf(alice, 1_000);
      await store.passkeys.add(newer);
      await store.passkeys.add(older);
      await store.passkeys.add(passkeyOf(bob));
      expect(await store.passkeys.list(alice)).toEqual([older, newer]);
      expect(await store.passkeys.list(newId())).toEqual([]);
    });

    it("records a use only when the counter moves forward", async () => {
      const passkey = passkeyOf(newId(), 1_000, 5);
      await store.passkeys.add(passkey);
      expect(await store.passkeys.recordUse(passkey.userId, passkey.id, 5, 2_000)).toBe(false);
      expect(await store.passkeys.recordUse(passkey.userId, passkey.id, 4, 2_000)).toBe(false);
      expect(await store.passkeys.recordUse(passkey.userId, passkey.id, 6, 3_000)).toBe(true);
      const used = await store.passkeys.find(passkey.userId, passkey.id);
      expect(used).toMatchObject({ counter: 6, lastUsedAt: 3_000, name: "Laptop" });
      expect(used?.transports).toEqual(["internal", "hybrid"]);
    });

    it("records every use of an authenticator that keeps no counter (0 and 0)", async () => {
      const passkey = passkeyOf(newId());
      await store.passkeys.add(passkey);
      expect(await store.passkeys.recordUse(passkey.userId, passkey.id, 0, 2_000)).toBe(true);
      expect(await store.passkeys.recordUse(passkey.userId, passkey.id, 0, 3_000)).toBe(true);
      expect(await store.passkeys.find(passkey.userId, passkey.id)).toMatchObject({
        counter: 0,
        lastUsedAt: 3_000,
      });
    });

    it("records one of 20 concurrent uses reporting the same counter", async () => {
      const passkey = passkeyOf(newId(), 1_000, 1);
      await store.passkeys.add(passkey);
      const uses = await Promise.all(
        Array.from({ length: 20 }, () =>
          store.passkeys.recordUse(passkey.userId, passkey.id, 2, 2_000),
        ),
      );
      expect(uses.filter(Boolean)).toHaveLength(1);
    });

    it("removes a passkey: it is no longer found, listed or usable", async () => {
      const passkey = passkeyOf(newId());
      await store.passkeys.add(passkey);
      expect(await store.passkeys.remove(newId(), passkey.id)).toBe(false);
      expect(await store.passkeys.remove(passkey.userId, passkey.id)).toBe(true);
      expect(await store.passkeys.remove(passkey.userId, passkey.id)).toBe(false);
      expect(await store.passkeys.find(passkey.userId, passkey.id)).toBeUndefined();
      expect(await store.passkeys.list(passkey.userId)).toEqual([]);
      expect(await store.passkeys.recordUse(passkey.userId, passkey.id, 1, 2_000)).toBe(false);
      expect(await store.passkeys.add(passkey)).toBe(true);
    });
  });

  describe(`the ${name} store's passkey challenges`, () => {
    let store: Store;

    beforeAll(async () => {
      store = makeStore();
      await untilReady(store);
    });
    afterAll(() => store.close());

    const challengeFor = (userId?: string) => ({
      purpose:
        userId === undefined
          ? ({ kind: "login" } as const)
          : ({ kind: "registration", userId } as const),
      challenge: randomBytes(32).toString("base64url"),
      expiresAt: Date.now() + 60_000,
    });

    it("hands a challenge out once, with its purpose", async () => {
      const id = newId();
      const registration = challengeFor(newId());
      await store.passkeyChallenges.save(id, registration);
      expect(await store.passkeyChallenges.take(id)).toEqual(registration);
      expect(await store.passkeyChallenges.take(id)).toBeUndefined();
      expect(await store.passkeyChallenges.take(newId())).toBeUndefined();
    });

    it("hands a challenge to one of 20 concurrent takes", async () => {
      const id = newId();
      await store.passkeyChallenges.save(id, challengeFor());
      const takes = await Promise.all(
        Array.from({ length: 20 }, () => store.passkeyChallenges.take(id)),
      );
      expect(takes.filter((taken) => taken !== undefined)).toHaveLength(1);
    });

    it("forgets a challenge at its expiry", async () => {
      const id = newId();
      const expiresAt = Date.now() + 50;
      await store.passkeyChallenges.save(id, { ...challengeFor(), expiresAt });
      await new Promise((resolve) => setTimeout(resolve, expiresAt + 20 - Date.now()));
      expect(await store.passkeyChallenges.take(id)).toBeUndefined();
    });
  });
}
