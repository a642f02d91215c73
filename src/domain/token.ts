import { createHash, randomBytes } from "node:crypto";

/** The kinds of secret keycard mints; the kind is part of the token text. */
export type TokenKind = "sess" | "key";

const randomByteCount = 32;
const encodedLength = 43;

/** Mints a new secret: `<prefix>_<kind>_<base64url of 32 random bytes>`. */
export function mintToken(prefix: string, kind: TokenKind): string {
  return `${prefix}_${kind}_${randomBytes(randomByteCount).toString("base64url")}`;
}

/**
 * Says whether text has the exact shape of a token of this prefix and kind, so that a
 * malformed token is turned away without touching the store.
 */
export function isWellFormedToken(text: string, prefix: string, kind: TokenKind): boolean {
  const head = `${prefix}_${kind}_`;
  if (text.length !== head.length + encodedLength || !text.startsWith(head)) {
    return false;
  }
  return /^[A-Za-z0-9_-]+$/.test(text.slice(head.length));
}

/**
 * The only form in which a token is stored. A token carries 256 random bits, so a fast
 * hash (SHA-256) is enough: there is nothing to brute-force.
 */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}

/**
 * A new non-secret identifier for a session or user (128 random bits, base64url). Never
 * starts with `-`, so that it can be given as a command-line argument (`keycard user
 * disable <id>`) without being read as an option.
 */
export function newId(): string {
  const id = randomBytes(16).toString("base64url");
  return id.startsWith("-") ? newId() : id;
}
