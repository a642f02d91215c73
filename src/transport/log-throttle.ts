/** By default at most one line per this long, however many events come. */
const defaultEveryMs = 10_000;

/**
 * Counts repeated events and says when a log line about them is due: the first at once, then
 * at most one per 10 s (or `everyMs`), with how many came since the last line, so that a
 * burst or an outage leaves a trace without flooding the log.
 */
export class LogThrottle {
  private unreported = 0;
  private lastLine = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly everyMs = defaultEveryMs,
  ) {}

  /** Counts one event; returns how many a line due now reports, or 0 when none is due. */
  count(): number {
    this.unreported += 1;
    const now = this.now();
    if (now - this.lastLine < this.everyMs) {
      return 0;
    }
    const count = this.unreported;
    this.unreported = 0;
    this.lastLine = now;
    return count;
  }
}
