import type { SessionService } from "./session-service.js";

/** How often a running server looks for sessions that reached their expiry. */
export const expirySweepIntervalMs = 15_000;

/** A running sweep loop. */
export interface ExpirySweeper {
  stop(): void;
}

/**
 * Sweeps expired sessions off the live list every `intervalMs` while the server runs, so
 * that `session.expired` is audited and counted within one interval of each expiry. A
 * sweep that finds a full batch goes on at once; a failed one (Redis down) waits for the
 * next tick. The timer never keeps the process alive.
 */
export function startExpirySweeper(
  sessions: SessionService,
  onError: (error: unknown) => void,
  intervalMs = expirySweepIntervalMs,
): ExpirySweeper {
  const batch = 1_000;
  let running = false;
  const sweep = async (): Promise<void> => {
    if (running) {
      return;
    }
    running = true;
    try {
      for (let swept = batch; swept === batch; ) {
        swept = await sessions.sweepExpired(batch);
      }
    } catch (error) {
      onError(error);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void sweep(), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
