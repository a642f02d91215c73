import { afterEach, describe, expect, it, vi } from "vitest";
import { SessionEpoch } from "../../src/service/session-epoch.js";

describe("the session epoch watcher", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("reports a failure once when reads start failing, not every second, and again after a recovery", async () => {
    vi.useFakeTimers();
    const answers = [false, false, false, true, false, false];
    const store = {
      read: vi.fn(() =>
        (answers.shift() ?? true) ? Promise.resolve(5) : Promise.reject(new Error("down")),
      ),
      set: vi.fn(() => Promise.resolve()),
    };
    const errors: unknown[] = [];
    const epoch = new SessionEpoch(store, (error) => errors.push(error));
    const watcher = epoch.watch();
    for (let second = 0; second < 6; second += 1) {
      await vi.advanceTimersByTimeAsync(1_000);
    }
    watcher.stop();
    expect(store.read).toHaveBeenCalledTimes(7);
    expect(errors).toHaveLength(2);
    expect(epoch.ended(4)).toBe(true);
  });
});
