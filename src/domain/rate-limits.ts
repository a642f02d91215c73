/** Which budget a call spends: Login's small one, or the one shared by other auth calls. */
export type RateLimitKind = "login" | "auth";

/** The outcome of one rate-limited call, with what the client should be told about it. */
export interface RateDecision {
  readonly allowed: boolean;
  /** Calls allowed per window; 0 means no limit was applied (disabled). */
  readonly limit: number;
  /** Calls left in the current window after this one. */
  readonly remaining: number;
  /** Seconds until the current window ends and the budget is full again. */
  readonly resetSeconds: number;
  /** Seconds the client must wait before trying again; 0 when the call is allowed. */
  readonly retryAfterSeconds: number;
}

/** The per-IP limits of keycard's authentication routes (reference 002). */
export interface RateLimits {
  /** Spends one call of `kind` for `ip`; never rejects (a limiter failure counts locally). */
  check(kind: RateLimitKind, ip: string): Promise<RateDecision>;
}
