import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/app/config/config.js";
import { problemsOf } from "../helpers/config.js";

describe("WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS and WEBAUTHN_RP_NAME", () => {
  it("turns passkeys off without an RP id outside dev mode", () => {
    expect(loadConfig({}).webauthn).toBeUndefined();
    expect(loadConfig({ KEYCARD_DEV: "1", REDIS_URL: "redis://redis:6379" }).webauthn).toBe(
      undefined,
    );
  });

  it("serves https://<rp id> under the name keycard by default", () => {
    expect(loadConfig({ WEBAUTHN_RP_ID: "Example.com" }).webauthn).toEqual({
      id: "example.com",
      name: "keycard",
      origins: ["https://example.com"],
    });
  });

  it("takes origins on the RP id and its subdomains, localhost over http, and a name", () => {
    const config = loadConfig({
      WEBAUTHN_RP_ID: "example.com",
      WEBAUTHN_ORIGINS:
        "https://login.example.com, https://example.com:8443,https://login.example.com",
      WEBAUTHN_RP_NAME: "Example SSO",
    });
    expect(config.webauthn).toEqual({
      id: "example.com",
      name: "Example SSO",
      origins: ["https://login.example.com", "https://example.com:8443"],
    });
    const local = loadConfig({
      WEBAUTHN_RP_ID: "localhost",
      WEBAUTHN_ORIGINS: "http://localhost:3000",
    });
    expect(local.webauthn?.origins).toEqual(["http://localhost:3000"]);
  });

  it("defaults to localhost and the dev server's own origin in dev mode", () => {
    expect(loadConfig({ KEYCARD_DEV: "1", PORT: "9090" }).webauthn).toEqual({
      id: "localhost",
      name: "keycard",
      origins: ["http://localhost:9090"],
    });
    expect(loadConfig({ KEYCARD_DEV: "1", WEBAUTHN_RP_ID: "dev.test" }).webauthn?.origins).toEqual([
      "https://dev.test",
    ]);
  });

  it.each([
    ["192.168.1.10", "is an IP address"],
    ["[::1]", "is an IP address"],
    ["https://example.com", "is not a host name"],
    ["example.com:443", "is not a host name"],
    ["exa_mple.com", "is not a host name"],
  ])("refuses the RP id %j", (rpId, problem) => {
    expect(problemsOf({ WEBAUTHN_RP_ID: rpId })).toEqual([expect.stringContaining(problem)]);
  });

  it.each([
    ["https://evil.com", "is not on WEBAUTHN_RP_ID"],
    ["https://notexample.com", "is not on WEBAUTHN_RP_ID"],
    ["http://login.example.com", "must use https"],
    ["https://login.example.com/path", "is not an origin"],
    ["login.example.com", "is not an origin"],
  ])("refuses the origin %j", (origin, problem) => {
    const problems = problemsOf({ WEBAUTHN_RP_ID: "example.com", WEBAUTHN_ORIGINS: origin });
    expect(problems).toEqual([expect.stringContaining(problem)]);
  });

  it("refuses origins without an RP id", () => {
    expect(problemsOf({ WEBAUTHN_ORIGINS: "https://example.com" })).toEqual([
      expect.stringContaining("only read with WEBAUTHN_RP_ID"),
    ]);
  });
});
