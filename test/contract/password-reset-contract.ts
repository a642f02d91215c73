import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/domain/ports.js";
import { newTokenHash, untilExpiry, untilReady } from "./store-contract.js";

/**
 * What every store promises about pending password resets: filed under a token hash,
 * taken once (of concurrent takes, exactly one gets it), and gone by themselves at their
 * expiry. `makeStore` must give a store of its own on the real clock.
 */
export function describePasswordResetContract(name: string, makeStore: () => Store): void {
  describe(`the ${name} store's password resets`, () => {
    let store: Store;

    beforeAll(async () => {
      store = makeStore();
      await untilReady(store);
    });
    afterAll(() => store.close());

    it("gives a saved reset back once, then answers nothing for its token", async () => {
      const tokenHash = newTokenHash();
      const reset = { userId: "user-1", expiresAt: Date.now() + 60_000 };
      await store.passwordResets.save(tokenHash, reset);
      expect(await store.passwordResets.take(tokenHash)).toEqual(reset);
      expect(await store.passwordResets.take(tokenHash)).toBeUndefined();
    });

    it("answers nothing for a token hash never saved", async () => {
      expect(await store.passwordResets.take(newTokenHash())).toBeUndefined();
    });

    it("gives a reset to exactly one of many concurrent takes", async () => {
      const tokenHash = newTokenHash();
      await store.passwordResets.save(tokenHash, {
        userId: "user-2",
        expiresAt: Date.now() + 60_000,
      });
      const taken = await Promise.all(
        Array.from({ length: 8 }, () => store.passwordResets.take(tokenHash)),
      );
      expect(taken.filter((reset) => reset !== undefined)).toEqual([
        { userId: "user-2", expiresAt: expect.any(Number) },
      ]);
    });

    it("forgets a reset at its expiry", async () => {
      const tokenHash = newTokenHash();
      const expiresAt = Date.now() + 150;
      await store.passwordResets.save(tokenHash, { userId: "user-3", expiresAt });
      const other = newTokenHash();
      await store.passwordResets.save(other, { userId: "user-3", expiresAt });
      expect(await store.passwordResets.take(other)).toBeDefined();
      await expect.poll(async () => Date.now() >= expiresAt + 20, untilExpiry).toBe(true);
      expect(await store.passwordResets.take(tokenHash)).toBeUndefined();
    });
  });
}
