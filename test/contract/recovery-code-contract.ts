import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/domain/ports.js";
import { newId } from "../../src/domain/token.js";
import { newTokenHash, untilReady } from "./store-contract.js";

/** Ten hashes standing for a user's ten codes. */
function tenHashes(): string[] {
  return Array.from({ length: 10 }, newTokenHash);
}

/**
 * What every store promises about recovery codes: a user's set replaced whole, each code
 * used once (of concurrent uses, exactly one), counted, and deleted. `makeStore` must give
 * a store of its own.
 */
export function describeRecoveryCodeContract(name: string, makeStore: () => Store): void {
  describe(`the ${name} store's recovery codes`, () => {
    let store: Store;

    beforeAll(async () => {
      store = makeStore();
      await untilReady(store);
    });
    afterAll(() => store.close());

    it("uses each code once and answers how many are left", async () => {
      const userId = newId();
      const hashes = tenHashes();
      await store.recoveryCodes.replace(userId, hashes);
      expect(await store.recoveryCodes.count(userId)).toBe(10);
      expect(await store.recoveryCodes.redeem(userId, [hashes[3] ?? ""])).toBe(9);
      expect(await store.recoveryCodes.redeem(userId, [hashes[3] ?? ""])).toBeUndefined();
      expect(await store.recoveryCodes.redeem(userId, [hashes[7] ?? ""])).toBe(8);
      expect(await store.recoveryCodes.count(userId)).toBe(8);
    });

    it("finds a code by any of the hashes given (current and previous keys), taking only it", async () => {
      const userId = newId();
      const hashes = tenHashes();
      await store.recoveryCodes.replace(userId, hashes);
      const underOldKey = hashes[5] ?? "";
      expect(await store.recoveryCodes.redeem(userId, [newTokenHash(), underOldKey])).toBe(9);
      expect(await store.recoveryCodes.redeem(userId, [newTokenHash(), newTokenHash()])).toBe(
        undefined,
      );
      expect(await store.recoveryCodes.count(userId)).toBe(9);
    });

    it("keeps each user's codes apart", async () => {
      const [alice, bob] = [newId(), newId()];
      const hashes = tenHashes();
      await store.recoveryCodes.replace(alice, hashes);
      expect(await store.recoveryCodes.redeem(bob, [hashes[0] ?? ""])).toBeUndefined();
      expect(await store.recoveryCodes.count(bob)).toBe(0);
      expect(await store.recoveryCodes.count(alice)).toBe(10);
    });

    it("replaces the whole set: the old codes stop working", async () => {
      const userId = newId();
      const old = tenHashes();
      await store.recoveryCodes.replace(userId, old);
      await store.recoveryCodes.redeem(userId, [old[0] ?? ""]);
      const fresh = tenHashes();
      await store.recoveryCodes.replace(userId, fresh);
      expect(await store.recoveryCodes.count(userId)).toBe(10);
      for (const hash of old) {
        expect(await store.recoveryCodes.redeem(userId, [hash])).toBeUndefined();
      }
      expect(await store.recoveryCodes.redeem(userId, [fresh[9] ?? ""])).toBe(9);
    });

    it("lets exactly one of many concurrent uses of a code have it", async () => {
      const userId = newId();
      const hashes = tenHashes();
      await store.recoveryCodes.replace(userId, hashes);
      const uses = await Promise.all(
        Array.from({ length: 20 }, () => store.recoveryCodes.redeem(userId, [hashes[2] ?? ""])),
      );
      expect(uses.filter((left) => left !== undefined)).toEqual([9]);
    });

    it("gives every code once when all are used at the same time", async () => {
      const userId = newId();
      const hashes = tenHashes();
      await store.recoveryCodes.replace(userId, hashes);
      const left = await Promise.all(
        hashes.map((hash) => store.recoveryCodes.redeem(userId, [hash])),
      );
      expect([...left].sort((a = 0, b = 0) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(await store.recoveryCodes.count(userId)).toBe(0);
    });

    it("deletes a user's codes and says how many there were", async () => {
      const userId = newId();
      const hashes = tenHashes();
      await store.recoveryCodes.replace(userId, hashes);
      await store.recoveryCodes.redeem(userId, [hashes[1] ?? ""]);
      expect(await store.recoveryCodes.clear(userId)).toBe(9);
      expect(await store.recoveryCodes.count(userId)).toBe(0);
      expect(await store.recoveryCodes.redeem(userId, [hashes[2] ?? ""])).toBeUndefined();
      expect(await store.recoveryCodes.clear(userId)).toBe(0);
    });

    it("answers nothing for a user who never had codes", async () => {
      const userId = newId();
      expect(await store.recoveryCodes.count(userId)).toBe(0);
      expect(await store.recoveryCodes.redeem(userId, [newTokenHash()])).toBeUndefined();
      expect(await store.recoveryCodes.redeem(userId, [])).toBeUndefined();
    });
  });
}
