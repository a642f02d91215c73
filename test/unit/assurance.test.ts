import { describe, expect, it } from "vitest";
import { acrOf, assuranceOf, sessionAssurance } from "../../src/domain/assurance.js";

describe("assurance", () => {
  it("maps each method to its RFC 8176 reference, once, in order, and counts factors", () => {
    expect(assuranceOf(["password"], 5)).toEqual({ authTime: 5, amr: ["pwd"], aal: 1 });
    expect(assuranceOf(["password", "totp"], 5)).toEqual({
      authTime: 5,
      amr: ["pwd", "otp"],
      aal: 2,
    });
    expect(assuranceOf(["api_key", "totp", "totp"], 5).amr).toEqual(["swk", "otp"]);
    expect(assuranceOf(["api_key"], 5).aal).toBe(1);
  });

  it("dates a session from its login, which a derived session inherits", () => {
    const session = { authMethods: ["password"] as const, createdAt: 20 };
    expect(sessionAssurance(session).authTime).toBe(20);
    expect(sessionAssurance({ ...session, authenticatedAt: 10 }).authTime).toBe(10);
  });

  it("names the level as acr aal1 or aal2", () => {
    expect([acrOf(1), acrOf(2)]).toEqual(["aal1", "aal2"]);
  });
});
