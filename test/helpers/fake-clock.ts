import type { Clock } from "../../src/domain/clock.js";

/** A clock that moves only when told to, so expiry is tested without sleeping. */
export class FakeClock implements Clock {
  constructor(private current = Date.UTC(2030, 0, 1)) {}

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    this.current += ms;
  }
}
