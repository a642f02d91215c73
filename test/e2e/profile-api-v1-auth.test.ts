import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  createTestUser,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import {
  bearer,
  expectEnvelopeError,
  type Json,
  jsonPost,
  type Reply,
  type Rest,
  restClient,
  rfc3339,
  send,
  stackTrace,
} from "../helpers/rest.js";
import { requirePythonWith } from "../helpers/tools.js";

const run = promisify(execFile);

/** Reference 002's session lifetime, in seconds: 7 days. */
const weekSeconds = 604_800;
const dayMs = 86_400_000;
const admin = bearer(testAdminToken);

/** One Set-Cookie header taken apart: attribute names lower-cased, flags as `true`. */
interface SetCookie {
  readonly name: string;
  readonly value: string;
  readonly attributes: Readonly<Record<string, string | true>>;
}

function parseSetCookie(header: string): SetCookie {
  const [pair = "", ...rest] = header.split(";").map((part) => part.trim());
  const eq = pair.indexOf("=");
  const attributes: Record<string, string | true> = {};
  for (const attribute of rest) {
    const at = attribute.indexOf("=");
    if (at === -1) {
      attributes[attribute.toLowerCase()] = true;
    } else {
      attributes[attribute.slice(0, at).toLowerCase()] = attribute.slice(at + 1);
    }
  }
  return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes };
}

/** The one Set-Cookie header of a reply, parsed; fails when there is none or several. */
function theCookie(reply: Reply): SetCookie {
  const headers = reply.headers.getSetCookie();
  expect(headers).toHaveLength(1);
  return parseSetCookie(headers[0] ?? "");
}

/** The attributes reference 002 documents for its session cookie (plus Path=/). */
function cookieAttributes(maxAge: number, secure = true): Record<string, string | true> {
  return {
    httponly: true,
    ...(secure ? { secure: true } : {}),
    samesite: "Lax",
    "max-age": String(maxAge),
    path: "/",
  };
}

/** Every key of a JSON value, depth first, as dotted paths, in the order they were written. */
function keyPaths(value: unknown, prefix = ""): string[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return [];
  }
  return Object.entries(value).flatMap(([key, inner]) => [
    `${prefix}${key}`,
    ...keyPaths(inner, `${prefix}${key}.`),
  ]);
}

/** The cookie header a browser would send back for a session token. */
function cookie(token: string): Record<string, string> {
  return { cookie: `auth-token=${token}` };
}

/** Reference 002's 401 for any request without a usable session. */
const noSession = {
  success: false,
  error: "Unauthorized",
  message: "No valid session found",
};

/** A premium account like the reference's John Doe, with a unique email. */
function johnDoe(keycard: TestKeycard) {
  return createTestUser(keycard, { displayName: "John Doe", roles: ["premium"] });
}

/** The reference's user object for an account made by {@link johnDoe}. */
function userObject(user: { id: string; email: string }): Json {
  return { id: user.id, email: user.email, name: "John Doe", role: "premium", tier: "premium" };
}

/** POSTs a login for `user` to /api/v1/auth/login, with any extra body fields. */
function postLogin(rest: Rest, user: { email: string; password: string }, extra: Json = {}) {
  return rest.post("/api/v1/auth/login", { email: user.email, password: user.password, ...extra });
}

/** The reference's /api/v1/auth/me answer for an account made by {@link johnDoe}. */
function meBody(user: { id: string; email: string }): Json {
  return {
    success: true,
    data: { ...userObject(user), createdAt: expect.stringMatching(rfc3339) },
  };
}

/** Logs in with the cookie variant and returns the session token from the cookie. */
async function cookieLogin(rest: Rest, user: { email: string; password: string }) {
  const reply = await postLogin(rest, user);
  expect(reply.status).toBe(200);
  return theCookie(reply).value;
}

/** Logs in with the bearer variant (`return_token: true`) and returns the access token. */
async function bearerLogin(rest: Rest, user: { email: string; password: string }) {
  const reply = await postLogin(rest, user, { return_token: true });
  expect(reply.status).toBe(200);
  return String(((reply.body.data as Json).token as Json).access_token);
}

describe("reference 002's /api/v1/auth on keycard", () => {
  let keycard: TestKeycard;
  let rest: Rest;
  beforeAll(async () => {
    keycard = await startKeycard();
    rest = restClient(keycard.baseUrl);
  });
  afterAll(() => keycard.close());

  describe("POST /api/v1/auth/login", () => {
    it("answers the cookie variant with the documented envelope and an auth-token cookie", async () => {
      const user = await johnDoe(keycard);
      const reply = await postLogin(rest, user, { return_token: false });

      expect(reply.status).toBe(200);
      expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
      expect(reply.body).toEqual({
        success: true,
        data: userObject(user),
        message: "Login successful",
      });
      expect(keyPaths(reply.body)).toEqual([
        "success",
        "data",
        "data.id",
        "data.email",
        "data.name",
        "data.role",
        "data.tier",
        "message",
      ]);
      const set = theCookie(reply);
      expect(set.name).toBe("auth-token");
      expect(set.value).toMatch(/^kc_sess_[A-Za-z0-9_-]{43}$/);
      expect(set.attributes).toEqual(cookieAttributes(weekSeconds));
      expect(reply.text).not.toContain(set.value);
    });

    it("sets the cookie when return_token is left out, as the reference's clients do", async () => {
      const user = await johnDoe(keycard);
      const reply = await postLogin(rest, user);
      expect(reply.status).toBe(200);
      expect(reply.body.data).toEqual(userObject(user));
      expect(theCookie(reply).attributes).toEqual(cookieAttributes(weekSeconds));
    });

    it("answers the bearer variant with data.user and data.token, and sets no cookie", async () => {
      const user = await johnDoe(keycard);
      const reply = await postLogin(rest, user, { return_token: true });

      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({
        success: true,
        data: {
          user: userObject(user),
          token: {
            access_token: expect.stringMatching(/^kc_sess_[A-Za-z0-9_-]{43}$/),
            token_type: "Bearer",
            expires_in: weekSeconds,
          },
        },
        message: "Login successful",
      });
      expect(keyPaths(reply.body)).toEqual([
        "success",
        "data",
        "data.user",
        "data.user.id",
        "data.user.email",
        "data.user.name",
        "data.user.role",
        "data.user.tier",
        "data.token",
        "data.token.access_token",
        "data.token.token_type",
        "data.token.expires_in",
        "message",
      ]);
      expect(reply.headers.getSetCookie()).toEqual([]);
    });

    it.each([
      ["the password is missing", { email: "user@example.com" }],
      ["the email is missing", { password: "password" }],
      ["both are missing", {}],
      ["the email is empty", { email: "", password: "password" }],
      ["the password is empty", { email: "user@example.com", password: "" }],
    ])("answers 400 Email and password are required when %s", async (_case, body) => {
      const reply = await rest.post("/api/v1/auth/login", body);
      expectEnvelopeError(reply, 400, "Bad Request", "Email and password are required");
      expect(keyPaths(reply.body)).toEqual(["success", "error", "message"]);
      expect(reply.headers.getSetCookie()).toEqual([]);
    });

    it("answers 400 Email and password are required for a request with no body at all", async () => {
      const reply = await rest.post("/api/v1/auth/login");
      expectEnvelopeError(reply, 400, "Bad Request", "Email and password are required");
    });

    it("answers 400 in the same envelope for a body that is not a JSON object", async () => {
      for (const body of ["{not json", "[1, 2]"]) {
        const reply = await send(`${rest.baseUrl}/api/v1/auth/login`, jsonPost(body));
        expectEnvelopeError(reply, 400, "Bad Request");
        expect(reply.text).not.toMatch(stackTrace);
      }
    });

    it("answers 401 Invalid email or password for a wrong password and for an unknown email alike", async () => {
      const user = await johnDoe(keycard);
      const wrongPassword = await rest.post("/api/v1/auth/login", {
        email: user.email,
        password: "not the password",
      });
      const unknownEmail = await rest.post("/api/v1/auth/login", {
        email: "nobody-here@example.com",
        password: user.password,
        return_token: true,
      });
      for (const reply of [wrongPassword, unknownEmail]) {
        expectEnvelopeError(reply, 401, "Unauthorized", "Invalid email or password");
        expect(keyPaths(reply.body)).toEqual(["success", "error", "message"]);
        expect(reply.headers.getSetCookie()).toEqual([]);
      }
    });
  });

  describe("GET /api/v1/auth/me", () => {
    it("answers the user with createdAt for the cookie", async () => {
      const user = await johnDoe(keycard);
      const token = await cookieLogin(rest, user);
      const reply = await rest.get("/api/v1/auth/me", cookie(token));

      expect(reply.status).toBe(200);
      expect(reply.body).toEqual(meBody(user));
      expect(keyPaths(reply.body)).toEqual([
        "success",
        "data",
        "data.id",
        "data.email",
        "data.name",
        "data.role",
        "data.tier",
        "data.createdAt",
      ]);
      const createdAt = Date.parse(String((reply.body.data as Json).createdAt));
      expect(Math.abs(Date.now() - createdAt)).toBeLessThan(60_000);
      // A fresh session is not renewed.
      expect(reply.headers.getSetCookie()).toEqual([]);
    });

    it("answers the same user for the bearer token of the bearer login", async () => {
      const user = await johnDoe(keycard);
      const token = await bearerLogin(rest, user);
      const reply = await rest.get("/api/v1/auth/me", bearer(token));
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual(meBody(user));
    });

    it("answers 401 No valid session found without a cookie, with an unknown one and with a bad bearer", async () => {
      const replies = [
        await rest.get("/api/v1/auth/me"),
        await rest.get("/api/v1/auth/me", cookie("garbage")),
        await rest.get("/api/v1/auth/me", cookie(`kc_sess_${"A".repeat(43)}`)),
        await rest.get("/api/v1/auth/me", bearer("garbage")),
      ];
      for (const reply of replies) {
        expect(reply.status).toBe(401);
        expect(reply.body).toEqual(noSession);
        expect(keyPaths(reply.body)).toEqual(["success", "error", "message"]);
        expect(reply.text).not.toMatch(stackTrace);
      }
    });
  });

  describe("POST /api/v1/auth/logout", () => {
    it("clears the cookie and revokes the session, so the old cookie then gets 401", async () => {
      const user = await johnDoe(keycard);
      const token = await cookieLogin(rest, user);
      await expect(rest.get("/api/v1/auth/me", cookie(token))).resolves.toMatchObject({
        status: 200,
      });

      const reply = await rest.post("/api/v1/auth/logout", undefined, cookie(token));
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ success: true, message: "Logged out successfully" });
      expect(keyPaths(reply.body)).toEqual(["success", "message"]);
      const cleared = theCookie(reply);
      expect(cleared.name).toBe("auth-token");
      expect(cleared.value).toBe("");
      expect(cleared.attributes).toEqual(cookieAttributes(0));

      const after = await rest.get("/api/v1/auth/me", cookie(token));
      expect(after.status).toBe(401);
      expect(after.body).toEqual(noSession);
    });

    it("revokes a bearer session when the bearer token is sent instead of the cookie", async () => {
      const user = await johnDoe(keycard);
      const token = await bearerLogin(rest, user);
      const reply = await rest.post("/api/v1/auth/logout", undefined, bearer(token));
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ success: true, message: "Logged out successfully" });
      await expect(rest.get("/api/v1/auth/me", bearer(token))).resolves.toMatchObject({
        status: 401,
        body: noSession,
      });
    });
  });

  describe("POST /api/v1/auth/token", () => {
    it("issues a bearer token for the cookie's user that is a session of its own", async () => {
      const user = await johnDoe(keycard);
      const cookieToken = await cookieLogin(rest, user);

      const reply = await rest.post("/api/v1/auth/token", undefined, cookie(cookieToken));
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({
        success: true,
        data: {
          token: expect.stringMatching(/^kc_sess_[A-Za-z0-9_-]{43}$/),
          expires_in: weekSeconds,
          token_type: "Bearer",
        },
        message: "API token generated successfully",
      });
      expect(keyPaths(reply.body)).toEqual([
        "success",
        "data",
        "data.token",
        "data.expires_in",
        "data.token_type",
        "message",
      ]);
      const apiToken = String((reply.body.data as Json).token);
      expect(apiToken).not.toBe(cookieToken);
      // The cookie session is not renewed or replaced by issuing a token.
      expect(reply.headers.getSetCookie()).toEqual([]);

      const me = await rest.get("/api/v1/auth/me", bearer(apiToken));
      expect(me.status).toBe(200);
      expect(me.body.data).toMatchObject(userObject(user));

      const sessions = await rest.get(`/admin/users/${user.id}/sessions`, admin);
      expect(sessions.status).toBe(200);
      expect(sessions.body.sessions).toHaveLength(2);

      // Ending the bearer session leaves the cookie session alone.
      const logout = await rest.post("/api/v1/auth/logout", undefined, bearer(apiToken));
      expect(logout.status).toBe(200);
      await expect(rest.get("/api/v1/auth/me", bearer(apiToken))).resolves.toMatchObject({
        status: 401,
      });
      await expect(rest.get("/api/v1/auth/me", cookie(cookieToken))).resolves.toMatchObject({
        status: 200,
        body: { success: true, data: { email: user.email } },
      });
    });

    it("answers 401 No valid session found without a cookie, even with a valid bearer token", async () => {
      const user = await johnDoe(keycard);
      const token = await bearerLogin(rest, user);
      for (const headers of [{}, bearer(token), cookie("garbage")]) {
        const reply = await rest.post("/api/v1/auth/token", undefined, headers);
        expect(reply.status).toBe(401);
        expect(reply.body).toEqual(noSession);
      }
      const sessions = await rest.get(`/admin/users/${user.id}/sessions`, admin);
      expect(sessions.body.sessions).toHaveLength(1);
    });
  });

  describe("POST /api/v1/auth/reauthenticate (keycard's step-up)", () => {
    it("re-sets the cookie with the rotated token, which then works in its place", async () => {
      const user = await johnDoe(keycard);
      const cookieToken = await cookieLogin(rest, user);
      const reply = await rest.post(
        "/api/v1/auth/reauthenticate",
        { password: user.password },
        cookie(cookieToken),
      );
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({
        success: true,
        data: { auth_time: expect.stringMatching(rfc3339), amr: ["pwd"], aal: 1 },
        message: "Reauthenticated",
      });
      const set = theCookie(reply);
      expect(set.name).toBe("auth-token");
      expect(set.value).not.toBe(cookieToken);
      expect(reply.text).not.toContain(set.value);
      expect((await rest.get("/api/v1/auth/me", cookie(set.value))).body).toEqual(meBody(user));
    });

    it("hands a bearer caller its rotated token in the body, and refuses a wrong password", async () => {
      const user = await johnDoe(keycard);
      const token = await bearerLogin(rest, user);
      const reply = await rest.post(
        "/api/v1/auth/reauthenticate",
        { password: user.password },
        bearer(token),
      );
      expect(reply.status).toBe(200);
      expect(reply.headers.get("set-cookie")).toBeNull();
      const rotated = ((reply.body.data as Json).token as Json).access_token;
      expect(rotated).toMatch(/^kc_sess_[A-Za-z0-9_-]{43}$/);
      expect(rotated).not.toBe(token);
      const wrong = await rest.post(
        "/api/v1/auth/reauthenticate",
        { password: "not the password" },
        bearer(String(rotated)),
      );
      expect(wrong.status).toBe(401);
      expect(wrong.body).toMatchObject({ success: false });
    });
  });

  describe("paths and methods the profile does not have", () => {
    it("answers an unknown path under /api/v1/auth with 404 JSON", async () => {
      for (const reply of [
        await rest.get("/api/v1/auth/nope"),
        await rest.post("/api/v1/auth/register", { email: "a@example.com", password: "x" }),
      ]) {
        expect(reply.status).toBe(404);
        expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
        expect(reply.body).toMatchObject({ message: expect.any(String) });
        expect(reply.text).not.toMatch(stackTrace);
      }
    });

    it("answers a wrong method with 405 and an Allow header", async () => {
      const cases = [
        { reply: await rest.get("/api/v1/auth/login"), allow: "POST" },
        { reply: await rest.post("/api/v1/auth/me", {}), allow: "GET" },
        { reply: await rest.get("/api/v1/auth/logout"), allow: "POST" },
        { reply: await rest.del("/api/v1/auth/token"), allow: "POST" },
      ];
      for (const { reply, allow } of cases) {
        expect(reply.status).toBe(405);
        expect(reply.headers.get("allow")).toBe(allow);
        expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
        expect(reply.text).not.toMatch(stackTrace);
      }
    });
  });
});

describe("reference 002's session cookie with COOKIE_SECURE=false", () => {
  let keycard: TestKeycard;
  beforeAll(async () => {
    keycard = await startKeycard({ cookieSecure: false });
  });
  afterAll(() => keycard.close());

  it("leaves out Secure on login and logout and keeps the other attributes", async () => {
    const rest = restClient(keycard.baseUrl);
    const user = await johnDoe(keycard);
    const login = await postLogin(rest, user);
    expect(login.status).toBe(200);
    const set = theCookie(login);
    expect(set.attributes).toEqual(cookieAttributes(weekSeconds, false));

    const logout = await rest.post("/api/v1/auth/logout", undefined, cookie(set.value));
    expect(logout.status).toBe(200);
    expect(theCookie(logout).attributes).toEqual(cookieAttributes(0, false));
  });
});

describe("keycard's cookies with COOKIE_DOMAIN", () => {
  let scoped: TestKeycard;
  let hostOnly: TestKeycard;
  beforeAll(async () => {
    scoped = await startKeycard({ store: "memory", cookieDomain: "example.com" });
    hostOnly = await startKeycard({ store: "memory" });
  });
  afterAll(async () => {
    await scoped.close();
    await hostOnly.close();
  });

  /** A browser's cookie login (so the device-id cookie is set too), and its logout. */
  const loginAndLogout = async (keycard: TestKeycard) => {
    const rest = restClient(keycard.baseUrl);
    const user = await johnDoe(keycard);
    const login = await rest.post(
      "/api/v1/auth/login",
      { email: user.email, password: user.password },
      { "sec-fetch-site": "same-origin" },
    );
    expect(login.status).toBe(200);
    const set = login.headers.getSetCookie().map(parseSetCookie);
    const session = set.find((each) => each.name === "auth-token");
    const logout = await rest.post("/api/v1/auth/logout", undefined, cookie(session?.value ?? ""));
    expect(logout.status).toBe(200);
    return [...set, theCookie(logout)];
  };

  it("sets the session cookie, its clearing and the device-id cookie for the parent domain", async () => {
    const cookies = await loginAndLogout(scoped);
    expect(cookies.map((each) => each.name).sort()).toEqual([
      "auth-token",
      "auth-token",
      "device-id",
    ]);
    for (const each of cookies) {
      expect(each.attributes.domain, each.name).toBe("example.com");
    }
  });

  it("sets host-only cookies when COOKIE_DOMAIN is unset", async () => {
    const cookies = await loginAndLogout(hostOnly);
    expect(cookies).toHaveLength(3);
    for (const each of cookies) {
      expect(each.attributes).not.toHaveProperty("domain");
    }
  });
});

describe("reference 002's sliding sessions, on a fake clock", () => {
  const clock = new FakeClock();
  let keycard: TestKeycard;
  let rest: Rest;
  beforeAll(async () => {
    keycard = await startKeycard({ store: "memory", clock });
    rest = restClient(keycard.baseUrl);
  });
  afterAll(() => keycard.close());

  it("renews the cookie once half of the 7 days have passed, and the renewed cookie outlives the first 7 days", async () => {
    const user = await johnDoe(keycard);
    const first = await cookieLogin(rest, user);

    clock.advance(3 * dayMs);
    const early = await rest.get("/api/v1/auth/me", cookie(first));
    expect(early.status).toBe(200);
    expect(early.headers.getSetCookie()).toEqual([]);

    clock.advance(dayMs / 2 + 60_000);
    const due = await rest.get("/api/v1/auth/me", cookie(first));
    expect(due.status).toBe(200);
    expect(due.body).toEqual(meBody(user));
    const renewed = theCookie(due);
    expect(renewed.name).toBe("auth-token");
    // Renewal extends the session and keeps its token (no rotation): clients that never
    // store the renewed cookie stay logged in, and parallel requests cannot race.
    expect(renewed.value).toBe(first);
    expect(renewed.attributes).toEqual(cookieAttributes(weekSeconds));

    const fresh = await rest.get("/api/v1/auth/me", cookie(renewed.value));
    expect(fresh.status).toBe(200);
    expect(fresh.headers.getSetCookie()).toEqual([]);

    clock.advance(4 * dayMs);
    await expect(rest.get("/api/v1/auth/me", cookie(renewed.value))).resolves.toMatchObject({
      status: 200,
      body: { success: true, data: { email: user.email } },
    });
  });

  it("renews only once: the request after a renewal works and gets no further cookie", async () => {
    const user = await johnDoe(keycard);
    const first = await cookieLogin(rest, user);
    clock.advance(4 * dayMs);
    const due = await rest.get("/api/v1/auth/me", cookie(first));
    expect(theCookie(due).value).toBe(first);

    const racing = await rest.get("/api/v1/auth/me", cookie(first));
    expect(racing.status).toBe(200);
    expect(racing.headers.getSetCookie()).toEqual([]);
  });

  // Reference 002's cURL example logs in with `-c cookies.txt` and then sends `-b
  // cookies.txt` only, so a renewed cookie is never stored; its documented 7 days must
  // still hold for such a client.
  it("keeps a client that never stores the renewed cookie (curl -b) logged in for the documented 7 days", async () => {
    const user = await johnDoe(keycard);
    const token = await cookieLogin(rest, user);
    clock.advance(4 * dayMs);
    const renewal = await rest.get("/api/v1/auth/me", cookie(token));
    expect(renewal.status).toBe(200);

    clock.advance(dayMs);
    await expect(rest.get("/api/v1/auth/me", cookie(token))).resolves.toMatchObject({
      status: 200,
      body: { success: true, data: { email: user.email } },
    });
  });

  it("renews the cookie on POST /api/v1/auth/token too", async () => {
    const user = await johnDoe(keycard);
    const first = await cookieLogin(rest, user);
    clock.advance(4 * dayMs);
    const reply = await rest.post("/api/v1/auth/token", undefined, cookie(first));
    expect(reply.status).toBe(200);
    const renewed = theCookie(reply);
    expect(renewed.value).toBe(first);
    expect(renewed.attributes).toEqual(cookieAttributes(weekSeconds));
    await expect(rest.get("/api/v1/auth/me", cookie(renewed.value))).resolves.toMatchObject({
      status: 200,
    });
  });

  it("sends no cookie to a bearer client past half-life, and its token stops after 7 days", async () => {
    const user = await johnDoe(keycard);
    const token = await bearerLogin(rest, user);
    clock.advance(4 * dayMs);
    const reply = await rest.get("/api/v1/auth/me", bearer(token));
    expect(reply.status).toBe(200);
    expect(reply.headers.getSetCookie()).toEqual([]);

    clock.advance(3 * dayMs + 1_000);
    await expect(rest.get("/api/v1/auth/me", bearer(token))).resolves.toMatchObject({
      status: 401,
      body: noSession,
    });
  });

  it("lets an unused cookie session expire after 7 days", async () => {
    const user = await johnDoe(keycard);
    const token = await cookieLogin(rest, user);
    clock.advance(7 * dayMs + 1_000);
    await expect(rest.get("/api/v1/auth/me", cookie(token))).resolves.toMatchObject({
      status: 401,
      body: noSession,
    });
  });
});

// Parallel requests interleave only with a store that does real I/O, so this suite runs
// on Redis; the fake clock starts at the real time to keep Redis expiries sensible.
describe("reference 002's sliding sessions on Redis, on a fake clock", () => {
  const clock = new FakeClock();
  let keycard: TestKeycard;
  let rest: Rest;
  beforeAll(async () => {
    keycard = await startKeycard({ clock });
    rest = restClient(keycard.baseUrl);
  });
  afterAll(() => keycard.close());

  it("answers every one of several parallel requests that all find the cookie due for renewal", async () => {
    const user = await johnDoe(keycard);
    const first = await cookieLogin(rest, user);
    clock.advance(4 * dayMs);
    const replies = await Promise.all(
      Array.from({ length: 6 }, () => rest.get("/api/v1/auth/me", cookie(first))),
    );
    expect(replies.map((reply) => reply.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const renewed = replies.flatMap((reply) => reply.headers.getSetCookie());
    expect(renewed.length).toBeGreaterThanOrEqual(1);
    const last = parseSetCookie(renewed.at(-1) ?? "");
    await expect(rest.get("/api/v1/auth/me", cookie(last.value))).resolves.toMatchObject({
      status: 200,
    });
  });
});

describe("reference 002's CSRF protection with ALLOWED_ORIGINS", () => {
  const allowed = "https://app.example.com";
  const evil = "https://evil.example";
  let keycard: TestKeycard;
  let rest: Rest;
  beforeAll(async () => {
    keycard = await startKeycard({ allowedOrigins: [allowed] });
    rest = restClient(keycard.baseUrl);
  });
  afterAll(() => keycard.close());

  async function sessionCount(userId: string): Promise<number> {
    const reply = await rest.get(`/admin/users/${userId}/sessions`, admin);
    expect(reply.status).toBe(200);
    return (reply.body.sessions as unknown[]).length;
  }

  it("refuses a cookie logout from a foreign Origin with 403 and does not revoke the session", async () => {
    const user = await johnDoe(keycard);
    const token = await cookieLogin(rest, user);

    const reply = await rest.post("/api/v1/auth/logout", undefined, {
      ...cookie(token),
      origin: evil,
    });
    expectEnvelopeError(reply, 403, "Forbidden");
    expect(reply.headers.getSetCookie()).toEqual([]);
    await expect(rest.get("/api/v1/auth/me", cookie(token))).resolves.toMatchObject({
      status: 200,
    });
  });

  it("refuses a cookie token request from a foreign Origin or Referer and issues nothing", async () => {
    const user = await johnDoe(keycard);
    const token = await cookieLogin(rest, user);
    for (const from of [{ origin: evil }, { referer: `${evil}/attack.html` }, { origin: "null" }]) {
      const reply = await rest.post("/api/v1/auth/token", undefined, { ...cookie(token), ...from });
      expect(reply.status).toBe(403);
      expect(reply.body).toMatchObject({ success: false, error: "Forbidden" });
    }
    await expect(sessionCount(user.id)).resolves.toBe(1);
  });

  it("refuses a login from a foreign Origin (login CSRF) and starts no session", async () => {
    const user = await johnDoe(keycard);
    const body = { email: user.email, password: user.password };
    const refused = await rest.post("/api/v1/auth/login", body, { origin: evil });
    expect(refused.status).toBe(403);
    expect(refused.headers.getSetCookie()).toEqual([]);
    await expect(sessionCount(user.id)).resolves.toBe(0);
    const listed = await rest.post("/api/v1/auth/login", body, { origin: allowed });
    expect(listed.status).toBe(200);
    await expect(sessionCount(user.id)).resolves.toBe(1);
  });

  it("lets a safe GET with the cookie through from a foreign Origin", async () => {
    const user = await johnDoe(keycard);
    const token = await cookieLogin(rest, user);
    const reply = await rest.get("/api/v1/auth/me", { ...cookie(token), origin: evil });
    expect(reply.status).toBe(200);
  });

  it("accepts cookie POSTs from a listed Origin and from keycard's own origin", async () => {
    const user = await johnDoe(keycard);
    const token = await cookieLogin(rest, user);

    const issued = await rest.post("/api/v1/auth/token", undefined, {
      ...cookie(token),
      origin: allowed,
    });
    expect(issued.status).toBe(200);
    const fromSelf = await rest.post("/api/v1/auth/token", undefined, {
      ...cookie(token),
      origin: keycard.baseUrl,
    });
    expect(fromSelf.status).toBe(200);
    await expect(sessionCount(user.id)).resolves.toBe(3);

    const logout = await rest.post("/api/v1/auth/logout", undefined, {
      ...cookie(token),
      referer: `${allowed}/account`,
    });
    expect(logout.status).toBe(200);
    await expect(rest.get("/api/v1/auth/me", cookie(token))).resolves.toMatchObject({
      status: 401,
    });
  });

  it("accepts a cookie POST with neither Origin nor Referer, as curl sends it", async () => {
    const user = await johnDoe(keycard);
    const token = await cookieLogin(rest, user);
    const { stdout } = await run("curl", [
      "-s",
      "-w",
      "\n%{http_code}",
      "-b",
      `auth-token=${token}`,
      "-X",
      "POST",
      `${keycard.baseUrl}/api/v1/auth/logout`,
    ]);
    const [body = "", status] = stdout.split("\n");
    expect(status).toBe("200");
    expect(JSON.parse(body)).toEqual({ success: true, message: "Logged out successfully" });
    await expect(rest.get("/api/v1/auth/me", cookie(token))).resolves.toMatchObject({
      status: 401,
    });
  });

  it("does not refuse a bearer POST from a foreign Origin", async () => {
    const user = await johnDoe(keycard);
    const token = await bearerLogin(rest, user);
    const reply = await rest.post("/api/v1/auth/logout", undefined, {
      ...bearer(token),
      origin: evil,
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ success: true, message: "Logged out successfully" });
    await expect(rest.get("/api/v1/auth/me", bearer(token))).resolves.toMatchObject({
      status: 401,
    });
  });
});

const fixtures = "test/fixtures/reference-002";
const referenceUrl = "https://snapshots.bryanlabs.net";

/** A reference example with only its base URL changed, in a scratch directory of its own. */
function withBaseUrl(file: string, baseUrl: string): { dir: string; file: string } {
  const source = readFileSync(path.join(fixtures, file), "utf8");
  expect(source).toContain(referenceUrl);
  const dir = mkdtempSync(path.join(os.tmpdir(), "ref002-"));
  const target = path.join(dir, file);
  writeFileSync(target, source.replaceAll(referenceUrl, baseUrl));
  return { dir, file: target };
}

/** Splits output made of JSON objects printed back to back (curl adds no newlines). */
function jsonObjects(text: string): Json[] {
  const objects: Json[] = [];
  let depth = 0;
  let start = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (inString) {
      if (char === "\\") {
        i += 1;
      } else if (char === '"') {
        inString = false;
      }
    } else if (char === '"') {
      inString = true;
    } else if (char === "{") {
      if (depth === 0) {
        start = i;
      }
      depth += 1;
    } else if (char === "}") {
      depth -= 1;
      if (depth === 0) {
        objects.push(JSON.parse(text.slice(start, i + 1)) as Json);
      }
    }
  }
  return objects;
}

// curl and Python's requests keep a Secure cookie away from plain http://127.0.0.1, as
// they should; COOKIE_SECURE=false is the documented setting for plain-HTTP development.
describe("reference 002's own client examples, with only the base URL changed", () => {
  let keycard: TestKeycard;
  let rest: Rest;
  let userId: string;
  beforeAll(async () => {
    keycard = await startKeycard({ cookieSecure: false });
    rest = restClient(keycard.baseUrl);
    const user = await keycard.server.users.create({
      email: "user@example.com",
      password: "password",
      displayName: "John Doe",
      roles: ["premium"],
    });
    userId = user.id;
  });
  afterAll(() => keycard.close());

  it("runs the cURL examples: cookie jar login, /me and logout, then bearer login with jq", async () => {
    const script = withBaseUrl("curl.sh", keycard.baseUrl);
    const { stdout } = await run("bash", [script.file], {
      cwd: script.dir,
      env: { PATH: process.env.PATH ?? "" },
    });
    const [login, me, logout, bearerMe, ...extra] = jsonObjects(stdout);
    expect(extra).toEqual([]);
    const user = { id: userId, email: "user@example.com" };
    expect(login).toEqual({ success: true, data: userObject(user), message: "Login successful" });
    expect(me).toEqual(meBody(user));
    expect(logout).toEqual({ success: true, message: "Logged out successfully" });
    expect(bearerMe).toEqual(me);

    // The jar holds the HttpOnly cookie login set; logout revoked the session behind it.
    const jar = readFileSync(path.join(script.dir, "cookies.txt"), "utf8");
    const line = jar.split("\n").find((entry) => entry.includes("\tauth-token\t"));
    expect(line).toMatch(/^#HttpOnly_127\.0\.0\.1\t/);
    const token = line?.split("\t").at(-1) ?? "";
    expect(token).toMatch(/^kc_sess_/);
    await expect(rest.get("/api/v1/auth/me", cookie(token))).resolves.toMatchObject({
      status: 401,
      body: noSession,
    });
  });

  it("runs the Python SnapshotClient example: login, get_current_user, logout", async () => {
    const script = withBaseUrl("client.py", keycard.baseUrl);
    const { stdout } = await run(
      requirePythonWith(["requests"], "python3-requests"),
      [script.file],
      {
        cwd: script.dir,
        env: { PATH: process.env.PATH ?? "" },
      },
    );
    const lines = stdout.trimEnd().split("\n");
    expect(lines).toEqual([
      "Logged in as: user@example.com",
      expect.stringMatching(/^Cookie token: kc_sess_[A-Za-z0-9_-]{43}$/),
      "Cookie after logout: None",
      "User after logout: None",
    ]);
    const token = (lines[1] ?? "").slice("Cookie token: ".length);
    await expect(rest.get("/api/v1/auth/me", cookie(token))).resolves.toMatchObject({
      status: 401,
      body: noSession,
    });
  });
});
