/** Source of the current time, in epoch milliseconds; tests pass their own to move time. */
export interface Clock {
  now(): number;
}

/** The real wall clock. */
export const systemClock: Clock = { now: () => Date.now() };
