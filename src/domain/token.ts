import { createHash, randomBytes } from "node:crypto";

/**
 * The kinds of secret keycard mints; the kind is part of the token text: sessions, API
 * keys, and an administrator's single-use password-reset tokens.
 */
export type TokenKind = "sess" | "key" | "reset";

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

/** Characters of a session token's hash that name its session: 132 bits of SHA-256. */
export const sessionIdLength = 22;

/**
 * The id of the session a token opens: the start of the token's hash, so that a store finds
 * the session from the token without a pointer between them. It reveals nothing usable: 132
 * bits of a SHA-256 of 256 random bits cannot be turned back into the token, nor matched by
 * another. Undefined for a hash that starts with `-` (the caller mints another token), so
 * that a session id, like any id, can be given as a command-line argument.
 */
export function sessionIdOf(tokenHash: string): string | undefined {
  return tokenHash.startsWith("-") ? undefined : tokenHash.slice(0, sessionIdLength);
}

/**
 * A new non-secret identifier for a user or an API key (128 random bits, base64url). Never
 * starts with `-`, so that it can be given as a command-line argument (`keycard user
 * disable <id>`) without being read as an option.
 */
export function newId(): string {
  const id = randomBytes(16).toString("base64url");
  return id.startsWith("-") ? newId() : id;
}
