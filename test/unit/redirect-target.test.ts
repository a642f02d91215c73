import { describe, expect, it } from "vitest";
import {
  domainNameOf,
  maxRedirectLength,
  type RedirectPolicy,
  redirectDomainOf,
  safeRedirectTarget,
} from "../../src/domain/redirect-target.js";
import { openRedirectPayloads } from "../helpers/open-redirects.js";

const policy: RedirectPolicy = { domains: ["example.com", "10.0.0.5", "[::1]"], allowHttp: false };
const development: RedirectPolicy = { ...policy, allowHttp: true };

describe("safeRedirectTarget", () => {
  it.each([
    ["https://example.com", "https://example.com/"],
    ["https://example.com/", "https://example.com/"],
    ["https://app.example.com/orders?id=7#top", "https://app.example.com/orders?id=7#top"],
    ["https://a.b.example.com:8443/x/y", "https://a.b.example.com:8443/x/y"],
    ["https://App.Example.COM/Path", "https://app.example.com/Path"],
    [
      "https://app.example.com/search?q=a%20b&next=%2F%2Fevil",
      "https://app.example.com/search?q=a%20b&next=%2F%2Fevil",
    ],
    ["https://app.example.com//evil.com/x", "https://app.example.com//evil.com/x"],
    ["https://app.example.com/a/../b", "https://app.example.com/b"],
    ["https://xn--bcher-kva.example.com/", "https://xn--bcher-kva.example.com/"],
    ["https://10.0.0.5:8443/", "https://10.0.0.5:8443/"],
    ["https://[::1]/", "https://[::1]/"],
    ["/ui/", "/ui/"],
    ["/ui/sessions?tab=all#top", "/ui/sessions?tab=all#top"],
    ["/", "/"],
  ])("follows %j as %j", (target, expected) => {
    expect(safeRedirectTarget(target, policy)).toBe(expected);
  });

  it.each(openRedirectPayloads)("never follows %j", (payload) => {
    expect(safeRedirectTarget(payload, policy)).toBeUndefined();
    const followed = safeRedirectTarget(payload, development);
    if (followed !== undefined) {
      expect(followed).toMatch(/^http:\/\/app\.example\.com\//);
    }
  });

  it("follows http:// only in plain-HTTP development", () => {
    expect(safeRedirectTarget("http://app.example.com/x", policy)).toBeUndefined();
    expect(safeRedirectTarget("http://app.example.com/x", development)).toBe(
      "http://app.example.com/x",
    );
    expect(safeRedirectTarget("http://evil.com/", development)).toBeUndefined();
  });

  it("follows nothing absolute when no domain is allowed, and keycard's own paths still", () => {
    const none: RedirectPolicy = { domains: [], allowHttp: false };
    expect(safeRedirectTarget("https://example.com/", none)).toBeUndefined();
    expect(safeRedirectTarget("/ui/", none)).toBe("/ui/");
  });

  it("follows a target of exactly the longest length", () => {
    const base = "https://app.example.com/";
    const longest = `${base}${"a".repeat(maxRedirectLength - base.length)}`;
    expect(safeRedirectTarget(longest, policy)).toBe(longest);
    expect(safeRedirectTarget(`${longest}a`, policy)).toBeUndefined();
  });

  it("covers an allowed domain's subdomains, not the parent of an allowed subdomain", () => {
    const narrow: RedirectPolicy = { domains: ["app.example.com"], allowHttp: false };
    expect(safeRedirectTarget("https://x.app.example.com/", narrow)).toBe(
      "https://x.app.example.com/",
    );
    expect(safeRedirectTarget("https://example.com/", narrow)).toBeUndefined();
    expect(safeRedirectTarget("https://other.example.com/", narrow)).toBeUndefined();
  });
});

describe("redirectDomainOf", () => {
  it.each([
    ["example.com", "example.com"],
    [" Example.COM ", "example.com"],
    [".example.com", "example.com"],
    ["auth.example.co.uk", "auth.example.co.uk"],
    ["localhost", "localhost"],
    ["xn--bcher-kva.example", "xn--bcher-kva.example"],
    ["10.0.0.5", "10.0.0.5"],
    ["::1", "[::1]"],
    ["[0:0::1]", "[::1]"],
  ])("keeps %j as %j", (entry, expected) => {
    expect(redirectDomainOf(entry)).toBe(expected);
  });

  it.each([
    "com",
    "*.example.com",
    "example.com.",
    "https://example.com",
    "example.com/",
    "example.com:443",
    "user@example.com",
    "exa mple.com",
    "exa_mple.com",
    "-example.com",
    "example..com",
    "10.0.0.256",
    "10.0.5",
    "example.123",
    "[::g]",
    "bücher.example",
    "",
  ])("refuses %j", (entry) => {
    expect(redirectDomainOf(entry)).toBeUndefined();
  });
});

describe("domainNameOf", () => {
  it("lower-cases a DNS name and refuses an address or a name with a trailing dot", () => {
    expect(domainNameOf("Example.COM")).toBe("example.com");
    expect(domainNameOf("10.0.0.5")).toBeUndefined();
    expect(domainNameOf("example.com.")).toBeUndefined();
    expect(domainNameOf("*.example.com")).toBeUndefined();
  });
});
