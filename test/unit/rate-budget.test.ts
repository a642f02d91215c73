import { describe, expect, it } from "vitest";
import { RateBudget } from "../../src/transport/server/rate-budget.js";

describe("RateBudget", () => {
  it("allows a burst, then refuses until time refills it at the given rate", () => {
    let now = 0;
    const budget = new RateBudget(10, 100, () => now);
    const spent = Array.from({ length: 150 }, () => budget.spend());
    expect(spent.filter(Boolean)).toHaveLength(100);
    expect(budget.spend()).toBe(false);
    now += 1_000;
    const refilled = Array.from({ length: 20 }, () => budget.spend());
    expect(refilled.filter(Boolean)).toHaveLength(10);
  });

  it("never holds more than its burst however long it waits", () => {
    let now = 0;
    const budget = new RateBudget(1_000, 5, () => now);
    now += 3_600_000;
    expect(Array.from({ length: 10 }, () => budget.spend()).filter(Boolean)).toHaveLength(5);
  });
});
