import { describe, expect, it } from "vitest";
import { canonicalRecoveryCode, newRecoveryCode } from "../../src/domain/recovery-code.js";

describe("recovery codes", () => {
  it("are three groups of four characters of Crockford's base32, lower-cased", () => {
    for (let i = 0; i < 200; i += 1) {
      expect(newRecoveryCode()).toMatch(
        /^[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}$/,
      );
    }
  });

  it("draw every one of the 32 symbols, each about as often (60 random bits a code)", () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 2_000; i += 1) {
      for (const symbol of newRecoveryCode().replaceAll("-", "")) {
        counts.set(symbol, (counts.get(symbol) ?? 0) + 1);
      }
    }
    expect(counts.size).toBe(32);
    // 24,000 symbols: 750 expected each; a bias of a whole bit would show as 1,500 or 375.
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(600);
      expect(count).toBeLessThan(900);
    }
  });

  it("read the same whatever the case, dashes and spaces", () => {
    expect(canonicalRecoveryCode("7k2m-9qxw-ar4t")).toBe("7k2m9qxwar4t");
    expect(canonicalRecoveryCode(" 7K2M 9QXW AR4T ")).toBe("7k2m9qxwar4t");
    expect(canonicalRecoveryCode("7k2m9qxwar4t")).toBe("7k2m9qxwar4t");
    expect(canonicalRecoveryCode("7k-2m-9q-xw-ar-4t")).toBe("7k2m9qxwar4t");
  });

  it("read i and l as 1 and o as 0, as a person copying from paper may type them", () => {
    expect(canonicalRecoveryCode("abcd-efgh-ILO0")).toBe("abcdefgh1100");
  });

  it("are not read from text of another length or with other characters", () => {
    expect(canonicalRecoveryCode("")).toBeUndefined();
    expect(canonicalRecoveryCode("7k2m-9qxw-ar4")).toBeUndefined();
    expect(canonicalRecoveryCode("7k2m-9qxw-ar4tt")).toBeUndefined();
    expect(canonicalRecoveryCode("7k2m-9qxw-ar4u")).toBeUndefined();
    expect(canonicalRecoveryCode("7k2m_9qxw_ar4t")).toBeUndefined();
    expect(canonicalRecoveryCode("123456")).toBeUndefined();
  });
});
