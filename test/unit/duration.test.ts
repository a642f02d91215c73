import { describe, expect, it } from "vitest";
import { describeDuration, parseDuration } from "../../src/domain/duration.js";

describe("parseDuration", () => {
  it.each([
    ["250ms", 250],
    ["90s", 90_000],
    ["15m", 900_000],
    ["12h", 43_200_000],
    ["7d", 604_800_000],
    ["30d", 2_592_000_000],
    ["0s", 0],
    [" 5s ", 5_000],
    ["999999999ms", 999_999_999],
  ])("reads %j as %i milliseconds", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    "",
    "5",
    "s",
    "5x",
    "5 s",
    "5S",
    "1.5h",
    "-5s",
    "+5s",
    "5s5m",
    "1e3s",
    "1234567890s",
    "five seconds",
  ])("refuses %j", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe("describeDuration", () => {
  it.each([
    [43_200_000, "12 hours"],
    [2_592_000_000, "30 days"],
    [86_400_000, "1 day"],
    [3_600_000, "1 hour"],
    [60_000, "1 minute"],
    [1_000, "1 second"],
    [90_000, "90 seconds"],
    [5_400_000, "90 minutes"],
    [90_000_000, "25 hours"],
    [0, "0 seconds"],
    [1_499, "1 second"],
    [1_500, "2 seconds"],
  ])("describes %i ms as %j", (ms, text) => {
    expect(describeDuration(ms)).toBe(text);
  });

  it("describes what parseDuration reads back as the same amount", () => {
    for (const text of ["90s", "15m", "12h", "7d"]) {
      const ms = parseDuration(text);
      expect(ms).toBeDefined();
      const [count = "", unit = ""] = describeDuration(ms ?? 0).split(" ");
      expect(`${count}${unit[0]}`).toBe(text);
    }
  });
});
