import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/app/config/config.js";
import { problemsOf } from "../helpers/config.js";

describe("ALLOWED_ORIGINS", () => {
  it("allows no cross-origin browser page when unset or blank", () => {
    expect(loadConfig({}).allowedOrigins).toEqual([]);
    expect(loadConfig({ ALLOWED_ORIGINS: " , " }).allowedOrigins).toEqual([]);
  });

  it("reads comma-separated origins with ports, trimming spaces", () => {
    const config = loadConfig({
      ALLOWED_ORIGINS: " https://app.example.com , http://localhost:5173,http://127.0.0.1:8081 ",
    });
    expect(config.allowedOrigins).toEqual([
      "https://app.example.com",
      "http://localhost:5173",
      "http://127.0.0.1:8081",
    ]);
  });

  it("stores origins the way browsers send Origin: lower-case host, default port dropped", () => {
    const config = loadConfig({
      ALLOWED_ORIGINS: "HTTPS://App.Example.COM:443,http://[::1]:80,https://app.example.com",
    });
    expect(config.allowedOrigins).toEqual(["https://app.example.com", "http://[::1]"]);
  });

  it.each([
    "https://app.example.com/",
    "https://app.example.com/login",
    "https://app.example.com?x=1",
    "https://app.example.com#top",
    "https://user:pass@app.example.com",
    "app.example.com",
    "*",
    "null",
    "ftp://files.example.com",
    "chrome-extension://abcdef",
    "http://localhost:99999",
    "http://exa mple.com",
  ])("refuses %j, naming the variable and the entry", (entry) => {
    const problems = problemsOf({ ALLOWED_ORIGINS: `https://ok.example.com,${entry}` });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("ALLOWED_ORIGINS");
    expect(problems[0]).toContain(`"${entry}"`);
  });

  it("reports every bad entry, not only the first", () => {
    expect(
      problemsOf({ ALLOWED_ORIGINS: "*,https://a.example.com/,https://b.example.com" }),
    ).toEqual([
      expect.stringContaining('"*"'),
      expect.stringContaining('"https://a.example.com/"'),
    ]);
  });
});

describe("COOKIE_SECURE", () => {
  it("marks cookies Secure by default", () => {
    expect(loadConfig({}).cookieSecure).toBe(true);
    expect(loadConfig({ COOKIE_SECURE: "" }).cookieSecure).toBe(true);
  });

  it("turns Secure off only when set to false, in any case", () => {
    expect(loadConfig({ COOKIE_SECURE: "false" }).cookieSecure).toBe(false);
    expect(loadConfig({ COOKIE_SECURE: " FALSE " }).cookieSecure).toBe(false);
    expect(loadConfig({ COOKIE_SECURE: "true" }).cookieSecure).toBe(true);
  });

  it.each(["no", "0", "off", "yes"])("refuses %j instead of guessing", (value) => {
    expect(problemsOf({ COOKIE_SECURE: value })).toEqual([
      expect.stringContaining("COOKIE_SECURE"),
    ]);
  });
});

describe("COOKIE_DOMAIN", () => {
  it("keeps cookies on keycard's own host when unset or blank", () => {
    expect(loadConfig({})).not.toHaveProperty("cookieDomain");
    expect(loadConfig({ COOKIE_DOMAIN: " " })).not.toHaveProperty("cookieDomain");
  });

  it("reads a parent domain in lower case, dropping a leading dot", () => {
    expect(loadConfig({ COOKIE_DOMAIN: "example.com" }).cookieDomain).toBe("example.com");
    expect(loadConfig({ COOKIE_DOMAIN: " .Auth.Example.COM " }).cookieDomain).toBe(
      "auth.example.com",
    );
  });

  it.each([
    "localhost",
    "com",
    "*.example.com",
    "https://example.com",
    "example.com:443",
    "example.com/",
    "example.com.",
    "10.0.0.5",
    "[::1]",
    "exa mple.com",
  ])("refuses %j, naming the variable", (value) => {
    expect(problemsOf({ COOKIE_DOMAIN: value })).toEqual([
      expect.stringContaining(`COOKIE_DOMAIN="${value}"`),
    ]);
  });
});

describe("ALLOWED_REDIRECT_DOMAINS", () => {
  it("allows no other host when unset", () => {
    expect(loadConfig({}).allowedRedirectDomains).toEqual([]);
  });

  it("reads domains and addresses in lower case, once each", () => {
    expect(
      loadConfig({ ALLOWED_REDIRECT_DOMAINS: "Example.com, .example.com,example.org,::1" })
        .allowedRedirectDomains,
    ).toEqual(["example.com", "example.org", "[::1]"]);
  });

  it("reports every bad entry, naming the variable and the entry", () => {
    expect(
      problemsOf({
        ALLOWED_REDIRECT_DOMAINS: "example.com,*.example.org,https://example.net,com,a..b.com",
      }),
    ).toEqual([
      expect.stringContaining('ALLOWED_REDIRECT_DOMAINS entry "*.example.org"'),
      expect.stringContaining('"https://example.net"'),
      expect.stringContaining('"com"'),
      expect.stringContaining('"a..b.com"'),
    ]);
  });
});
