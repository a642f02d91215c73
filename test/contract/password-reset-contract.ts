import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/domain/ports.js";
import { newTokenHash, untilExpiry, untilReady } from "./store-contract.js";

/**
 * What every store promises about pending password resets: filed under a token hash,
 * taken once (of concurrent takes, exactly one gets it), void once a newer reset of the same
 * user is filed, and gone by themselves at their expiry. `makeStore` must give a store of its own on the real clock.
 */
export function describePasswordResetContract(name: string, makeStore: () => Store): void {
  describe(`the ${name} store's password resets`, () => {
    let store: Store;

    beforeAll(async () => {
      store = makeStore();
      await untilReady(store);
    });
    afterAll(() => store.close());
    const [user1, user2, user3, user4, user5, user6] = ["1", "2", "3", "4", "5", "6"].map(
      (n) => `user-${n}-${randomUUID()}`,
    ) as [string, string, string, string, string, string];

    it("gives a saved reset back once, then answers nothing for its token", async () => {
      const tokenHash = newTokenHash();
      const reset = { userId: user1, expiresAt: Date.now() + 60_000 };
      await store.passwordResets.save(tokenHash, reset);
      expect(await store.passwordResets.take(tokenHash)).toEqual(reset);
      expect(await store.passwordResets.take(tokenHash)).toBeUndefined();
    });

    it("voids a user's earlier reset when a newer one is saved, and no other user's", async () => {
      const expiresAt = Date.now() + 60_000;
      const [older, newer, others] = [newTokenHash(), newTokenHash(), newTokenHash()];
      await store.passwordResets.save(older, { userId: user5, expiresAt });
      await store.passwordResets.save(others, { userId: user6, expiresAt });
      await store.passwordResets.save(newer, { userId: user5, expiresAt });
      expect(await store.passwordResets.take(older)).toBeUndefined();
      expect(await store.passwordResets.take(newer)).toEqual({ userId: user5, expiresAt });
      expect(await store.passwordResets.take(others)).toEqual({ userId: user6, expiresAt });
    });

    it("answers nothing for a token hash never saved", async () => {
      expect(await store.passwordResets.take(newTokenHash())).toBeUndefined();
    });

    it("gives a reset to exactly one of many concurrent takes", async () => {
      const tokenHash = newTokenHash();
      await store.passwordResets.save(tokenHash, {
        userId: user2,
        expiresAt: Date.now() + 60_000,
      });
      const taken = await Promise.all(
        Array.from({ length: 8 }, () => store.passwordResets.take(tokenHash)),
      );
      expect(taken.filter((reset) => reset !== undefined)).toEqual([
        { userId: user2, expiresAt: expect.any(Number) },
      ]);
    });

    it("forgets a reset at its expiry", async () => {
      const tokenHash = newTokenHash();
      const expiresAt = Date.now() + 150;
      await store.passwordResets.save(tokenHash, { userId: user3, expiresAt });
      const other = newTokenHash();
      await store.passwordResets.save(other, { userId: user4, expiresAt });
      expect(await store.passwordResets.take(other)).toBeDefined();
      await expect.poll(async () => Date.now() >= expiresAt + 20, untilExpiry).toBe(true);
      expect(await store.passwordResets.take(tokenHash)).toBeUndefined();
    });
  });
}
