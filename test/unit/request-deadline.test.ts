import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { StoreUnavailableError } from "../../src/domain/errors.js";
import {
  withinRequestDeadline,
  withoutRequestDeadline,
  withRequestDeadline,
} from "../../src/domain/request-deadline.js";

/** A store call that answers after `ms` of (fake) time. */
function storeCall(ms: number): () => Promise<string> {
  return () => new Promise((resolve) => setTimeout(() => resolve("answer"), ms));
}

/** Work that is not a store call (hashing a password) taking `ms` of (fake) time. */
function otherWork(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe("one store budget per request", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("counts time spent waiting on the store, not other work, and fails the call that overruns it", async () => {
    const outcome = withRequestDeadline(1_000, async () => {
      await otherWork(5_000);
      const first = await withinRequestDeadline(storeCall(600));
      const second = await withinRequestDeadline(storeCall(600)).catch((error: unknown) => error);
      const third = await withinRequestDeadline(storeCall(1)).catch((error: unknown) => error);
      return { first, second, third, at: performance.now() };
    });
    await vi.advanceTimersByTimeAsync(10_000);
    const { first, second, third, at } = await outcome;
    expect(first).toBe("answer");
    expect(second).toBeInstanceOf(StoreUnavailableError);
    expect(third).toBeInstanceOf(StoreUnavailableError);
    // 5 s of other work, 600 ms for the first call, the 400 ms left for the second.
    expect(at).toBeGreaterThanOrEqual(6_000);
    expect(at).toBeLessThan(6_050);
  });

  it("counts calls in flight together once, not once each", async () => {
    const outcome = withRequestDeadline(1_000, () =>
      Promise.all([
        withinRequestDeadline(storeCall(800)),
        withinRequestDeadline(storeCall(800)),
        withinRequestDeadline(storeCall(800)),
      ]),
    );
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await outcome).toEqual(["answer", "answer", "answer"]);
  });

  it("leaves calls outside a request, or taken out of one, to their own timeouts", async () => {
    const outside = withinRequestDeadline(storeCall(5_000));
    const exempt = withRequestDeadline(1_000, () =>
      withoutRequestDeadline(() => withinRequestDeadline(storeCall(5_000))),
    );
    await vi.advanceTimersByTimeAsync(6_000);
    expect(await outside).toBe("answer");
    expect(await exempt).toBe("answer");
  });
});
