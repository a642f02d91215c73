import { describe, expect, it } from "vitest";
import { assuranceOf } from "../../src/domain/assurance.js";
import { counterAdvanced, passkeyIdOf, passkeyNameOf } from "../../src/domain/passkey.js";

describe("passkeys in the domain", () => {
  it("counts a passkey that verified the user as two factors, one that did not as one", () => {
    expect(assuranceOf(["passkey_verified"], 0)).toMatchObject({ amr: ["hwk"], aal: 2 });
    expect(assuranceOf(["passkey"], 0)).toMatchObject({ amr: ["hwk"], aal: 1 });
    expect(assuranceOf(["password", "passkey"], 0)).toMatchObject({ amr: ["pwd", "hwk"], aal: 2 });
    expect(assuranceOf(["passkey", "passkey_verified"], 0)).toMatchObject({
      amr: ["hwk"],
      aal: 2,
    });
  });

  it("names a passkey as typed, trimmed, Passkey when empty, and refuses long or control text", () => {
    expect(passkeyNameOf("  Work laptop ")).toBe("Work laptop");
    expect(passkeyNameOf(" ")).toBe("Passkey");
    expect(passkeyNameOf("🔑".repeat(64))).toBe("🔑".repeat(64));
    expect(() => passkeyNameOf("x".repeat(65))).toThrow(/at most 64/);
    expect(() => passkeyNameOf("a\u0007b")).toThrow(/control/);
  });

  it("accepts a counter that moved forward, or none kept at all", () => {
    expect(counterAdvanced(0, 0)).toBe(true);
    expect(counterAdvanced(0, 1)).toBe(true);
    expect(counterAdvanced(5, 6)).toBe(true);
    expect(counterAdvanced(5, 5)).toBe(false);
    expect(counterAdvanced(5, 0)).toBe(false);
  });

  it("derives a short URL-safe id from any credential id", () => {
    const id = passkeyIdOf("A".repeat(1364));
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(passkeyIdOf("A".repeat(1364))).toBe(id);
    expect(passkeyIdOf("B")).not.toBe(id);
  });
});
