import { createPrivateKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { calculateJwkThumbprint, type JWK } from "jose";
import type { Clock } from "../domain/clock.js";
import { StoreUnavailableError } from "../domain/errors.js";
import type { SigningKeyStore } from "../domain/ports.js";
import {
  activeFromOf,
  type JwtAlgorithm,
  type KeyAlgorithm,
  type KeySchedule,
  nextKeyDue,
  type PublicJwk,
  publishedKeys,
  retiredKeys,
  type SigningKeySet,
  type StoredSigningKey,
  signingKeyOf,
} from "../domain/signing-keys.js";
import type { AuditLog } from "./audit.js";
import type { SecretKeeper } from "./secret-keeper.js";

/** What signs a JWT: the key, the id verifiers find it by, and its algorithm. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: JwtAlgorithm;
  readonly key: KeyObject | Uint8Array;
}

/** Where JWTs get their signing key and verifiers the public keys. */
export interface JwtKeys {
  signingKey(): Promise<SigningKey>;
  /** The public keys a verifier needs now, as JWKs with `kid`, `alg` and `use`. */
  publicKeys(): Promise<PublicJwk[]>;
  /** Makes a new key now: it signs at once when `immediate`, else once published a while. */
  rotate(immediate: boolean): Promise<StoredSigningKey>;
}

export interface KeyringDeps {
  readonly store: SigningKeyStore;
  readonly secrets: SecretKeeper;
  readonly clock: Clock;
  readonly schedule: KeySchedule;
  readonly algorithm: KeyAlgorithm;
  readonly audit: AuditLog;
  /** A failed re-read of the keys while the cached ones still serve. */
  readonly onBackgroundError: (error: unknown) => void;
  /** How long this replica trusts its copy of the key set (default 10 s). */
  readonly refreshMs?: number;
}

/** Attempts at adding a key when other replicas keep changing the set first. */
const maxAttempts = 3;

/**
 * The JWT signing keys every replica shares through the store: the first one made when
 * the first is needed, the next one made on schedule by whichever replica notices first
 * (the store takes one addition per generation), private keys encrypted at rest and kept
 * decrypted in memory once used. Each replica re-reads the set every `refreshMs`, less
 * than a scheduled key is published before it signs, so every replica publishes a key
 * before any signs with it.
 */
export class SigningKeyring implements JwtKeys {
  private cached: { readonly set: SigningKeySet; readonly readAt: number } | undefined;
  private reading: Promise<SigningKeySet> | undefined;
  private readonly privateKeys = new Map<string, KeyObject>();

  constructor(private readonly deps: KeyringDeps) {}

  async signingKey(): Promise<SigningKey> {
    const stored = signingKeyOf((await this.keySet()).keys, this.deps.clock.now());
    if (stored === undefined) {
      throw new StoreUnavailableError();
    }
    return { kid: stored.kid, alg: stored.alg, key: this.privateKeyOf(stored) };
  }

  async publicKeys(): Promise<PublicJwk[]> {
    const { keys } = await this.keySet();
    return publishedKeys(keys, this.deps.clock.now(), this.deps.schedule).map(publicJwkOf);
  }

  async rotate(immediate: boolean): Promise<StoredSigningKey> {
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const added = await this.add(await this.deps.store.read(), immediate);
      if (added !== undefined) {
        this.cached = undefined;
        return added;
      }
    }
    throw new StoreUnavailableError();
  }

  /** The key set: this replica's copy while fresh and no key is due, else read again. */
  private keySet(): Promise<SigningKeySet> {
    const now = this.deps.clock.now();
    const cached = this.cached;
    const refreshMs = this.deps.refreshMs ?? 10_000;
    if (
      cached !== undefined &&
      now - cached.readAt < refreshMs &&
      nextKeyDue(cached.set.keys, this.deps.schedule) > now
    ) {
      return Promise.resolve(cached.set);
    }
    this.reading ??= this.refresh().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  /** Reads the set again (adding a key when one is due); the old copy serves if that fails. */
  private async refresh(): Promise<SigningKeySet> {
    try {
      const set = await this.readAddingWhenDue();
      this.cached = { set, readAt: this.deps.clock.now() };
      return set;
    } catch (error) {
      const cached = this.cached;
      if (
        cached === undefined ||
        signingKeyOf(cached.set.keys, this.deps.clock.now()) === undefined
      ) {
        throw error;
      }
      this.deps.onBackgroundError(error);
      return cached.set;
    }
  }

  private async readAddingWhenDue(): Promise<SigningKeySet> {
    for (let attempt = 1; ; attempt++) {
      const set = await this.deps.store.read();
      if (
        nextKeyDue(set.keys, this.deps.schedule) > this.deps.clock.now() ||
        attempt > maxAttempts
      ) {
        return set;
      }
      await this.add(set, false);
    }
  }

  /** Adds a new key to `set`, retiring those nobody needs; undefined if the set moved on. */
  private async add(set: SigningKeySet, immediate: boolean): Promise<StoredSigningKey | undefined> {
    const { clock, schedule, store, secrets, algorithm } = this.deps;
    const now = clock.now();
    const key = await makeKey(algorithm, secrets, {
      createdAt: now,
      generation: set.generation + 1,
      activeFrom: activeFromOf(set.keys, now, schedule, immediate),
    });
    const retire = retiredKeys([...set.keys, key], now, schedule).map((old) => old.kid);
    if (!(await store.add(set.generation, key, retire))) {
      return undefined;
    }
    this.deps.audit("jwt_key.created", {
      kid: key.kid,
      alg: key.alg,
      activeFrom: new Date(key.activeFrom).toISOString(),
      trigger: immediate ? "administrator" : "schedule",
      retired: retire.length,
    });
    return key;
  }

  private privateKeyOf(stored: StoredSigningKey): KeyObject {
    let key = this.privateKeys.get(stored.kid);
    if (key === undefined) {
      key = createPrivateKey(this.deps.secrets.decrypt(stored.encryptedPrivateKey));
      this.privateKeys.set(stored.kid, key);
    }
    return key;
  }
}

/** A new key pair for `alg`, its id the RFC 7638 thumbprint of its public key. */
async function makeKey(
  alg: KeyAlgorithm,
  secrets: SecretKeeper,
  timing: Pick<StoredSigningKey, "createdAt" | "generation" | "activeFrom">,
): Promise<StoredSigningKey> {
  const { publicKey, privateKey } =
    alg === "EdDSA"
      ? generateKeyPairSync("ed25519")
      : generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" }) as JWK;
  return {
    kid: await calculateJwkThumbprint(jwk),
    alg,
    ...timing,
    publicJwk: JSON.stringify(jwk),
    encryptedPrivateKey: secrets.encrypt(
      privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    ),
  };
}

/** A stored key's public half as the JWKS publishes it. */
function publicJwkOf(key: StoredSigningKey): PublicJwk {
  return { ...(JSON.parse(key.publicJwk) as PublicJwk), kid: key.kid, alg: key.alg, use: "sig" };
}
