import { describe, expect, it } from "vitest";
import { WorkGate } from "../../src/store/infra/work-gate.js";

/** A task that runs until released, recording how many ran at the same time. */
function gatedTasks() {
  let running = 0;
  let peak = 0;
  const releases: (() => void)[] = [];
  const task = (): Promise<number> => {
    running += 1;
    peak = Math.max(peak, running);
    return new Promise((resolve) =>
      releases.push(() => {
        running -= 1;
        resolve(peak);
      }),
    );
  };
  return { task, releases, peak: () => peak };
}

describe("WorkGate", () => {
  it("runs at most its concurrency at once and the rest in arrival order", async () => {
    const gate = new WorkGate(2, 10);
    const { task, releases, peak } = gatedTasks();
    const order: number[] = [];
    const runs = [0, 1, 2, 3].map((i) =>
      gate.run(async () => {
        order.push(i);
        return task();
      }),
    );
    await Promise.resolve();
    expect(order).toEqual([0, 1]);
    while (releases.length > 0) {
      releases.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(runs);
    expect(order).toEqual([0, 1, 2, 3]);
    expect(peak()).toBe(2);
  });

  it("refuses work beyond its queue with RATE_LIMITED, and frees its place after a failure", async () => {
    const gate = new WorkGate(1, 1);
    const { task, releases } = gatedTasks();
    const first = gate.run(task);
    const second = gate.run(task);
    await expect(gate.run(task)).rejects.toMatchObject({
      reason: "RATE_LIMITED",
      retryAfterSeconds: 1,
    });
    releases.shift()?.();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    releases.shift()?.();
    await second;
    await expect(gate.run(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    await expect(gate.run(async () => "after")).resolves.toBe("after");
  });
});
