import { describe, expect, it } from "vitest";
import { reportLifetimes } from "../../src/service/session-lifetimes.js";

describe("reportLifetimes", () => {
  it("reports each ended session's lifetime under the reason", () => {
    const heard: [string, number][] = [];
    reportLifetimes((reason, ms) => heard.push([reason, ms]), "logout", [1_000, 4_000], 10_000);
    expect(heard).toEqual([
      ["logout", 9_000],
      ["logout", 6_000],
    ]);
  });

  it("leaves out a start that is unknown or after the end, and works without a listener", () => {
    const heard: number[] = [];
    reportLifetimes((_, ms) => heard.push(ms), "expired", [0, 12_000, 10_000], 10_000);
    expect(heard).toEqual([0]);
    expect(() => reportLifetimes(undefined, "expired", [1], 2)).not.toThrow();
  });
});
