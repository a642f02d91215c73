import { describe, expect, it } from "vitest";
import { LogThrottle } from "../../src/transport/log-throttle.js";

describe("a log throttle", () => {
  it("reports the first event at once, then at most every 10 s with the count since", () => {
    let now = 0;
    const throttle = new LogThrottle(() => now);
    const reported: number[] = [];
    for (let event = 0; event < 250; event += 1) {
      const count = throttle.count();
      if (count > 0) {
        reported.push(count);
      }
      now += 100;
    }
    expect(reported).toEqual([1, 100, 100]);
  });

  it("takes another interval when given one", () => {
    let now = 0;
    const throttle = new LogThrottle(() => now, 5_000);
    const reported: number[] = [];
    for (let event = 0; event < 120; event += 1) {
      const count = throttle.count();
      if (count > 0) {
        reported.push(count);
      }
      now += 100;
    }
    expect(reported).toEqual([1, 50, 50]);
  });
});
