/**
 * JWT signing keys and their schedule. Each key signs from `activeFrom` until the next key
 * becomes active; a scheduled key is published in the JWKS `publishAheadMs` before it signs,
 * so that every verifier's cached key set already holds it, and a replaced key stays
 * published `retainMs` after it stopped signing, longer than any JWT it signed can live.
 */

/** The asymmetric algorithms whose keys keycard makes, stores and publishes. */
export type KeyAlgorithm = "EdDSA" | "ES256";

/** A signing key as stored: its public half in the clear, its private half encrypted. */
export interface StoredSigningKey {
  readonly kid: string;
  readonly alg: KeyAlgorithm;
  /** When the key was made (epoch ms). */
  readonly createdAt: number;
  /** The generation of the key set its addition made: later keys have higher ones. */
  readonly generation: number;
  /** When it begins to sign (epoch ms); it is published from `createdAt` on. */
  readonly activeFrom: number;
  /** The public key as a JWK, JSON text. */
  readonly publicJwk: string;
  /** The private key (PKCS #8 PEM), encrypted under KEYCARD_ENCRYPTION_KEY. */
  readonly encryptedPrivateKey: string;
}

/** A public key as a JWK (RFC 7517): OKP and EC public keys have only string members. */
export type PublicJwk = Readonly<Record<string, string>>;

/** The stored keys and the generation of the set, which every change moves on by one. */
export interface SigningKeySet {
  readonly generation: number;
  readonly keys: readonly StoredSigningKey[];
}

/** When keys are made and how long they stay published. */
export interface KeySchedule {
  /** JWT_KEY_ROTATION: how long a key signs before the next one takes over. */
  readonly rotationMs: number;
  /** How long a scheduled key is published before it signs. */
  readonly publishAheadMs: number;
  /** How long a replaced key stays published: more than the longest JWT lives. */
  readonly retainMs: number;
}

/** The keys in the order they sign: by `activeFrom`, then in the order they were added. */
export function bySigningOrder(keys: readonly StoredSigningKey[]): StoredSigningKey[] {
  return [...keys].sort((a, b) => a.activeFrom - b.activeFrom || a.generation - b.generation);
}

/** The key that signs at `now`: the last one to have become active; none before the first. */
export function signingKeyOf(
  keys: readonly StoredSigningKey[],
  now: number,
): StoredSigningKey | undefined {
  return bySigningOrder(keys)
    .filter((key) => key.activeFrom <= now)
    .at(-1);
}

/**
 * The keys a verifier needs at `now`: those about to sign, the signing one, the one it
 * replaced, and any other replaced less than `retainMs` ago.
 */
export function publishedKeys(
  keys: readonly StoredSigningKey[],
  now: number,
  schedule: KeySchedule,
): StoredSigningKey[] {
  const ordered = bySigningOrder(keys);
  const signing = ordered.findLastIndex((key) => key.activeFrom <= now);
  return ordered.filter((_key, index) => {
    const replacedAt = ordered[index + 1]?.activeFrom ?? now;
    return index >= signing - 1 || now - replacedAt < schedule.retainMs;
  });
}

/** The stored keys nobody needs any more at `now`. */
export function retiredKeys(
  keys: readonly StoredSigningKey[],
  now: number,
  schedule: KeySchedule,
): StoredSigningKey[] {
  const kept = new Set(publishedKeys(keys, now, schedule));
  return keys.filter((key) => !kept.has(key));
}

/**
 * When the next key should be made: at once when there is none, never while one waits
 * to sign, else `publishAheadMs` before the signing key's rotation is due.
 */
export function nextKeyDue(keys: readonly StoredSigningKey[], schedule: KeySchedule): number {
  const newest = bySigningOrder(keys).at(-1);
  if (newest === undefined) {
    return Number.NEGATIVE_INFINITY;
  }
  return newest.activeFrom + schedule.rotationMs - schedule.publishAheadMs;
}

/**
 * When a key made at `now` begins to sign: at once when there is no key yet or `immediate`
 * (an administrator rotating now), else after it has been published `publishAheadMs`.
 */
export function activeFromOf(
  keys: readonly StoredSigningKey[],
  now: number,
  schedule: KeySchedule,
  immediate: boolean,
): number {
  return immediate || signingKeyOf(keys, now) === undefined ? now : now + schedule.publishAheadMs;
}
/** Every algorithm keycard signs JWTs with: HS256 only with a configured shared secret. */
export type JwtAlgorithm = KeyAlgorithm | "HS256";
