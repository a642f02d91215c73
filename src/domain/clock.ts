/** Source of the current time, in epoch milliseconds; tests pass their own to move time. */
export interface Clock {
  now(): number;
}

/** Epoch milliseconds as whole epoch seconds, as JWT-style claims and headers carry them. */
export function epochSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/** The real wall clock. */
export const systemClock: Clock = { now: () => Date.now() };
