import type { Store } from "../domain/ports.js";

/**
 * Waits until the store answers a ping, up to `timeoutMs`. Resolves true when it did;
 * false means the store is still unreachable (callers decide whether to go on).
 */
export async function waitUntilReachable(store: Store, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await store.ping();
      return true;
    } catch {
      if (Date.now() >= deadline) {
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
