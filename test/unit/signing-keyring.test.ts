import { compactVerify, createLocalJWKSet, decodeProtectedHeader, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../src/domain/errors.js";
import type { SigningKeyStore } from "../../src/domain/ports.js";
import type { KeyAlgorithm } from "../../src/domain/signing-keys.js";
import { keyScheduleOf } from "../../src/service/jwt-keys.js";
import { SecretKeeper } from "../../src/service/secret-keeper.js";
import { SigningKeyring } from "../../src/service/signing-keyring.js";
import { MemorySigningKeyStore } from "../../src/store/memory/signing-keys.js";
import { FakeClock } from "../helpers/fake-clock.js";

const hour = 3_600_000;
const day = 24 * hour;
const config = {
  algorithm: "EdDSA" as const,
  issuer: "keycard",
  audiences: [],
  maxTtlMs: hour,
  rotationMs: 30 * day,
};
const schedule = keyScheduleOf(config);
const secrets = new SecretKeeper(Buffer.alloc(32, 3));

/** A keyring as one replica holds it, over `store`, recording its audit events. */
function replica(store: SigningKeyStore, clock: FakeClock, algorithm: KeyAlgorithm = "EdDSA") {
  const audits: string[] = [];
  const errors: unknown[] = [];
  const keyring = new SigningKeyring({
    store,
    secrets,
    clock,
    schedule,
    algorithm,
    audit: (event, fields) => audits.push(`${event} ${fields.trigger}`),
    onBackgroundError: (error) => errors.push(error),
  });
  return { keyring, audits, errors };
}

/** A JWT signed by the keyring's current key, and that key's id. */
async function signed(keyring: SigningKeyring): Promise<{ jwt: string; kid: string }> {
  const key = await keyring.signingKey();
  const jwt = await new SignJWT({ sub: "u" })
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .sign(key.key);
  return { jwt, kid: key.kid };
}

/** Whether `jwt` verifies against the keyring's published keys. */
async function verifies(keyring: SigningKeyring, jwt: string): Promise<boolean> {
  const jwks = createLocalJWKSet({ keys: await keyring.publicKeys() });
  return compactVerify(jwt, jwks).then(
    () => true,
    () => false,
  );
}

describe("the JWT signing keyring", () => {
  it.each(["EdDSA", "ES256"] as const)(
    "makes its first %s key when first asked and signs with it at once",
    async (algorithm) => {
      const clock = new FakeClock();
      const { keyring, audits } = replica(new MemorySigningKeyStore(), clock, algorithm);
      const { jwt, kid } = await signed(keyring);
      expect(decodeProtectedHeader(jwt)).toEqual({ alg: algorithm, kid });
      expect(await keyring.publicKeys()).toEqual([
        expect.objectContaining({ kid, alg: algorithm, use: "sig" }),
      ]);
      expect(JSON.stringify(await keyring.publicKeys())).not.toMatch(/"d"/);
      expect(await verifies(keyring, jwt)).toBe(true);
      expect(audits).toEqual(["jwt_key.created schedule"]);
    },
  );

  it("publishes the next key ahead of its turn, signs with it on schedule, and keeps the old one while its JWTs live", async () => {
    const clock = new FakeClock();
    const { keyring } = replica(new MemorySigningKeyStore(), clock);
    const first = await signed(keyring);

    clock.advance(30 * day - schedule.publishAheadMs);
    const ahead = await keyring.publicKeys();
    expect(ahead).toHaveLength(2);
    expect((await keyring.signingKey()).kid).toBe(first.kid);

    clock.advance(schedule.publishAheadMs);
    const second = await signed(keyring);
    expect(second.kid).not.toBe(first.kid);
    expect(ahead.map((key) => key.kid)).toContain(second.kid);
    expect(await verifies(keyring, first.jwt)).toBe(true);

    clock.advance(30 * day - schedule.publishAheadMs);
    await keyring.publicKeys();
    clock.advance(schedule.publishAheadMs);
    const third = await signed(keyring);
    expect((await keyring.publicKeys()).map((key) => key.kid)).toEqual([second.kid, third.kid]);
    expect(await verifies(keyring, first.jwt)).toBe(false);
    expect(await verifies(keyring, second.jwt)).toBe(true);
  });

  it("rotates now when an administrator asks: the old key still verifies until its JWTs expire", async () => {
    const clock = new FakeClock();
    const { keyring, audits } = replica(new MemorySigningKeyStore(), clock);
    const before = await signed(keyring);
    const rotated = await keyring.rotate(true);
    const after = await signed(keyring);
    expect(after.kid).toBe(rotated.kid);
    expect(await verifies(keyring, before.jwt)).toBe(true);

    const again = await keyring.rotate(true);
    clock.advance(schedule.retainMs + 1);
    expect((await keyring.publicKeys()).map((key) => key.kid)).toEqual([rotated.kid, again.kid]);
    expect(await verifies(keyring, before.jwt)).toBe(false);
    expect(audits).toEqual([
      "jwt_key.created schedule",
      "jwt_key.created administrator",
      "jwt_key.created administrator",
    ]);
  });

  it("publishes a key an administrator rotates without `immediate` before it signs", async () => {
    const clock = new FakeClock();
    const { keyring } = replica(new MemorySigningKeyStore(), clock);
    const first = await signed(keyring);
    const next = await keyring.rotate(false);
    expect(next.activeFrom).toBe(clock.now() + schedule.publishAheadMs);
    expect((await keyring.signingKey()).kid).toBe(first.kid);
    expect((await keyring.publicKeys()).map((key) => key.kid)).toContain(next.kid);
    clock.advance(schedule.publishAheadMs);
    expect((await keyring.signingKey()).kid).toBe(next.kid);
  });

  it("gives replicas sharing a store one key set, even when they make the first key at once", async () => {
    const clock = new FakeClock();
    const store = new MemorySigningKeyStore();
    const replicas = [replica(store, clock), replica(store, clock), replica(store, clock)];
    const keys = await Promise.all(replicas.map(({ keyring }) => keyring.signingKey()));
    expect(new Set(keys.map((key) => key.kid)).size).toBe(1);
    expect((await store.read()).keys).toHaveLength(1);

    clock.advance(30 * day);
    const rotated = await Promise.all(replicas.map(({ keyring }) => keyring.signingKey()));
    expect(new Set(rotated.map((key) => key.kid)).size).toBe(1);
    expect((await store.read()).keys).toHaveLength(2);
  });

  it("keeps signing with the keys it read while the store is down, and says so", async () => {
    const clock = new FakeClock();
    const store = new MemorySigningKeyStore();
    let down = false;
    const flaky: SigningKeyStore = {
      read: () => (down ? Promise.reject(new StoreUnavailableError()) : store.read()),
      add: (...args) => store.add(...args),
    };
    const { keyring, errors } = replica(flaky, clock);
    const first = await signed(keyring);
    down = true;
    clock.advance(60_000);
    expect((await keyring.signingKey()).kid).toBe(first.kid);
    expect(errors).toEqual([expect.any(StoreUnavailableError)]);
  });

  it("fails with STORE_UNAVAILABLE when it has never read a key and the store is down", async () => {
    const { keyring } = replica(
      {
        read: () => Promise.reject(new StoreUnavailableError()),
        add: () => Promise.resolve(false),
      },
      new FakeClock(),
    );
    await expect(keyring.signingKey()).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it("refuses to make a key without KEYCARD_ENCRYPTION_KEY: a private key is never stored in the clear", async () => {
    const keyring = new SigningKeyring({
      store: new MemorySigningKeyStore(),
      secrets: new SecretKeeper(undefined),
      clock: new FakeClock(),
      schedule,
      algorithm: "EdDSA",
      audit: () => {},
      onBackgroundError: () => {},
    });
    await expect(keyring.signingKey()).rejects.toMatchObject({ reason: "ENCRYPTION_KEY_MISSING" });
  });
});
