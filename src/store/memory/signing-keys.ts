import type { SigningKeyStore } from "../../domain/ports.js";
import type { SigningKeySet, StoredSigningKey } from "../../domain/signing-keys.js";

/** The JWT signing keys of the embedded store: one process, so one replica's keys. */
export class MemorySigningKeyStore implements SigningKeyStore {
  private set: SigningKeySet = { generation: 0, keys: [] };

  async read(): Promise<SigningKeySet> {
    return this.set;
  }

  async add(generation: number, key: StoredSigningKey, retire: readonly string[]) {
    if (generation !== this.set.generation) {
      return false;
    }
    const kept = this.set.keys.filter((stored) => !retire.includes(stored.kid));
    this.set = { generation: generation + 1, keys: [...kept, key] };
    return true;
  }
}
