import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto";
import { KeycardError } from "../domain/errors.js";

const version = "v1";

/**
 * Everything keyed by KEYCARD_ENCRYPTION_KEY: TOTP secrets encrypted at rest with
 * AES-256-GCM, and API keys hashed with HMAC-SHA-256.
 *
 * Why HMAC-SHA-256 for API keys rather than argon2: a key carries 256 random bits, so
 * there is nothing to slow down a brute-force search for; a fast hash keeps the per-request
 * check (hybrid mode) cheap. Why keyed: a copy of the store alone cannot even confirm a
 * guessed or leaked key without the server's secret.
 */
export class SecretKeeper {
  private readonly encryptionKey: Buffer | undefined;
  private readonly hashKey: Buffer | undefined;

  constructor(masterKey: Buffer | undefined) {
    this.encryptionKey = masterKey && derive(masterKey, "keycard totp encryption");
    this.hashKey = masterKey && derive(masterKey, "keycard api key hash");
  }

  /** Encrypts a secret for storage: `v1.<iv>.<tag>.<ciphertext>`, base64url parts. */
  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.required(this.encryptionKey), iv);
    const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return [version, iv, cipher.getAuthTag(), body]
      .map((part) => (typeof part === "string" ? part : part.toString("base64url")))
      .join(".");
  }

  /** Decrypts what `encrypt` stored; throws if it was tampered with or the key changed. */
  decrypt(stored: string): string {
    const [tag, iv, authTag, body] = stored.split(".");
    if (tag !== version || iv === undefined || authTag === undefined || body === undefined) {
      throw new Error("stored secret is not in the v1 format");
    }
    const decipher = createDecipheriv(
      "aes-256-gcm",
      this.required(this.encryptionKey),
      Buffer.from(iv, "base64url"),
    );
    decipher.setAuthTag(Buffer.from(authTag, "base64url"));
    return Buffer.concat([
      decipher.update(Buffer.from(body, "base64url")),
      decipher.final(),
    ]).toString("utf8");
  }

  /** The keyed hash under which an API key is stored and looked up. */
  hashApiKey(key: string): string {
    return createHmac("sha256", this.required(this.hashKey)).update(key).digest("base64url");
  }

  private required(key: Buffer | undefined): Buffer {
    if (key === undefined) {
      throw new KeycardError(
        "ENCRYPTION_KEY_MISSING",
        "API keys and TOTP need KEYCARD_ENCRYPTION_KEY to be set on the server",
      );
    }
    return key;
  }
}

function derive(masterKey: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync("sha256", masterKey, Buffer.alloc(0), purpose, 32));
}
