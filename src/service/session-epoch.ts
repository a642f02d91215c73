import type { SessionEpochStore } from "../domain/ports.js";

/** How often a replica reads the shared epoch that another replica may have moved. */
const refreshEveryMs = 1_000;

/**
 * The emergency end of every session (EndAllSessions): a time before which no session is
 * valid, shared through the store. Validate checks it from memory, so it costs nothing per
 * request; each replica reads it again every second, so a session ends everywhere within
 * about a second, the Validate cache included.
 */
export class SessionEpoch {
  private notBefore = 0;

  constructor(
    private readonly store: SessionEpochStore,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Whether a session that began at `createdAt` was ended by an emergency end. */
  ended(createdAt: number): boolean {
    return createdAt < this.notBefore;
  }

  /** Ends every session that began before `at`, on this replica at once. */
  async end(at: number): Promise<void> {
    await this.store.set(at);
    this.notBefore = Math.max(this.notBefore, at);
  }

  /**
   * Reads the shared epoch now and every second until stopped; never keeps the process
   * alive. A failure is reported once, when reads start failing, not every second after.
   */
  watch(): { stop(): void } {
    let failing = false;
    const refresh = (): void => {
      this.store.read().then(
        (at) => {
          failing = false;
          this.notBefore = Math.max(this.notBefore, at);
        },
        (error: unknown) => {
          if (!failing) {
            failing = true;
            this.onError(error);
          }
        },
      );
    };
    refresh();
    const timer = setInterval(refresh, refreshEveryMs);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }
}
