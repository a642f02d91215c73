import { availableParallelism } from "node:os";
import argon2 from "argon2";
import type { PasswordHasher } from "../../domain/ports.js";
import { WorkGate } from "./work-gate.js";

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

/**
 * How many hashes may run at once by default: all cores but one, so that a storm of logins
 * never takes the core that answers Validate.
 */
export function defaultHashConcurrency(): number {
  return Math.max(1, availableParallelism() - 1);
}

/**
 * Hashes passwords with argon2id at OWASP parameters, at most `concurrency` at once; up to
 * 1,000 more wait their turn, and beyond that a login is refused with RATE_LIMITED.
 */
export function createArgon2Hasher(concurrency = defaultHashConcurrency()): PasswordHasher {
  const gate = new WorkGate(concurrency, 1_000);
  return {
    hash: (password) => gate.run(() => argon2.hash(password, owaspArgon2id)),
    verify: (hash, password) =>
      gate.run(async () => {
        try {
          return await argon2.verify(hash, password);
        } catch {
          return false;
        }
      }),
  };
}
