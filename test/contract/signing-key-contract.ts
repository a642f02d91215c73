import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/domain/ports.js";
import type { StoredSigningKey } from "../../src/domain/signing-keys.js";
import { untilReady } from "./store-contract.js";

let made = 0;

/** A stored signing key with a unique id (the contract does not look inside it). */
export function makeSigningKey(fields: Partial<StoredSigningKey> = {}): StoredSigningKey {
  made += 1;
  return {
    kid: `kid-${made}-${Math.random().toString(36).slice(2)}`,
    alg: "EdDSA",
    createdAt: Date.UTC(2030, 0, 1) + made,
    generation: made,
    activeFrom: Date.UTC(2030, 0, 1) + made,
    publicJwk: JSON.stringify({ kty: "OKP", crv: "Ed25519", x: "AAAA" }),
    encryptedPrivateKey: "v2.id.iv.tag.body",
    ...fields,
  };
}

/**
 * What every store promises about JWT signing keys: a set that changes one generation at a
 * time, so that two replicas adding a key at once cannot both succeed. `makeStore` must
 * give a store of its own (a fresh namespace).
 */
export function describeSigningKeyContract(name: string, makeStore: () => Store): void {
  describe(`the ${name} store's JWT signing keys`, () => {
    let store: Store;

    beforeAll(async () => {
      store = makeStore();
      await untilReady(store);
    });
    afterAll(() => store.close());

    it("starts empty at generation 0, then keeps what was added, whole", async () => {
      expect(await store.signingKeys.read()).toEqual({ generation: 0, keys: [] });
      const first = makeSigningKey();
      expect(await store.signingKeys.add(0, first, [])).toBe(true);
      expect(await store.signingKeys.read()).toEqual({ generation: 1, keys: [first] });
    });

    it("refuses an addition made against a generation that has moved on", async () => {
      const { generation } = await store.signingKeys.read();
      const winner = makeSigningKey();
      const loser = makeSigningKey();
      const answers = await Promise.all([
        store.signingKeys.add(generation, winner, []),
        store.signingKeys.add(generation, loser, []),
      ]);
      expect(answers.filter(Boolean)).toHaveLength(1);
      const after = await store.signingKeys.read();
      expect(after.generation).toBe(generation + 1);
      expect(after.keys.map((key) => key.kid)).toContain(answers[0] ? winner.kid : loser.kid);
      expect(after.keys.map((key) => key.kid)).not.toContain(answers[0] ? loser.kid : winner.kid);
    });

    it("drops the retired keys in the same step as it adds the new one", async () => {
      const before = await store.signingKeys.read();
      const next = makeSigningKey();
      const retired = before.keys.map((key) => key.kid);
      expect(await store.signingKeys.add(before.generation, next, retired)).toBe(true);
      expect(await store.signingKeys.read()).toEqual({
        generation: before.generation + 1,
        keys: [next],
      });
    });
  });
}
