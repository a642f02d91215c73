import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/app/config/config.js";
import { problemsOf } from "../helpers/config.js";

/** A random-looking 64-character secret (32 bytes as hex). */
const secret = "9f2c4e7a1b8d3f6e0a5c2b9d4e7f1a3c6b8d0e2f4a7c9e1b3d5f8a0c2e4b6d9f";
const url = "https://app.example.com/hooks/keycard?tenant=7";

describe("SECURITY_WEBHOOK_URL and SECURITY_WEBHOOK_SECRET", () => {
  it("delivers nowhere when neither is set", () => {
    expect(loadConfig({}).securityWebhook).toBeUndefined();
  });

  it("reads the URL with its secret, http for a receiver on the same network too", () => {
    expect(
      loadConfig({ SECURITY_WEBHOOK_URL: url, SECURITY_WEBHOOK_SECRET: secret }).securityWebhook,
    ).toEqual({ url, secret });
    const local = "http://mailer.internal:8080/keycard";
    expect(
      loadConfig({ SECURITY_WEBHOOK_URL: local, SECURITY_WEBHOOK_SECRET: secret }).securityWebhook
        ?.url,
    ).toBe(local);
  });

  it.each([
    "mailer.internal/hooks",
    "ftp://app.example.com/hooks",
    "https://user:pass@app.example.com/hooks",
    "https://:8080/x",
    "not a url",
  ])("refuses %j without quoting it", (bad) => {
    const problems = problemsOf({ SECURITY_WEBHOOK_URL: bad, SECURITY_WEBHOOK_SECRET: secret });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("SECURITY_WEBHOOK_URL must be an http:// or https:// URL");
    expect(problems[0]).not.toContain(bad);
  });

  it("needs a secret of at least 32 bytes with the URL, and never quotes it", () => {
    for (const short of [undefined, "Zq3kP9xR2mW7vT5nB8cL4hJ6gF1dS0a"]) {
      const problems = problemsOf({
        SECURITY_WEBHOOK_URL: url,
        ...(short === undefined ? {} : { SECURITY_WEBHOOK_SECRET: short }),
      });
      expect(problems).toEqual([
        expect.stringContaining(
          "needs SECURITY_WEBHOOK_SECRET, a random secret of at least 32 bytes",
        ),
      ]);
      expect(problems[0]).not.toContain(short ?? "Zq3k");
    }
  });

  it("refuses a predictable secret, however long", () => {
    const problems = problemsOf({
      SECURITY_WEBHOOK_URL: url,
      SECURITY_WEBHOOK_SECRET: "abcabcabcabcabcabcabcabcabcabcabcabc",
    });
    expect(problems).toEqual([
      expect.stringContaining("SECURITY_WEBHOOK_SECRET is too predictable"),
    ]);
  });

  it("refuses a secret without a URL, which would be silently unused", () => {
    expect(problemsOf({ SECURITY_WEBHOOK_SECRET: secret })).toEqual([
      expect.stringContaining("SECURITY_WEBHOOK_SECRET is only read with SECURITY_WEBHOOK_URL"),
    ]);
  });
});
