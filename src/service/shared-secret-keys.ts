import { createHash } from "node:crypto";
import { KeycardError } from "../domain/errors.js";
import type { PublicJwk, StoredSigningKey } from "../domain/signing-keys.js";
import type { JwtKeys, SigningKey } from "./signing-keyring.js";

/**
 * HS256 with a shared secret (JWT_SECRET), for verifiers that already hold one (reference
 * 004's style): every holder of the secret can also forge tokens, so it is never the
 * default. Nothing is published (a JWKS never carries a secret), and the key is rotated by
 * changing the secret on keycard and its verifiers together.
 */
export class SharedSecretKeys implements JwtKeys {
  private readonly key: SigningKey;

  constructor(secret: string) {
    const kid = createHash("sha256").update(secret).digest("base64url").slice(0, 16);
    this.key = { kid: `hs256-${kid}`, alg: "HS256", key: new TextEncoder().encode(secret) };
  }

  async signingKey(): Promise<SigningKey> {
    return this.key;
  }

  async publicKeys(): Promise<PublicJwk[]> {
    return [];
  }

  async rotate(): Promise<StoredSigningKey> {
    throw new KeycardError(
      "SIGNING_KEY_FIXED",
      "JWTs are signed with JWT_SECRET (JWT_ALGORITHM=HS256): rotate it by changing JWT_SECRET on keycard and on every verifier",
    );
  }
}
