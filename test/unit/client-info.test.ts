import { describe, expect, it } from "vitest";
import {
  clientInfoOf,
  type RequestOrigin,
  trustedProxyList,
} from "../../src/transport/client-info.js";

function request(
  remoteAddress: string | undefined,
  headers: RequestOrigin["headers"] = {},
): RequestOrigin {
  return { headers, socket: { remoteAddress } };
}

const proxies = trustedProxyList(["10.0.0.0/8", "192.0.2.1", "fd00::/8"]);

describe("clientInfoOf", () => {
  it("uses the peer address when the request came without a proxy", () => {
    expect(clientInfoOf(request("203.0.113.5"), { trusted: proxies }).ip).toBe("203.0.113.5");
  });

  it("ignores X-Forwarded-For from a peer that is not a trusted proxy", () => {
    const spoofed = request("203.0.113.5", { "x-forwarded-for": "198.51.100.7" });
    expect(clientInfoOf(spoofed, { trusted: proxies }).ip).toBe("203.0.113.5");
  });

  it("ignores X-Forwarded-For when no proxy is trusted at all", () => {
    const forwarded = request("10.0.0.1", { "x-forwarded-for": "198.51.100.7" });
    expect(clientInfoOf(forwarded, { trusted: trustedProxyList([]) }).ip).toBe("10.0.0.1");
  });

  it("believes X-Forwarded-For from a trusted proxy in a CIDR range", () => {
    const forwarded = request("10.1.2.3", { "x-forwarded-for": "198.51.100.7" });
    expect(clientInfoOf(forwarded, { trusted: proxies }).ip).toBe("198.51.100.7");
  });

  it("believes X-Forwarded-For from a trusted proxy listed by single address", () => {
    const forwarded = request("192.0.2.1", { "x-forwarded-for": "198.51.100.7" });
    expect(clientInfoOf(forwarded, { trusted: proxies }).ip).toBe("198.51.100.7");
    const neighbour = request("192.0.2.2", { "x-forwarded-for": "198.51.100.7" });
    expect(clientInfoOf(neighbour, { trusted: proxies }).ip).toBe("192.0.2.2");
  });

  it("picks the rightmost hop that is not a trusted proxy", () => {
    const chain = request("10.0.0.1", {
      "x-forwarded-for": "1.1.1.1, 198.51.100.7, 10.0.0.2, 192.0.2.1",
    });
    expect(clientInfoOf(chain, { trusted: proxies }).ip).toBe("198.51.100.7");
  });

  it("reads hops spread over several X-Forwarded-For headers in order", () => {
    const chain = request("10.0.0.1", { "x-forwarded-for": ["1.1.1.1, 198.51.100.7", "10.0.0.2"] });
    expect(clientInfoOf(chain, { trusted: proxies }).ip).toBe("198.51.100.7");
  });

  it("skips hops that are not IP addresses", () => {
    const chain = request("10.0.0.1", { "x-forwarded-for": "198.51.100.7, unknown, , evil" });
    expect(clientInfoOf(chain, { trusted: proxies }).ip).toBe("198.51.100.7");
  });

  it("keeps the last trusted address when every hop is a trusted proxy", () => {
    const chain = request("10.0.0.1", { "x-forwarded-for": "10.0.0.3, 10.0.0.2" });
    expect(clientInfoOf(chain, { trusted: proxies }).ip).toBe("10.0.0.3");
  });

  it("strips the ::ffff: prefix of an IPv4-mapped peer and still recognises it as trusted", () => {
    expect(clientInfoOf(request("::ffff:203.0.113.5"), { trusted: proxies }).ip).toBe(
      "203.0.113.5",
    );
    const forwarded = request("::ffff:10.0.0.1", { "x-forwarded-for": "198.51.100.7" });
    expect(clientInfoOf(forwarded, { trusted: proxies }).ip).toBe("198.51.100.7");
  });

  it("strips the ::ffff: prefix of a forwarded hop", () => {
    const forwarded = request("10.0.0.1", { "x-forwarded-for": "::ffff:198.51.100.7" });
    expect(clientInfoOf(forwarded, { trusted: proxies }).ip).toBe("198.51.100.7");
  });

  it("trusts IPv6 proxies by range", () => {
    const forwarded = request("fd00::1", { "x-forwarded-for": "2001:db8::7" });
    expect(clientInfoOf(forwarded, { trusted: proxies }).ip).toBe("2001:db8::7");
    const untrusted = request("2001:db8::9", { "x-forwarded-for": "2001:db8::7" });
    expect(clientInfoOf(untrusted, { trusted: proxies }).ip).toBe("2001:db8::9");
  });

  it("answers an empty address when the socket has none", () => {
    expect(clientInfoOf(request(undefined), { trusted: proxies }).ip).toBe("");
  });

  it("records the user agent, cut to 512 characters", () => {
    const agent = clientInfoOf(request("203.0.113.5", { "user-agent": "curl/8.5.0" }), {
      trusted: proxies,
    });
    expect(agent.userAgent).toBe("curl/8.5.0");
    const long = clientInfoOf(request("203.0.113.5", { "user-agent": "x".repeat(600) }), {
      trusted: proxies,
    });
    expect(long.userAgent).toBe("x".repeat(512));
    expect(clientInfoOf(request("203.0.113.5"), { trusted: proxies }).userAgent).toBe("");
  });

  it("reads a well-formed device-id cookie and ignores a forged or oversized one", () => {
    const id = "AbCdEfGhIjKlMnOpQrStUv";
    const cookie = (value: string) =>
      clientInfoOf(request("203.0.113.5", { cookie: `a=1; device-id=${value}` }), {
        trusted: proxies,
      }).deviceId;
    expect(cookie(id)).toBe(id);
    expect(cookie(`${id}x`)).toBeUndefined();
    expect(cookie("x".repeat(4000))).toBeUndefined();
    expect(cookie("AbCdEfGhIjKlMnOpQrSt%20")).toBeUndefined();
    expect(cookie(`-${id.slice(1)}`)).toBeUndefined();
    expect(clientInfoOf(request("203.0.113.5"), { trusted: proxies })).not.toHaveProperty(
      "deviceId",
    );
  });

  it("reads the location only from LOCATION_HEADER, and only a short printable value", () => {
    const located = (value: string, locationHeader?: string) =>
      clientInfoOf(request("203.0.113.5", { "cf-ipcountry": value }), {
        trusted: proxies,
        locationHeader,
      }).location;
    expect(located("DE", "cf-ipcountry")).toBe("DE");
    expect(located(" fr ", "cf-ipcountry")).toBe("fr");
    expect(located("DE")).toBeUndefined();
    expect(located("DE", "cloudfront-viewer-country")).toBeUndefined();
    expect(located("x".repeat(65), "cf-ipcountry")).toBeUndefined();
    expect(located("D\u0000E", "cf-ipcountry")).toBeUndefined();
    expect(located("Zürich", "cf-ipcountry")).toBeUndefined();
    expect(located("", "cf-ipcountry")).toBeUndefined();
  });
});
