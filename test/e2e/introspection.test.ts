import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  createTestUser,
  loginRest,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import { bearer, jsonPost, type Reply, send } from "../helpers/rest.js";

const secret = "introspection-secret-0123456789abcdef";
const form = { "content-type": "application/x-www-form-urlencoded" };
const basic = (user: string, password: string): Record<string, string> => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
});

function introspect(
  keycard: TestKeycard,
  body: string,
  headers: Record<string, string> = bearer(secret),
): Promise<Reply> {
  return send(`${keycard.baseUrl}/oauth2/introspect`, {
    method: "POST",
    headers: { ...form, ...headers },
    body,
  });
}

const tokenForm = (token: string, hint?: string): string =>
  new URLSearchParams({
    token,
    ...(hint === undefined ? {} : { token_type_hint: hint }),
  }).toString();

/** An inactive answer is exactly `{"active": false}`: no reason, no claims. */
function expectInactive(reply: Reply): void {
  expect(reply.status).toBe(200);
  expect(reply.text).toBe('{"active":false}');
  expect(reply.headers.get("cache-control")).toBe("no-store");
}

describe("POST /oauth2/introspect (RFC 7662)", () => {
  let keycard: TestKeycard;
  let user: Awaited<ReturnType<typeof createTestUser>>;

  beforeAll(async () => {
    keycard = await startKeycard({ introspectionSecret: secret });
    user = await createTestUser(keycard, { roles: ["user", "editor"] });
  });
  afterAll(() => keycard.close());

  it("answers an active session token with its claims, authenticated by a bearer secret", async () => {
    const before = Math.floor(Date.now() / 1000);
    const login = await loginRest(keycard, user);
    const reply = await introspect(keycard, tokenForm(login.session_token, "access_token"));
    expect(reply.status).toBe(200);
    expect(reply.headers.get("cache-control")).toBe("no-store");
    expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
    expect(reply.body).toEqual({
      active: true,
      sub: user.id,
      exp: Math.floor(Date.parse(login.expires_at) / 1000),
      iat: expect.any(Number),
      scope: "user editor",
      client_id: "keycard",
      username: user.email,
      token_type: "session",
      sid: login.session_id,
      auth_time: reply.body.iat,
      amr: ["pwd"],
      acr: "aal1",
    });
    expect(reply.body.iat).toBeGreaterThanOrEqual(before - 1);
    expect(reply.body.iat).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });

  it("answers iat on every call, however many a resource server makes in a minute", async () => {
    const login = await loginRest(keycard, user);
    const replies = [];
    for (let call = 0; call < 40; call += 1) {
      replies.push(await introspect(keycard, tokenForm(login.session_token)));
    }
    expect(replies.map((reply) => [reply.status, typeof reply.body.iat])).toEqual(
      Array(40).fill([200, "number"]),
    );
  });

  it("accepts the secret as the HTTP Basic password with any user name", async () => {
    const login = await loginRest(keycard, user);
    const reply = await introspect(keycard, tokenForm(login.session_token), basic("api", secret));
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ active: true, sid: login.session_id });
  });

  it("answers exactly {active: false} for a revoked token", async () => {
    const login = await loginRest(keycard, user);
    const logout = await send(
      `${keycard.baseUrl}/auth/logout`,
      jsonPost("", bearer(login.session_token)),
    );
    expect(logout.status).toBe(200);
    expectInactive(await introspect(keycard, tokenForm(login.session_token)));
  });

  it("answers exactly {active: false} for tampered, unknown and garbage tokens", async () => {
    const login = await loginRest(keycard, user);
    const token = login.session_token;
    const last = token.at(-1) === "A" ? "B" : "A";
    expectInactive(await introspect(keycard, tokenForm(`${token.slice(0, -1)}${last}`)));
    expectInactive(
      await introspect(keycard, tokenForm(`kc_sess_${randomBytes(32).toString("base64url")}`)),
    );
    expectInactive(await introspect(keycard, tokenForm("not a token at all")));
    expectInactive(await introspect(keycard, tokenForm("x".repeat(5000))));
  });

  it("refuses a wrong, missing or non-Bearer/Basic secret with 401 invalid_client", async () => {
    const login = await loginRest(keycard, user);
    const body = tokenForm(login.session_token);
    const cases: [Record<string, string>, string][] = [
      [bearer("wrong-secret-0123456789abcdefgh"), "Bearer"],
      [basic("api", "wrong"), "Basic"],
      [basic(secret, ""), "Basic"],
      [{}, "Bearer"],
      [bearer(login.session_token), "Bearer"],
    ];
    for (const [headers, scheme] of cases) {
      const reply = await introspect(keycard, body, headers);
      expect(reply.status).toBe(401);
      expect(reply.body).toMatchObject({ error: "invalid_client" });
      expect(reply.headers.get("www-authenticate")).toMatch(new RegExp(`^${scheme} `));
    }
  });

  it("refuses a missing token and malformed bodies with 400 invalid_request", async () => {
    const bodies: [string, Record<string, string>][] = [
      ["", form],
      ["token_type_hint=access_token", form],
      ["token=", form],
      ["token=%E0%A4%A", form],
      ["token=a&token=b", form],
      [JSON.stringify({ token: "kc_sess_x" }), { "content-type": "application/json" }],
    ];
    for (const [body, headers] of bodies) {
      const reply = await introspect(keycard, body, { ...bearer(secret), ...headers });
      expect(reply.status).toBe(400);
      expect(reply.body).toMatchObject({ error: "invalid_request" });
    }
  });

  it("answers 405 to other methods and never a 5xx", async () => {
    const reply = await send(`${keycard.baseUrl}/oauth2/introspect`, { headers: bearer(secret) });
    expect(reply.status).toBe(405);
    expect(reply.headers.get("allow")).toBe("POST");
    const huge = await introspect(keycard, `token=${"a".repeat(100_000)}`);
    expect(huge.status).toBeLessThan(500);
  });
});

describe("POST /oauth2/introspect without INTROSPECTION_SECRET", () => {
  let keycard: TestKeycard;
  beforeAll(async () => {
    keycard = await startKeycard();
  });
  afterAll(() => keycard.close());

  it("refuses every caller with 401", async () => {
    const user = await createTestUser(keycard);
    const login = await loginRest(keycard, user);
    for (const headers of [bearer(secret), basic("api", secret), bearer(""), {}]) {
      const reply = await introspect(keycard, tokenForm(login.session_token), headers);
      expect(reply.status).toBe(401);
      expect(reply.body).toMatchObject({ error: "invalid_client" });
    }
  });
});

describe("POST /oauth2/introspect with an expired token", () => {
  const clock = new FakeClock();
  let keycard: TestKeycard;
  beforeAll(async () => {
    keycard = await startKeycard({ store: "memory", clock, introspectionSecret: secret });
  });
  afterAll(() => keycard.close());

  it("answers exactly {active: false} once the session has expired", async () => {
    const user = await createTestUser(keycard);
    const login = await loginRest(keycard, user);
    expect((await introspect(keycard, tokenForm(login.session_token))).body.active).toBe(true);
    clock.advance(13 * 3_600_000);
    expectInactive(await introspect(keycard, tokenForm(login.session_token)));
  });
});

describe("POST /oauth2/introspect in session mode with an API key", () => {
  let keycard: TestKeycard;
  beforeAll(async () => {
    keycard = await startKeycard({ introspectionSecret: secret });
  });
  afterAll(() => keycard.close());

  it("answers exactly {active: false}: an API key is not a session token here", async () => {
    const user = await createTestUser(keycard);
    const created = await send(
      `${keycard.baseUrl}/admin/users/${user.id}/api-keys`,
      jsonPost({ name: "wrong-kind", skip_totp: true }, bearer(testAdminToken)),
    );
    expect(created.status).toBe(200);
    expectInactive(await introspect(keycard, tokenForm(String(created.body.key))));
  });
});

describe("POST /oauth2/introspect in hybrid mode", () => {
  let keycard: TestKeycard;
  let user: Awaited<ReturnType<typeof createTestUser>>;
  beforeAll(async () => {
    keycard = await startKeycard({ authMode: "hybrid", introspectionSecret: secret });
    user = await createTestUser(keycard);
  });
  afterAll(() => keycard.close());

  it("answers an API key with token_type api_key", async () => {
    const created = await send(
      `${keycard.baseUrl}/admin/users/${user.id}/api-keys`,
      jsonPost({ name: "ci", skip_totp: true }, bearer(testAdminToken)),
    );
    expect(created.status).toBe(200);
    const reply = await introspect(keycard, tokenForm(String(created.body.key)));
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      active: true,
      sub: user.id,
      token_type: "api_key",
      username: user.email,
      client_id: "keycard",
    });
  });
});
