import { createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { parseSetCookie } from "cookie";
import { beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import { connectReasonOf } from "../helpers/connect-auth.js";
import { createTestUser, keycardForSuite } from "../helpers/keycard.js";
import { bearer, send } from "../helpers/rest.js";

/*
 * Cookie mode, the portal's way of calling AuthService (x-session-cookie): the session
 * rides in the HttpOnly auth-token cookie and never reaches the page. Attacked as another
 * site's page would: a cookie alone never authenticates an RPC, a cookie-mode call from a
 * foreign origin is refused (the login too: no logging a visitor in to the attacker's
 * account), a preflight for the header is granted only to ALLOWED_ORIGINS. Over Connect's
 * JSON, gRPC-Web and REST alike.
 */

const allowed = "https://app.example.com";
const suite = keycardForSuite({ allowedOrigins: [allowed], cookieSecure: false });
let user: Awaited<ReturnType<typeof createTestUser>>;
let self: string;

beforeAll(async () => {
  user = await createTestUser(suite.keycard);
  self = `http://127.0.0.1:${suite.keycard.port}`;
});

const cookieMode = { "x-session-cookie": "1" };

/** POSTs a Connect JSON call of AuthService. */
function connectCall(method: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${suite.keycard.baseUrl}/keycard.v1.AuthService/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/** The auth-token Set-Cookie of a response, parsed; undefined when there is none. */
function sessionSetCookie(response: Response) {
  return response.headers
    .getSetCookie()
    .map((line) => parseSetCookie(line))
    .find((cookie) => cookie.name === "auth-token");
}

async function cookieLogin(origin = self, extra: Record<string, string> = {}) {
  return connectCall(
    "Login",
    { email: user.email, password: user.password },
    { ...cookieMode, origin, ...extra },
  );
}

async function loggedInCookie(): Promise<string> {
  const login = await cookieLogin();
  return sessionSetCookie(login)?.value ?? "";
}

async function isLive(token: string): Promise<boolean> {
  return (
    (await send(`${suite.keycard.baseUrl}/auth/me`, { headers: bearer(token) })).status === 200
  );
}

describe("a cookie-mode login", () => {
  it("puts the token in an HttpOnly cookie and not in the answer", async () => {
    const login = await cookieLogin();
    expect(login.status).toBe(200);
    const body = (await login.json()) as Record<string, unknown>;
    expect(body.sessionToken).toBe("");
    expect(body.sessionId).not.toBe("");
    const cookie = sessionSetCookie(login);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "lax", path: "/" });
    expect(cookie?.maxAge).toBeUndefined();
    expect(await isLive(cookie?.value ?? "")).toBe(true);
  });

  it("gives a remember-me login a cookie that lasts as long as its session", async () => {
    const login = await connectCall(
      "Login",
      { email: user.email, password: user.password, rememberMe: true },
      { ...cookieMode, origin: self },
    );
    const body = (await login.json()) as { expiresIn: number };
    expect(sessionSetCookie(login)?.maxAge).toBe(body.expiresIn);
  });

  it("leaves a login without the header as it always was: the token in the answer, no cookie", async () => {
    const login = await connectCall(
      "Login",
      { email: user.email, password: user.password },
      { origin: self },
    );
    expect(((await login.json()) as { sessionToken: string }).sessionToken).toMatch(/^kc_sess_/);
    expect(sessionSetCookie(login)).toBeUndefined();
  });

  it("is refused from another site's page (login CSRF), before any password is checked", async () => {
    const login = await cookieLogin("https://evil.example.net");
    expect(login.status).toBe(403);
    const body = (await login.json()) as { code: string; message: string };
    expect(body.code).toBe("permission_denied");
    expect(body.message).toMatch(/origin/);
    expect(sessionSetCookie(login)).toBeUndefined();
  });

  it("is allowed from an ALLOWED_ORIGINS page, and from a program that sends no Origin", async () => {
    expect((await cookieLogin(allowed)).status).toBe(200);
    const program = await connectCall(
      "Login",
      { email: user.email, password: user.password },
      cookieMode,
    );
    expect(program.status).toBe(200);
  });

  it("ends the session of the cookie it replaces", async () => {
    const old = await loggedInCookie();
    const login = await cookieLogin(self, { cookie: `auth-token=${old}` });
    expect(login.status).toBe(200);
    expect(await isLive(old)).toBe(false);
    expect(await isLive(sessionSetCookie(login)?.value ?? "")).toBe(true);
  });
});

describe("a cookie-mode call", () => {
  it("is authenticated by the cookie, and a cookie without the header authenticates nothing", async () => {
    const token = await loggedInCookie();
    const me = await connectCall(
      "GetMe",
      {},
      { ...cookieMode, origin: self, cookie: `auth-token=${token}` },
    );
    expect(me.status).toBe(200);
    const cookieOnly = await connectCall(
      "GetMe",
      {},
      { origin: self, cookie: `auth-token=${token}` },
    );
    expect(cookieOnly.status).toBe(401);
  });

  it("is refused from a foreign origin even with a good cookie (CSRF)", async () => {
    const token = await loggedInCookie();
    const revoke = await connectCall(
      "RevokeSession",
      { scope: "REVOKE_SCOPE_ALL" },
      { ...cookieMode, origin: "https://evil.example.net", cookie: `auth-token=${token}` },
    );
    expect(revoke.status).toBe(403);
    expect(await isLive(token)).toBe(true);
    const nullOrigin = await connectCall(
      "GetMe",
      {},
      { ...cookieMode, origin: "null", cookie: `auth-token=${token}` },
    );
    expect(nullOrigin.status).toBe(403);
  });

  it("says a tampered, revoked or unknown cookie is no session (401), never a 500", async () => {
    const token = await loggedInCookie();
    const tampered = `${token.slice(0, -2)}AA`;
    for (const value of [tampered, "kc_sess_short", "x".repeat(4000), ""]) {
      const me = await connectCall(
        "GetMe",
        {},
        { ...cookieMode, origin: self, cookie: `auth-token=${value}` },
      );
      expect(me.status).toBe(401);
    }
    await connectCall("Logout", {}, { ...cookieMode, origin: self, cookie: `auth-token=${token}` });
    const revoked = await connectCall(
      "GetMe",
      {},
      { ...cookieMode, origin: self, cookie: `auth-token=${token}` },
    );
    expect(revoked.status).toBe(401);
  });

  it("clears the cookie at Logout and when it signs out everywhere", async () => {
    for (const [method, body] of [
      ["Logout", {}],
      ["RevokeSession", { scope: "REVOKE_SCOPE_ALL" }],
    ] as const) {
      const token = await loggedInCookie();
      const out = await connectCall(method, body, {
        ...cookieMode,
        origin: self,
        cookie: `auth-token=${token}`,
      });
      expect(out.status).toBe(200);
      expect(sessionSetCookie(out)).toMatchObject({ value: "", maxAge: 0 });
      expect(await isLive(token)).toBe(false);
    }
  });

  it("renews the cookie at Refresh and Reauthenticate without showing the new token", async () => {
    const token = await loggedInCookie();
    const refreshed = await connectCall(
      "Refresh",
      {},
      { ...cookieMode, origin: self, cookie: `auth-token=${token}` },
    );
    expect(((await refreshed.json()) as { sessionToken: string }).sessionToken).toBe("");
    const renewed = sessionSetCookie(refreshed)?.value ?? "";
    expect(renewed).toMatch(/^kc_sess_/);
    expect(renewed).not.toBe(token);
    const reauth = await connectCall(
      "Reauthenticate",
      { password: user.password },
      { ...cookieMode, origin: self, cookie: `auth-token=${renewed}` },
    );
    expect(((await reauth.json()) as { sessionToken: string }).sessionToken).toBe("");
    expect(await isLive(sessionSetCookie(reauth)?.value ?? "")).toBe(true);
  });
});

describe("cookie mode at the other doors", () => {
  it("works the same over gRPC-Web", async () => {
    const client = createClient(
      AuthService,
      createGrpcWebTransport({ baseUrl: suite.keycard.baseUrl, httpVersion: "1.1" }),
    );
    let setCookie = "";
    const login = await client.login(
      { email: user.email, password: user.password },
      {
        headers: { ...cookieMode, origin: self },
        onHeader: (headers) =>
          (setCookie = headers.getSetCookie().find((line) => line.startsWith("auth-token=")) ?? ""),
      },
    );
    expect(login.sessionToken).toBe("");
    expect(setCookie).toMatch(/^auth-token=kc_sess_.*HttpOnly/);
    const refused = await client
      .getMe({}, { headers: { ...cookieMode, origin: "https://evil.example.net" } })
      .catch((error: unknown) => error);
    expect(connectReasonOf(refused)).toBe("PERMISSION_DENIED");
  });

  it("works the same over REST, and REST refuses a foreign origin alike", async () => {
    const token = await loggedInCookie();
    const me = await fetch(`${suite.keycard.baseUrl}/auth/me`, {
      headers: { ...cookieMode, origin: self, cookie: `auth-token=${token}` },
    });
    expect(me.status).toBe(200);
    const foreign = await fetch(`${suite.keycard.baseUrl}/auth/logout`, {
      method: "POST",
      headers: {
        ...cookieMode,
        origin: "https://evil.example.net",
        cookie: `auth-token=${token}`,
        "content-type": "application/json",
      },
      body: "{}",
    });
    expect(foreign.status).toBe(403);
    expect(await isLive(token)).toBe(true);
  });

  it("grants the header's preflight to ALLOWED_ORIGINS only", async () => {
    const preflight = (origin: string) =>
      fetch(`${suite.keycard.baseUrl}/keycard.v1.AuthService/GetMe`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type, x-session-cookie",
        },
      });
    const granted = await preflight(allowed);
    expect(granted.status).toBe(204);
    expect(granted.headers.get("access-control-allow-headers")).toContain("x-session-cookie");
    expect((await preflight("https://evil.example.net")).status).toBe(403);
  });
});
