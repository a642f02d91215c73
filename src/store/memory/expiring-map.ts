/**
 * A Map whose entries vanish at a deadline, like Redis keys with PEXPIREAT. Expired
 * entries are invisible at once and swept on access, so memory does not grow with time.
 */
export class ExpiringMap<K, V> {
  private readonly entries = new Map<K, { value: V; until: number }>();

  constructor(private readonly now: () => number) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      return undefined;
    }
    if (entry.until <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: K, value: V, until: number): void {
    this.entries.set(key, { value, until });
  }

  /** Changes a live entry's value and keeps its deadline; does nothing for an absent one. */
  replace(key: K, value: V): void {
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      entry.value = value;
    }
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  /** Drops every expired entry; called periodically by the owner. */
  sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (entry.until <= now) {
        this.entries.delete(key);
      }
    }
  }
}
