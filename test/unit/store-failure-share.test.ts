import { describe, expect, it } from "vitest";
import { StoreFailureShare } from "../../src/transport/store-failure-share.js";

describe("the share of calls the store failed", () => {
  it("counts the calls and failures of the last 10 s and forgets older ones", () => {
    let now = 0;
    const share = new StoreFailureShare(() => now);
    for (let call = 0; call < 10; call += 1) {
      share.record(call % 2 === 0);
    }
    expect(share.read()).toEqual({ calls: 10, failed: 5, windowSeconds: 10 });
    now = 9_500;
    share.record(false);
    expect(share.read()).toEqual({ calls: 11, failed: 5, windowSeconds: 10 });
    now = 10_000;
    expect(share.read()).toEqual({ calls: 1, failed: 0, windowSeconds: 10 });
    now = 25_000;
    share.record(true);
    expect(share.read()).toEqual({ calls: 1, failed: 1, windowSeconds: 10 });
  });
});
