import type { Logger } from "pino";
import { LogThrottle } from "./log-throttle.js";
import type { KeycardMetrics } from "./metrics.js";

/**
 * Counts every token presented that keycard never issued (`keycard_unknown_tokens_total`)
 * and logs `session.unknown_token` with how many came since the last line, at most once per
 * 10 s: a burst of guessed tokens leaves a trace without flooding the log.
 */
export function unknownTokenReporter(metrics: KeycardMetrics, logger: Logger): () => void {
  const throttle = new LogThrottle();
  return () => {
    metrics.unknownTokens.inc();
    const count = throttle.count();
    if (count > 0) {
      logger.warn({ audit: "session.unknown_token", count }, "session.unknown_token");
    }
  };
}
