import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
} from "node:crypto";
import { KeycardError } from "../domain/errors.js";

/** One master key's derived keys, and the id that names it in what it encrypted. */
interface DerivedKeys {
  readonly id: string;
  readonly encryption: Buffer;
  readonly hash: Buffer;
  readonly recoveryCodeHash: Buffer;
}

/**
 * Everything keyed by KEYCARD_ENCRYPTION_KEY: TOTP secrets encrypted at rest with
 * AES-256-GCM, and API keys and recovery codes hashed with HMAC-SHA-256. Previous keys
 * (KEYCARD_PREVIOUS_ENCRYPTION_KEYS) still decrypt and still find API keys, so the key can
 * be rotated: the new one encrypts, `keycard reencrypt` moves stored TOTP secrets to it,
 * and an API key is hashed again under it the first time it is used (a recovery code is
 * used once: its hash under a previous key finds it until the codes are made anew).
 *
 * Why HMAC-SHA-256 for API keys rather than argon2: a key carries 256 random bits, so
 * there is nothing to slow down a brute-force search for; a fast hash keeps the per-request
 * check (hybrid mode) cheap. Why keyed: a copy of the store alone cannot even confirm a
 * guessed or leaked key without the server's secret. Recovery codes carry only 60 bits, which
 * a fast hash alone would leave open to a search through a copy of the store; keyed, the
 * copy is of no use without the server's secret.
 */
export class SecretKeeper {
  private readonly current: DerivedKeys | undefined;
  private readonly previous: readonly DerivedKeys[];

  constructor(masterKey: Buffer | undefined, previousKeys: readonly Buffer[] = []) {
    this.current = masterKey && derive(masterKey);
    this.previous = previousKeys.map(derive);
  }

  /** Encrypts a secret for storage: `v2.<key id>.<iv>.<tag>.<ciphertext>`. */
  encrypt(plain: string): string {
    const key = this.required(this.current);
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", key.encryption, iv);
    const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return [
      "v2",
      key.id,
      ...[iv, cipher.getAuthTag(), body].map((part) => part.toString("base64url")),
    ].join(".");
  }

  /**
   * Decrypts what `encrypt` stored, under the current key or a previous one; throws if it
   * was tampered with or no key of the ring made it. `v1` values (before key ids) are tried
   * under each key.
   */
  decrypt(stored: string): string {
    const parts = stored.split(".");
    if (parts[0] === "v2" && parts.length === 5) {
      const key = this.ring().find((candidate) => candidate.id === parts[1]);
      if (key === undefined) {
        throw keyNotConfigured();
      }
      return open(key, parts.slice(2));
    }
    if (parts[0] === "v1" && parts.length === 4) {
      for (const key of this.ring()) {
        try {
          return open(key, parts.slice(1));
        } catch {
          // Another key of the ring may have made it.
        }
      }
      throw keyNotConfigured();
    }
    throw new Error("stored secret is not in the v1 or v2 format");
  }

  /** Whether `stored` is encrypted under the current key (else `keycard reencrypt` moves it). */
  isCurrent(stored: string): boolean {
    return stored.startsWith(`v2.${this.required(this.current).id}.`);
  }

  /** The keyed hash under which an API key is stored and looked up. */
  hashApiKey(key: string): string {
    return hmac(this.required(this.current), key);
  }

  /** The hashes an API key had under the previous keys, newest first. */
  previousApiKeyHashes(key: string): string[] {
    return this.previous.map((previous) => hmac(previous, key));
  }

  /**
   * The keyed hash under which a user's recovery code (in its canonical form) is stored:
   * the user's id is part of it, so that a hash means nothing for another account.
   */
  hashRecoveryCode(userId: string, code: string): string {
    return recoveryHmac(this.required(this.current), userId, code);
  }

  /** The hashes a user's recovery code may be stored under: the current key's, then the previous ones'. */
  recoveryCodeHashes(userId: string, code: string): string[] {
    return this.ring().map((key) => recoveryHmac(key, userId, code));
  }

  private ring(): DerivedKeys[] {
    return [this.required(this.current), ...this.previous];
  }

  private required(key: DerivedKeys | undefined): DerivedKeys {
    if (key === undefined) {
      throw new KeycardError(
        "ENCRYPTION_KEY_MISSING",
        "API keys, TOTP and JWT signing keys need KEYCARD_ENCRYPTION_KEY to be set on the server",
      );
    }
    return key;
  }
}

/** A stored secret no key of the ring opens: the server's keys are misconfigured. */
function keyNotConfigured(): KeycardError {
  return new KeycardError(
    "ENCRYPTION_KEY_MISSING",
    "A stored secret (a TOTP secret or a JWT signing key) was encrypted under a key this server does not have: set it in KEYCARD_PREVIOUS_ENCRYPTION_KEYS",
  );
}

function derive(masterKey: Buffer): DerivedKeys {
  const derived = (purpose: string): Buffer =>
    Buffer.from(hkdfSync("sha256", masterKey, Buffer.alloc(0), purpose, 32));
  const encryption = derived("keycard totp encryption");
  return {
    id: createHash("sha256").update(encryption).digest("base64url").slice(0, 8),
    encryption,
    hash: derived("keycard api key hash"),
    recoveryCodeHash: derived("keycard recovery code hash"),
  };
}

/** Decrypts `[iv, tag, body]` (base64url) with `key`; throws when the tag does not match. */
function open(key: DerivedKeys, [iv = "", tag = "", body = ""]: string[]): string {
  const decipher = createDecipheriv("aes-256-gcm", key.encryption, Buffer.from(iv, "base64url"));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([
    decipher.update(Buffer.from(body, "base64url")),
    decipher.final(),
  ]).toString("utf8");
}

function hmac(key: DerivedKeys, text: string): string {
  return createHmac("sha256", key.hash).update(text).digest("base64url");
}

function recoveryHmac(key: DerivedKeys, userId: string, code: string): string {
  return createHmac("sha256", key.recoveryCodeHash).update(`${userId}:${code}`).digest("base64url");
}
