/**
 * A token bucket: `perSecond` events a second on average, at most `burst` at once. The
 * HTTP/2 guard keeps one per connection for new streams and one for cancelled streams.
 */
export class RateBudget {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = performance.now.bind(performance),
  ) {
    this.tokens = burst;
    this.updatedAt = now();
  }

  /** Spends one event; false when the budget is exhausted. */
  spend(): boolean {
    const now = this.now();
    this.tokens = Math.min(
      this.burst,
      this.tokens + ((now - this.updatedAt) / 1000) * this.perSecond,
    );
    this.updatedAt = now;
    if (this.tokens < 1) {
      return false;
    }
    this.tokens -= 1;
    return true;
  }
}
