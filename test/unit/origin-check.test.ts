import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import {
  checkCookieOrigin,
  type OriginCheckedRequest,
} from "../../src/transport/http/origin-check.js";

const allowed = ["https://app.example.com", "http://localhost:5173"];
const keycardHost = "auth.example.com";

function request(method: string, headers: Record<string, string>): OriginCheckedRequest {
  return { method, headers: { host: keycardHost, ...headers } };
}

describe("checkCookieOrigin on state-changing methods", () => {
  it.each(["POST", "PUT", "PATCH", "DELETE", "post"])("%s from a listed origin is ok", (method) => {
    expect(checkCookieOrigin(request(method, { origin: "https://app.example.com" }), allowed)).toBe(
      "ok",
    );
  });

  it.each(["POST", "PUT", "PATCH", "DELETE"])("%s from a foreign origin is forbidden", (method) => {
    expect(
      checkCookieOrigin(request(method, { origin: "https://evil.example.net" }), allowed),
    ).toBe("forbidden");
  });

  it.each([
    "http://app.example.com",
    "https://app.example.com:8443",
    "https://app.example.com.evil.example.net",
    "https://sub.app.example.com",
  ])("an origin that only resembles a listed one (%s) is forbidden", (origin) => {
    expect(checkCookieOrigin(request("POST", { origin }), allowed)).toBe("forbidden");
  });

  it("an Origin of null (sandboxed frame, no-referrer page) is forbidden", () => {
    expect(checkCookieOrigin(request("POST", { origin: "null" }), allowed)).toBe("forbidden");
  });

  it("an Origin that is not a URL is forbidden", () => {
    expect(checkCookieOrigin(request("POST", { origin: "not a url" }), allowed)).toBe("forbidden");
  });

  it("matches a listed origin written with a default port or upper case", () => {
    const listed = ["HTTPS://APP.example.com:443"];
    expect(checkCookieOrigin(request("POST", { origin: "https://app.example.com" }), listed)).toBe(
      "ok",
    );
  });
});

describe("checkCookieOrigin falls back to Referer", () => {
  it("when Origin is absent, a Referer on a listed origin is ok", () => {
    const referer = "https://app.example.com/account/settings?tab=1";
    expect(checkCookieOrigin(request("POST", { referer }), allowed)).toBe("ok");
  });

  it("when Origin is absent, a Referer on a foreign origin is forbidden", () => {
    const referer = "https://evil.example.net/https://app.example.com/";
    expect(checkCookieOrigin(request("DELETE", { referer }), allowed)).toBe("forbidden");
  });

  it("an unparseable Referer is forbidden", () => {
    expect(checkCookieOrigin(request("POST", { referer: "/relative/path" }), allowed)).toBe(
      "forbidden",
    );
  });

  it("Origin wins over Referer when both are present", () => {
    const headers = { origin: "https://evil.example.net", referer: "https://app.example.com/" };
    expect(checkCookieOrigin(request("POST", headers), allowed)).toBe("forbidden");
  });
});

describe("checkCookieOrigin for keycard's own pages", () => {
  it("without selfOrigin, an origin on the host the request was sent to is ok", () => {
    expect(checkCookieOrigin(request("POST", { origin: "https://auth.example.com" }), [])).toBe(
      "ok",
    );
  });

  it("compares the Host's port too, and ignores a default port written out", () => {
    const on8080 = { method: "POST", headers: { host: "127.0.0.1:8080" } };
    const withOrigin = (origin: string) => ({ ...on8080, headers: { ...on8080.headers, origin } });
    expect(checkCookieOrigin(withOrigin("http://127.0.0.1:8080"), [])).toBe("ok");
    expect(checkCookieOrigin(withOrigin("http://127.0.0.1:8081"), [])).toBe("forbidden");
    const defaultPort = { method: "POST", headers: { host: "auth.example.com:443" } };
    expect(
      checkCookieOrigin(
        { ...defaultPort, headers: { ...defaultPort.headers, origin: "https://auth.example.com" } },
        [],
      ),
    ).toBe("ok");
  });

  it("reads HTTP/2's :authority when there is no Host", () => {
    const h2 = {
      method: "POST",
      headers: { ":authority": "auth.example.com", origin: "https://auth.example.com" },
    };
    expect(checkCookieOrigin(h2, [])).toBe("ok");
  });

  it("with selfOrigin, compares the whole origin, scheme included, and ignores Host", () => {
    const self = "https://auth.example.com";
    expect(checkCookieOrigin(request("POST", { origin: self }), [], self)).toBe("ok");
    expect(
      checkCookieOrigin(request("POST", { origin: "http://auth.example.com" }), [], self),
    ).toBe("forbidden");
  });

  it("a foreign origin is forbidden even when the request has no Host", () => {
    const bare = { method: "POST", headers: { origin: "https://evil.example.net" } };
    expect(checkCookieOrigin(bare, allowed)).toBe("forbidden");
  });
});

describe("checkCookieOrigin lets through what cannot be a forged browser request", () => {
  it.each(["GET", "HEAD", "OPTIONS"])(
    "%s is ok from any origin: it must not change state",
    (method) => {
      expect(
        checkCookieOrigin(request(method, { origin: "https://evil.example.net" }), allowed),
      ).toBe("ok");
    },
  );

  it("a request without a method counts as GET", () => {
    expect(checkCookieOrigin({ headers: { origin: "https://evil.example.net" } }, allowed)).toBe(
      "ok",
    );
  });

  it("a POST with neither Origin nor Referer (curl, Python requests) is ok", () => {
    expect(checkCookieOrigin(request("POST", {}), allowed)).toBe("ok");
  });
});

describe("checkCookieOrigin on a real node:http request", () => {
  it("reads the headers Node parsed, for a cookie POST from a foreign page and from curl", async () => {
    const verdicts: string[] = [];
    const server = http.createServer((incoming, response) => {
      verdicts.push(checkCookieOrigin(incoming, allowed));
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/auth/logout`;
    try {
      const cookie = { cookie: "auth-token=abc" };
      await fetch(url, {
        method: "POST",
        headers: { ...cookie, origin: "https://evil.example.net" },
      });
      await fetch(url, { method: "POST", headers: { ...cookie, origin: "http://localhost:5173" } });
      await fetch(url, { method: "POST", headers: cookie });
      await fetch(url, { method: "POST", headers: { ...cookie, origin: new URL(url).origin } });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(verdicts).toEqual(["forbidden", "ok", "ok", "ok"]);
  });
});
