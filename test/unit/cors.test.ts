import http from "node:http";
import type { AddressInfo } from "node:net";
import { cors } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  corsAllowedHeaders,
  corsAllowedMethods,
  corsExposedHeaders,
  corsMaxAgeSeconds,
  corsPolicy,
} from "../../src/transport/http/cors.js";

/*
 * The CORS policy on a real HTTP/1.1 server: the policy runs first and, when it did not
 * answer the request, a stand-in handler answers 200 "handled" with a rate-limit header.
 */

const app = "https://app.example.com";
const dev = "http://localhost:5173";
const stranger = "https://evil.example.net";

let server: http.Server;
let baseUrl: string;
let handled = 0;

beforeAll(async () => {
  const applyCors = corsPolicy([app, dev]);
  server = http.createServer((request, response) => {
    if (applyCors(request, response)) {
      return;
    }
    handled += 1;
    response.writeHead(200, { "content-type": "text/plain", "x-ratelimit-remaining": "4" });
    response.end("handled");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** Access-Control-* header names of a response. */
function corsHeaderNames(headers: Headers): string[] {
  return [...headers.keys()].filter((name) => name.startsWith("access-control-"));
}

function listOf(value: string | null): string[] {
  return (value ?? "").split(",").map((item) => item.trim().toLowerCase());
}

function preflight(origin: string, method = "POST", requestHeaders = "content-type") {
  return fetch(`${baseUrl}/keycard.v1.AuthService/Login`, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": method,
      "access-control-request-headers": requestHeaders,
    },
  });
}

describe("a preflight from a listed origin", () => {
  it("is answered 204 by the policy itself, echoing the origin with credentials", async () => {
    const before = handled;
    const response = await preflight(app);
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");
    expect(response.headers.get("access-control-allow-origin")).toBe(app);
    expect(response.headers.get("access-control-allow-credentials")).toBe("true");
    expect(response.headers.get("vary")).toBe("Origin");
    expect(handled).toBe(before);
  });

  it("allows GET, POST, DELETE and OPTIONS", async () => {
    const response = await preflight(dev, "DELETE");
    expect(listOf(response.headers.get("access-control-allow-methods")).sort()).toEqual(
      ["DELETE", "GET", "OPTIONS", "POST"].map((method) => method.toLowerCase()),
    );
    expect(corsAllowedMethods).toEqual(["POST", "GET", "DELETE", "OPTIONS"]);
  });

  it("allows every header Connect-Web and gRPC-Web send, and keycard's credential headers", async () => {
    const response = await preflight(app);
    const allowed = listOf(response.headers.get("access-control-allow-headers"));
    expect(allowed).toEqual([...corsAllowedHeaders]);
    for (const name of cors.allowedHeaders) {
      expect(allowed).toContain(name.toLowerCase());
    }
    expect(allowed).toEqual(
      expect.arrayContaining([
        "content-type",
        "connect-protocol-version",
        "connect-timeout-ms",
        "x-grpc-web",
        "x-user-agent",
        "grpc-timeout",
        "authorization",
        "x-session-token",
        "x-api-key",
        "x-totp-code",
        "x-request-id",
      ]),
    );
  });

  it("may be cached by the browser for two hours", async () => {
    const response = await preflight(app);
    expect(response.headers.get("access-control-max-age")).toBe("7200");
    expect(corsMaxAgeSeconds).toBe(7200);
  });
});

describe("a preflight from an origin that is not listed", () => {
  it.each([
    stranger,
    "null",
    "https://app.example.com.evil.example.net",
    "http://app.example.com",
    "https://app.example.com:8443",
  ])("from %j is refused with 403 ORIGIN_NOT_ALLOWED and no CORS headers", async (origin) => {
    const before = handled;
    const response = await preflight(origin);
    expect(response.status).toBe(403);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toMatchObject({ error: "ORIGIN_NOT_ALLOWED" });
    expect(corsHeaderNames(response.headers)).toEqual([]);
    expect(handled).toBe(before);
  });
});

describe("an actual request", () => {
  it("from a listed origin gets the origin echoed, credentials and the exposed headers", async () => {
    const response = await fetch(`${baseUrl}/api/v1/auth/me`, { headers: { origin: app } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("handled");
    expect(response.headers.get("access-control-allow-origin")).toBe(app);
    expect(response.headers.get("access-control-allow-credentials")).toBe("true");
    expect(response.headers.get("vary")).toBe("Origin");
    const exposed = listOf(response.headers.get("access-control-expose-headers"));
    expect(exposed).toEqual([...corsExposedHeaders]);
    expect(exposed).toEqual(
      expect.arrayContaining([
        "grpc-status",
        "grpc-message",
        "grpc-status-details-bin",
        "connect-content-encoding",
        "retry-after",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
      ]),
    );
    expect(response.headers.has("access-control-allow-methods")).toBe(false);
  });

  it("from an unlisted origin still reaches the handler but gets no CORS headers", async () => {
    const before = handled;
    const response = await fetch(`${baseUrl}/api/v1/auth/me`, { headers: { origin: stranger } });
    expect(response.status).toBe(200);
    expect(handled).toBe(before + 1);
    expect(corsHeaderNames(response.headers)).toEqual([]);
    expect(response.headers.get("vary")).toBe("Origin");
  });

  it("without Origin (curl, servers, same-origin GET) passes through without CORS headers", async () => {
    const response = await fetch(`${baseUrl}/health`);
    expect(await response.text()).toBe("handled");
    expect(corsHeaderNames(response.headers)).toEqual([]);
  });

  it("OPTIONS without Access-Control-Request-Method is not a preflight and reaches the handler", async () => {
    const before = handled;
    const response = await fetch(`${baseUrl}/api/v1/auth/me`, {
      method: "OPTIONS",
      headers: { origin: app },
    });
    expect(response.status).toBe(200);
    expect(handled).toBe(before + 1);
    expect(response.headers.get("access-control-allow-origin")).toBe(app);
  });
});

describe("corsPolicy", () => {
  it("keeps a Vary header set before it and does not repeat Origin", () => {
    const headers = new Map<string, string>([["vary", "Accept-Encoding"]]);
    const response = {
      getHeader: (name: string) => headers.get(name),
      setHeader: (name: string, value: string) => headers.set(name, value),
    };
    const applyCors = corsPolicy([app]);
    const request = { method: "GET", headers: { origin: app } };
    applyCors(request as never, response as never);
    applyCors(request as never, response as never);
    expect(headers.get("vary")).toBe("Accept-Encoding, Origin");
  });

  it("matches listed origins written with a default port or upper case", async () => {
    const applyCors = corsPolicy(["HTTPS://App.Example.com:443"]);
    const headers = new Map<string, string>();
    const response = {
      getHeader: (name: string) => headers.get(name),
      setHeader: (name: string, value: string) => headers.set(name, value),
    };
    expect(applyCors({ method: "GET", headers: { origin: app } } as never, response as never)).toBe(
      false,
    );
    expect(headers.get("access-control-allow-origin")).toBe(app);
  });

  it("with no allowed origins adds nothing at all, not even Vary", async () => {
    const headers = new Map<string, string>();
    const response = {
      getHeader: (name: string) => headers.get(name),
      setHeader: (name: string, value: string) => headers.set(name, value),
    };
    corsPolicy([])({ method: "GET", headers: { origin: app } } as never, response as never);
    expect([...headers.keys()]).toEqual([]);
  });
});
