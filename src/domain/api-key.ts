import type { AuthMethod } from "./session.js";

/** A permanent credential of a user, as the store keeps it: never the key, only its hash. */
export interface ApiKeyRecord {
  readonly id: string;
  readonly userId: string;
  readonly name: string;
  readonly keyHash: string;
  /** The first characters of the key, to recognise it in listings. */
  readonly hint: string;
  readonly createdAt: number;
  /** Zero when never used. */
  readonly lastUsedAt: number;
  /** Zero when the key never expires. */
  readonly expiresAt: number;
  readonly revoked: boolean;
  /** When true the key logs in alone; otherwise the user's TOTP code must come with it. */
  readonly skipTotp: boolean;
}

/** The fields of a key that may change after creation. */
export type ApiKeyPatch = Partial<Pick<ApiKeyRecord, "lastUsedAt" | "revoked">>;

/** Why a presented API key does not work, if it does not. */
export type ApiKeyProblem = "unknown" | "revoked" | "expired";

/** Judges a looked-up key at time `now`. */
export function apiKeyProblem(
  key: ApiKeyRecord | undefined,
  now: number,
): ApiKeyProblem | undefined {
  if (key === undefined) {
    return "unknown";
  }
  if (key.revoked) {
    return "revoked";
  }
  if (key.expiresAt !== 0 && key.expiresAt <= now) {
    return "expired";
  }
  return undefined;
}

/** The hint shown for a key: its prefix and kind plus four characters. */
export function keyHint(key: string): string {
  const marker = "_key_";
  const at = key.indexOf(marker);
  return at < 0 ? "" : key.slice(0, at + marker.length + 4);
}

/**
 * The methods a request with a key proved: the key, then the second factor that came with
 * it (a TOTP or recovery code; none for a key that skips TOTP).
 */
export function apiKeyMethods(factor?: AuthMethod): AuthMethod[] {
  return factor === undefined ? ["api_key"] : ["api_key", factor];
}
