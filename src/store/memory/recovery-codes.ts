import type { RecoveryCodeStore } from "../../domain/ports.js";

/**
 * Recovery codes of the embedded store: a set of hashes per user. Each method runs to its
 * end without awaiting, so of concurrent uses of one code exactly one finds it.
 */
export class MemoryRecoveryCodeStore implements RecoveryCodeStore {
  private readonly byUser = new Map<string, Set<string>>();

  async replace(userId: string, hashes: readonly string[]): Promise<void> {
    this.byUser.set(userId, new Set(hashes));
  }

  async redeem(userId: string, hashes: readonly string[]): Promise<number | undefined> {
    const codes = this.byUser.get(userId);
    const filed = hashes.find((hash) => codes?.has(hash) === true);
    if (codes === undefined || filed === undefined) {
      return undefined;
    }
    codes.delete(filed);
    return codes.size;
  }

  async count(userId: string): Promise<number> {
    return this.byUser.get(userId)?.size ?? 0;
  }

  async clear(userId: string): Promise<number> {
    const count = this.byUser.get(userId)?.size ?? 0;
    this.byUser.delete(userId);
    return count;
  }
}
