import type { Logger } from "pino";
import type { KeycardMetrics } from "./metrics.js";

/** At most one log line per this long, however many unknown tokens arrive. */
const reportEveryMs = 10_000;

/**
 * Counts every token presented that keycard never issued (`keycard_unknown_tokens_total`)
 * and logs `session.unknown_token` with how many came since the last line, at most once per
 * 10 s: a burst of guessed tokens leaves a trace without flooding the log.
 */
export function unknownTokenReporter(metrics: KeycardMetrics, logger: Logger): () => void {
  let unreported = 0;
  let lastReport = Number.NEGATIVE_INFINITY;
  return () => {
    metrics.unknownTokens.inc();
    unreported += 1;
    const now = performance.now();
    if (now - lastReport >= reportEveryMs) {
      logger.warn({ audit: "session.unknown_token", count: unreported }, "session.unknown_token");
      unreported = 0;
      lastReport = now;
    }
  };
}
