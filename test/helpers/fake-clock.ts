import type { Clock } from "../../src/domain/clock.js";

/**
 * A clock that moves only when told to, so expiry is tested without sleeping. On a Redis
 * store, start it ahead of the real clock (the default start, in 2030, is): Redis judges
 * whether a session is live on its own clock, so it then never ends a session before the
 * fake clock does, however long the test takes. A fake clock started at `Date.now()` falls
 * behind while the test runs, and a short session may end in Redis before it ends on it.
 */
export class FakeClock implements Clock {
  constructor(private current = Date.UTC(2030, 0, 1)) {}

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    this.current += ms;
  }
}
