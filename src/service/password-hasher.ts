import argon2 from "argon2";
import type { PasswordHasher } from "../domain/ports.js";

/**
 * OWASP's argon2id baseline (m=19 MiB, t=2, p=1). argon2 runs in libuv's threadpool, so
 * hashing never blocks the event loop.
 */
const owaspArgon2id = {
  type: argon2.argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

/** Hashes passwords with argon2id at OWASP parameters. */
export function createArgon2Hasher(): PasswordHasher {
  return {
    hash: (password) => argon2.hash(password, owaspArgon2id),
    verify: async (hash, password) => {
      try {
        return await argon2.verify(hash, password);
      } catch {
        return false;
      }
    },
  };
}
