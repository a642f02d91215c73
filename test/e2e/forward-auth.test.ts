import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  createTestUser,
  loginRest,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import {
  type IdentityApp,
  type RunningNginx,
  startIdentityApp,
  startNginx,
} from "../helpers/nginx.js";
import { bearer, jsonPost, type Reply, send } from "../helpers/rest.js";

/** Logs in a fresh user with two roles; returns the user and the login reply. */
async function signedIn(keycard: TestKeycard) {
  const user = await createTestUser(keycard, { roles: ["user", "editor"] });
  return { user, login: await loginRest(keycard, user) };
}

async function revoked(keycard: TestKeycard, token: string): Promise<string> {
  const logout = await send(`${keycard.baseUrl}/auth/logout`, jsonPost("", bearer(token)));
  expect(logout.status).toBe(200);
  return token;
}

function tampered(token: string): string {
  return `${token.slice(0, -1)}${token.at(-1) === "A" ? "B" : "A"}`;
}

describe("GET /auth/verify", () => {
  let keycard: TestKeycard;
  beforeAll(async () => {
    keycard = await startKeycard();
  });
  afterAll(() => keycard.close());

  const verify = (headers: Record<string, string>, method = "GET"): Promise<Reply> =>
    send(`${keycard.baseUrl}/auth/verify`, { method, headers });

  it("answers 200 with identity headers and an empty body for each token carrier", async () => {
    const loggedInAt = Math.floor(Date.now() / 1000);
    const { user, login } = await signedIn(keycard);
    const carriers = [
      bearer(login.session_token),
      { "x-session-token": login.session_token },
      { cookie: `theme=dark; auth-token=${login.session_token}` },
    ];
    for (const headers of carriers) {
      const reply = await verify(headers);
      expect(reply.status).toBe(200);
      expect(reply.text).toBe("");
      expect(reply.headers.get("x-auth-user")).toBe(user.id);
      expect(reply.headers.get("x-auth-email")).toBe(user.email);
      expect(reply.headers.get("x-auth-roles")).toBe("user,editor");
      expect(reply.headers.get("x-auth-session")).toBe(login.session_id);
      expect(reply.headers.get("x-auth-aal")).toBe("1");
      const authTime = Number(reply.headers.get("x-auth-time"));
      expect(authTime).toBeGreaterThanOrEqual(loggedInAt - 1);
      expect(authTime).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
      expect(reply.headers.get("cache-control")).toBe("no-store");
    }
  });

  it("answers the same to the other methods nginx may forward", async () => {
    const { login } = await signedIn(keycard);
    for (const method of ["POST", "DELETE", "HEAD"]) {
      expect((await verify(bearer(login.session_token), method)).status).toBe(200);
    }
  });

  it("answers 401 {error, message} without a token or with an invalid one", async () => {
    const { login } = await signedIn(keycard);
    const cases: [Record<string, string>, string][] = [
      [{}, "UNAUTHENTICATED"],
      [{ cookie: "other=1" }, "UNAUTHENTICATED"],
      [bearer("garbage"), "SESSION_INVALID"],
      [bearer(tampered(login.session_token)), "SESSION_INVALID"],
      [{ cookie: `auth-token=${tampered(login.session_token)}` }, "SESSION_INVALID"],
      [bearer(await revoked(keycard, login.session_token)), "SESSION_REVOKED"],
    ];
    for (const [headers, error] of cases) {
      const reply = await verify(headers);
      expect(reply.status).toBe(401);
      expect(reply.body).toEqual({ error, message: expect.any(String) });
      expect(reply.headers.get("x-auth-user")).toBeNull();
    }
  });
});

describe("GET /auth/verify with expired tokens and credentials of the wrong kind", () => {
  const clock = new FakeClock();
  let keycard: TestKeycard;
  beforeAll(async () => {
    keycard = await startKeycard({ store: "memory", clock });
  });
  afterAll(() => keycard.close());

  it("answers 401 SESSION_EXPIRED once the session has expired", async () => {
    const { login } = await signedIn(keycard);
    const verify = () =>
      send(`${keycard.baseUrl}/auth/verify`, { headers: bearer(login.session_token) });
    expect((await verify()).status).toBe(200);
    clock.advance(13 * 3_600_000);
    const reply = await verify();
    expect(reply.status).toBe(401);
    expect(reply.body).toEqual({ error: "SESSION_EXPIRED", message: "Session token expired" });
  });

  it("asks an old or one-factor session to step up with an RFC 9470 challenge", async () => {
    const { login } = await signedIn(keycard);
    const verify = (query: string) =>
      send(`${keycard.baseUrl}/auth/verify${query}`, { headers: bearer(login.session_token) });
    expect((await verify("?max_age=300")).status).toBe(200);
    clock.advance(301_000);
    const old = await verify("?max_age=300");
    expect(old.status).toBe(401);
    expect(old.body).toEqual({ error: "STEP_UP_REQUIRED", message: expect.any(String) });
    expect(old.headers.get("www-authenticate")).toBe(
      'Bearer realm="keycard", error="insufficient_user_authentication", error_description="A more recent or stronger authentication is required", max_age="300"',
    );
    expect(old.headers.get("x-auth-user")).toBeNull();
    const weak = await verify("?aal=2");
    expect(weak.status).toBe(401);
    expect(weak.headers.get("www-authenticate")).toContain('acr_values="aal2"');
    expect((await verify("?aal=1")).status).toBe(200);
  });

  it.each([
    ["?max_age=soon", "max_age must be a whole number of seconds"],
    ["?max_age=-5", "max_age must be a whole number of seconds"],
    ["?max_age=99999999999", "max_age must be a whole number of seconds"],
    ["?aal=3", "aal must be 1 or 2"],
  ])("refuses %s with 400, never a 500", async (query, message) => {
    const { login } = await signedIn(keycard);
    const reply = await send(`${keycard.baseUrl}/auth/verify${query}`, {
      headers: bearer(login.session_token),
    });
    expect(reply.status).toBe(400);
    expect(reply.body).toEqual({ error: "INVALID_ARGUMENT", message });
  });

  it("answers 401 to an API key presented as a session token in session mode", async () => {
    const { user } = await signedIn(keycard);
    const created = await send(
      `${keycard.baseUrl}/admin/users/${user.id}/api-keys`,
      jsonPost({ name: "not-a-session", skip_totp: true }, bearer(testAdminToken)),
    );
    expect(created.status).toBe(200);
    const reply = await send(`${keycard.baseUrl}/auth/verify`, {
      headers: bearer(String(created.body.key)),
    });
    expect(reply.status).toBe(401);
    expect(reply.headers.get("x-auth-user")).toBeNull();
  });
});

/** The plain setup of the README's first snippet: no portal, so every refusal is a 401. */
describe("GET /auth/verify behind nginx auth_request", () => {
  let keycard: TestKeycard;
  let app: IdentityApp;
  let nginx: RunningNginx;

  beforeAll(async () => {
    keycard = await startKeycard();
    app = await startIdentityApp();
    nginx = await startNginx({ keycardUrl: keycard.baseUrl, appUrl: app.url, portalUrl: false });
  });

  afterAll(async () => {
    await nginx?.stop();
    await app?.stop();
    await keycard?.close();
  });

  it("passes the identity of a valid token to the upstream", async () => {
    const { user, login } = await signedIn(keycard);
    for (const headers of [
      bearer(login.session_token),
      { "x-session-token": login.session_token },
      { cookie: `auth-token=${login.session_token}` },
    ]) {
      const reply = await send(`${nginx.baseUrl}/app/page`, {
        headers: { ...headers, "x-auth-user": "spoofed" },
      });
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({
        "x-auth-user": user.id,
        "x-auth-email": user.email,
        "x-auth-roles": "user,editor",
        "x-auth-session": login.session_id,
        "x-auth-aal": "1",
        "x-auth-time": expect.stringMatching(/^\d+$/),
      });
    }
  });

  it("answers 401 without or with an invalid token, and never calls the upstream", async () => {
    const { login } = await signedIn(keycard);
    const before = app.requests.length;
    const refused = [
      {},
      { accept: "text/html" },
      bearer("garbage"),
      bearer(tampered(login.session_token)),
      { cookie: "auth-token=kc_sess_unknown" },
      bearer(await revoked(keycard, login.session_token)),
    ];
    for (const headers of refused) {
      const reply = await fetch(`${nginx.baseUrl}/app/page`, { headers, redirect: "manual" });
      await reply.arrayBuffer();
      expect(reply.status).toBe(401);
    }
    expect(app.requests.length).toBe(before);
  });
});
