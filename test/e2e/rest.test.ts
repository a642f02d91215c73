import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestUser,
  loginRest,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import {
  expectJsonError,
  jsonPost,
  loginReplyFields,
  type Reply,
  refreshReplyFields,
  rfc3339,
  send,
} from "../helpers/rest.js";

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return send(url, jsonPost(body, headers));
}

const tokenPattern = /^kc_sess_[A-Za-z0-9_-]{43}$/;

const admin = { authorization: `Bearer ${testAdminToken}` };
const wellFormedUnknownToken = (): string => `kc_sess_${randomBytes(32).toString("base64url")}`;

/** A refusal in the REST error shape, never a 500 and never a stack trace. */
function expectCleanError(reply: Reply, status: number, error: string): void {
  expectJsonError(reply, status, error);
  expect(reply.body.message).not.toBe("");
}

/** The seconds `expires_at` lies in the future, as seen by the test. */
function secondsLeft(expiresAt: unknown): number {
  return (Date.parse(String(expiresAt)) - Date.now()) / 1000;
}

describe("the REST API of keycard", () => {
  let keycard: TestKeycard;
  let url: (path: string) => string;

  beforeAll(async () => {
    keycard = await startKeycard();
    url = (path) => `${keycard.baseUrl}${path}`;
  });
  afterAll(() => keycard.close());

  /** DELETEs `path` as a new user, with that user's own session token. */
  async function deleteAsNewUser(path: string): Promise<Reply> {
    const user = await createTestUser(keycard);
    const login = await loginRest(keycard, user);
    return send(url(path), {
      method: "DELETE",
      headers: { "x-session-token": login.session_token },
    });
  }

  describe("POST /auth/login", () => {
    it("answers the reference shape: token, session id, RFC 3339 expiry, seconds, user and message", async () => {
      const user = await createTestUser(keycard, { displayName: "Alice" });
      const reply = await post(url("/auth/login"), { email: user.email, password: user.password });

      expect(reply.status).toBe(200);
      expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
      expect(Object.keys(reply.body).sort()).toEqual(loginReplyFields);
      expect(reply.body.session_token).toMatch(tokenPattern);
      expect(reply.body.session_id).toMatch(/^[A-Za-z0-9_-]{16,}$/);
      expect(reply.body.expires_at).toMatch(rfc3339);
      expect(typeof reply.body.expires_in).toBe("number");
      expect(Number.isInteger(reply.body.expires_in)).toBe(true);
      // The reference pairs "12 hours" with expires_in 43200: the granted lifetime, whole.
      expect(reply.body.expires_in).toBe(43_200);
      expect(secondsLeft(reply.body.expires_at)).toBeGreaterThan(43_195);
      expect(secondsLeft(reply.body.expires_at)).toBeLessThanOrEqual(43_200);
      expect(reply.body.user).toBe("Alice");
      expect(reply.body.message).toBe("Authenticated successfully. Use this token for 12 hours.");
    });

    it.each([
      { field: "duration_seconds", seconds: 3600, lifetime: "1 hour" },
      { field: "durationSeconds", seconds: 120, lifetime: "2 minutes" },
    ])(
      "honors $field (snake or camel case) and names the lifetime in the message",
      async ({ field, seconds, lifetime }) => {
        const user = await createTestUser(keycard);
        const reply = await post(url("/auth/login"), {
          email: user.email,
          password: user.password,
          [field]: seconds,
        });

        expect(reply.status).toBe(200);
        expect(reply.body.expires_in).toBe(seconds);
        expect(secondsLeft(reply.body.expires_at)).toBeGreaterThan(seconds - 5);
        expect(secondsLeft(reply.body.expires_at)).toBeLessThanOrEqual(seconds);
        expect(reply.body.message).toBe(
          `Authenticated successfully. Use this token for ${lifetime}.`,
        );
      },
    );

    it("caps duration_seconds to the configured maximum of 30 days", async () => {
      const user = await createTestUser(keycard);
      const reply = await post(url("/auth/login"), {
        email: user.email,
        password: user.password,
        duration_seconds: 365 * 86_400,
      });

      expect(reply.status).toBe(200);
      expect(reply.body.expires_in).toBeGreaterThanOrEqual(30 * 86_400 - 1);
      expect(reply.body.expires_in).toBeLessThanOrEqual(30 * 86_400);
      expect(secondsLeft(reply.body.expires_at)).toBeLessThanOrEqual(30 * 86_400);
      expect(reply.body.message).toBe("Authenticated successfully. Use this token for 30 days.");
    });

    it("compares the email case-insensitively", async () => {
      const user = await createTestUser(keycard);
      const reply = await post(url("/auth/login"), {
        email: `  ${user.email.toUpperCase()} `,
        password: user.password,
      });

      expect(reply.status).toBe(200);
      expect(reply.body.session_token).toMatch(tokenPattern);
    });

    it("refuses a wrong password and an unknown email with the same 401 body", async () => {
      const user = await createTestUser(keycard);
      const wrongPassword = await post(url("/auth/login"), {
        email: user.email,
        password: "not the password",
      });
      const unknownEmail = await post(url("/auth/login"), {
        email: "nobody-at-all@example.com",
        password: user.password,
      });

      expectCleanError(wrongPassword, 401, "INVALID_CREDENTIALS");
      expect(wrongPassword.body).toEqual({
        error: "INVALID_CREDENTIALS",
        message: "Invalid email or password",
      });
      expect(unknownEmail.status).toBe(401);
      expect(unknownEmail.text).toBe(wrongPassword.text);
    });

    it.each([
      ["a missing email", { password: "correct horse battery staple" }],
      ["a missing password", { email: "someone@example.com" }],
      [
        "a negative duration_seconds",
        { email: "someone@example.com", password: "whatever1", duration_seconds: -5 },
      ],
      ["a password over 1024 bytes", { email: "someone@example.com", password: "p".repeat(1025) }],
    ])("refuses %s with 400 INVALID_ARGUMENT", async (_name, body) => {
      expectCleanError(await post(url("/auth/login"), body), 400, "INVALID_ARGUMENT");
    });
  });

  describe("POST /auth/refresh", () => {
    it("rotates the token, keeps the session id and grants the session's lifetime again", async () => {
      const user = await createTestUser(keycard);
      const login = await loginRest(keycard, user, { duration_seconds: 60 });
      const reply = await post(url("/auth/refresh"), "", {
        "x-session-token": login.session_token,
      });

      expect(reply.status).toBe(200);
      expect(Object.keys(reply.body).sort()).toEqual(refreshReplyFields);
      expect(reply.body.session_token).toMatch(tokenPattern);
      expect(reply.body.session_token).not.toBe(login.session_token);
      expect(reply.body.session_id).toBe(login.session_id);
      expect(reply.body.expires_at).toMatch(rfc3339);
      expect(Date.parse(String(reply.body.expires_at))).toBeGreaterThan(
        Date.parse(login.expires_at),
      );
      expect(reply.body.expires_in).toBeGreaterThanOrEqual(59);
      expect(reply.body.expires_in).toBeLessThanOrEqual(60);
      expect(reply.body.message).toEqual(expect.any(String));

      const me = await send(url("/auth/me"), {
        headers: { authorization: `Bearer ${String(reply.body.session_token)}` },
      });
      expect(me.status).toBe(200);
    });

    it("refuses a refresh without a token with 401 SESSION_INVALID", async () => {
      expectCleanError(await post(url("/auth/refresh"), {}), 401, "SESSION_INVALID");
    });

    it("refuses a refresh with a garbage token with 401 SESSION_INVALID", async () => {
      const reply = await post(url("/auth/refresh"), {}, { "x-session-token": "garbage" });
      expectCleanError(reply, 401, "SESSION_INVALID");
    });
  });

  describe("POST /auth/logout", () => {
    it("revokes the session and answers exactly {message: 'Logged out successfully'}", async () => {
      const user = await createTestUser(keycard);
      const login = await loginRest(keycard, user);
      const reply = await post(url("/auth/logout"), "", {
        authorization: `Bearer ${login.session_token}`,
      });

      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ message: "Logged out successfully" });
      const me = await send(url("/auth/me"), {
        headers: { "x-session-token": login.session_token },
      });
      expect(me.status).toBe(401);
      expect(me.body).toEqual({ error: "SESSION_REVOKED", message: "Session token revoked" });
    });

    it("refuses a logout without a token with 401 SESSION_INVALID", async () => {
      expectCleanError(await post(url("/auth/logout"), ""), 401, "SESSION_INVALID");
    });
  });

  describe("GET /auth/sessions", () => {
    it("lists the caller's sessions newest first with ip_address, user_agent and current, and no token", async () => {
      const user = await createTestUser(keycard);
      const first = await loginRest(keycard, user);
      const second = await post(
        url("/auth/login"),
        { email: user.email, password: user.password },
        { "user-agent": "keycard-e2e/1.0" },
      );
      expect(second.status).toBe(200);
      const secondToken = String(second.body.session_token);

      const reply = await send(url("/auth/sessions"), {
        headers: { "x-session-token": secondToken },
      });

      expect(reply.status).toBe(200);
      expect(Object.keys(reply.body)).toEqual(["sessions", "next_page_token"]);
      expect(reply.body.next_page_token).toBe("");
      const sessions = reply.body.sessions as Record<string, unknown>[];
      expect(sessions).toHaveLength(2);
      for (const session of sessions) {
        expect(Object.keys(session).sort()).toEqual([
          "aal",
          "amr",
          "api_key_id",
          "auth_methods",
          "auth_time",
          "authentication_methods",
          "created_at",
          "current",
          "device_id",
          "device_label",
          "expires_at",
          "id",
          "ip_address",
          "kind",
          "label",
          "last_used_at",
          "location",
          "passkey_ids",
          "user_agent",
        ]);
        expect(session.kind).toBe("SESSION_KIND_STANDARD");
        expect(session.created_at).toMatch(rfc3339);
        expect(session.expires_at).toMatch(rfc3339);
        expect(session.last_used_at).toMatch(rfc3339);
        expect(session.ip_address).toBe("127.0.0.1");
        expect(session.auth_methods).toEqual(["password"]);
        expect(session.authentication_methods).toEqual(["AUTH_METHOD_PASSWORD"]);
        expect(session.api_key_id).toBe("");
      }
      expect(sessions[0]).toMatchObject({
        id: second.body.session_id,
        current: true,
        user_agent: "keycard-e2e/1.0",
        device_label: "keycard-e2e 1.0",
      });
      expect(sessions[1]).toMatchObject({ id: first.session_id, current: false });
      expect(reply.text).not.toContain(first.session_token);
      expect(reply.text).not.toContain(secondToken);
      expect(reply.text).not.toContain("kc_sess_");
      // No field but the page token says "token".
      expect(reply.text.replace('"next_page_token":""', "")).not.toMatch(/token/i);
    });

    it("refuses a listing without a token with 401 SESSION_INVALID", async () => {
      expectCleanError(await send(url("/auth/sessions")), 401, "SESSION_INVALID");
    });
  });

  describe("DELETE /auth/sessions/{id}", () => {
    it("revokes one session by id and answers revoked_count 1", async () => {
      const user = await createTestUser(keycard);
      const keep = await loginRest(keycard, user);
      const victim = await loginRest(keycard, user);
      const reply = await send(url(`/auth/sessions/${victim.session_id}`), {
        method: "DELETE",
        headers: { "x-session-token": keep.session_token },
      });

      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ revoked_count: 1, message: "Revoked 1 session(s)" });
      const victimCheck = await post(url("/auth/validate"), { token: victim.session_token });
      expect(victimCheck.body).toMatchObject({
        active: false,
        reason: "INACTIVE_REASON_REVOKED",
      });
      const keepCheck = await post(url("/auth/validate"), { token: keep.session_token });
      expect(keepCheck.body).toMatchObject({ active: true });
    });

    it.each([
      [
        "answers 404 NOT_FOUND for an id that is not a live session of the caller",
        "/auth/sessions/no-such-session",
        404,
        "NOT_FOUND",
      ],
      [
        "answers 400 for a session id that is not valid percent-encoding",
        "/auth/sessions/%E0%A4%A",
        400,
        "INVALID_ARGUMENT",
      ],
    ] as const)("%s", async (_name, path, status, error) => {
      expectCleanError(await deleteAsNewUser(path), status, error);
    });
  });

  describe("DELETE /auth/sessions?scope=", () => {
    it("revokes every other session with scope=others and keeps the current one", async () => {
      const user = await createTestUser(keycard);
      const current = await loginRest(keycard, user);
      const others = [await loginRest(keycard, user), await loginRest(keycard, user)];
      const reply = await send(url("/auth/sessions?scope=others"), {
        method: "DELETE",
        headers: { "x-session-token": current.session_token },
      });

      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ revoked_count: 2, message: "Revoked 2 session(s)" });
      const currentCheck = await post(url("/auth/validate"), { token: current.session_token });
      expect(currentCheck.body).toMatchObject({ active: true });
      for (const other of others) {
        const check = await post(url("/auth/validate"), { token: other.session_token });
        expect(check.body).toMatchObject({ active: false, reason: "INACTIVE_REASON_REVOKED" });
      }
    });

    it("revokes every session including the current one with scope=all", async () => {
      const user = await createTestUser(keycard);
      const logins = [await loginRest(keycard, user), await loginRest(keycard, user)];
      const reply = await send(url("/auth/sessions?scope=all"), {
        method: "DELETE",
        headers: { "x-session-token": logins[0]?.session_token ?? "" },
      });

      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ revoked_count: 2, message: "Revoked 2 session(s)" });
      for (const login of logins) {
        const check = await post(url("/auth/validate"), { token: login.session_token });
        expect(check.body).toMatchObject({ active: false, reason: "INACTIVE_REASON_REVOKED" });
      }
    });

    it.each([
      ["without scope or id", ""],
      ["with an unknown scope", "?scope=bogus"],
    ])("answers 400 INVALID_ARGUMENT %s", async (_name, query) => {
      expectCleanError(await deleteAsNewUser(`/auth/sessions${query}`), 400, "INVALID_ARGUMENT");
    });
  });

  describe("GET /auth/me", () => {
    it("returns the caller's account and current session in snake_case", async () => {
      const user = await createTestUser(keycard, { displayName: "Mia", roles: ["user", "ops"] });
      const login = await loginRest(keycard, user);
      const reply = await send(url("/auth/me"), {
        headers: { "x-session-token": login.session_token, "user-agent": "me-agent/2" },
      });

      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({
        user: {
          id: user.id,
          email: user.email,
          display_name: "Mia",
          roles: ["user", "ops"],
          disabled: false,
          created_at: expect.stringMatching(rfc3339),
          totp_enabled: false,
        },
        session: {
          id: login.session_id,
          created_at: expect.stringMatching(rfc3339),
          expires_at: login.expires_at,
          last_used_at: expect.stringMatching(rfc3339),
          ip_address: "127.0.0.1",
          user_agent: expect.any(String),
          current: true,
          auth_methods: ["password"],
          api_key_id: "",
          device_label: expect.any(String),
          kind: "SESSION_KIND_STANDARD",
          authentication_methods: ["AUTH_METHOD_PASSWORD"],
          auth_time: expect.stringMatching(rfc3339),
          amr: ["pwd"],
          aal: 1,
          device_id: expect.stringMatching(/^[\w-]{22}$/),
          label: "",
          location: "",
          passkey_ids: [],
        },
      });
      expect(reply.text).not.toContain(login.session_token);
    });

    it("refuses a caller without a token with 401 SESSION_INVALID", async () => {
      expectCleanError(await send(url("/auth/me")), 401, "SESSION_INVALID");
    });
  });

  describe("POST /auth/validate", () => {
    it("introspects an active token given in the body", async () => {
      const user = await createTestUser(keycard, { displayName: "Val", roles: ["reader"] });
      const login = await loginRest(keycard, user);
      const reply = await post(url("/auth/validate"), { token: login.session_token });

      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({
        active: true,
        reason: "INACTIVE_REASON_UNSPECIFIED",
        subject: user.id,
        session_id: login.session_id,
        expires_at: login.expires_at,
        expires_in: expect.any(Number),
        roles: ["reader"],
        email: user.email,
        display_name: "Val",
        kind: "CREDENTIAL_KIND_SESSION",
        issued_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        auth_time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        amr: ["pwd"],
        aal: 1,
      });
      expect(reply.body.expires_in).toBeGreaterThanOrEqual(43_198);
    });

    it("checks the X-Session-Token header when the body is empty", async () => {
      const user = await createTestUser(keycard);
      const login = await loginRest(keycard, user);
      const reply = await post(url("/auth/validate"), "", {
        "x-session-token": login.session_token,
      });

      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({
        active: true,
        subject: user.id,
        session_id: login.session_id,
      });
    });

    it("checks the Authorization Bearer header when the body has no token", async () => {
      const user = await createTestUser(keycard);
      const login = await loginRest(keycard, user);
      const reply = await post(
        url("/auth/validate"),
        {},
        {
          authorization: `Bearer ${login.session_token}`,
        },
      );

      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ active: true, session_id: login.session_id });
    });

    it.each([
      ["a malformed token", () => "not-a-token", "INACTIVE_REASON_MALFORMED"],
      ["no token at all", () => "", "INACTIVE_REASON_MALFORMED"],
      ["a well-formed token nobody issued", wellFormedUnknownToken, "INACTIVE_REASON_UNKNOWN"],
    ])("answers 200 with active false for %s", async (_name, token, reason) => {
      const reply = await post(url("/auth/validate"), { token: token() });

      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({
        active: false,
        reason,
        subject: "",
        session_id: "",
        expires_in: 0,
        roles: [],
        email: "",
        display_name: "",
        kind: "CREDENTIAL_KIND_UNSPECIFIED",
        amr: [],
        aal: 0,
      });
    });

    it("answers 200 with active false and INACTIVE_REASON_REVOKED after logout", async () => {
      const user = await createTestUser(keycard);
      const login = await loginRest(keycard, user);
      const logout = await post(url("/auth/logout"), "", {
        "x-session-token": login.session_token,
      });
      expect(logout.status).toBe(200);

      const reply = await post(url("/auth/validate"), { token: login.session_token });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ active: false, reason: "INACTIVE_REASON_REVOKED" });
      expect(reply.body).not.toHaveProperty("expires_at");
    });
  });

  describe("GET /health", () => {
    it("answers 200 {status: 'ok'} without a token", async () => {
      const reply = await send(url("/health"));
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ status: "ok" });
    });

    it.each([
      ["X-Session-Token", (token: string) => ({ "x-session-token": token })],
      ["Authorization: Bearer", (token: string) => ({ authorization: `Bearer ${token}` })],
    ])("checks a token sent as %s and names its holder", async (_name, headers) => {
      const user = await createTestUser(keycard, { displayName: "Hal" });
      const login = await loginRest(keycard, user);
      const reply = await send(url("/health"), { headers: headers(login.session_token) });

      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({
        status: "ok",
        user: "Hal",
        session_id: login.session_id,
        expires_at: expect.stringMatching(rfc3339),
      });
      expect(Date.parse(String(reply.body.expires_at))).toBe(Date.parse(login.expires_at));
    });

    it.each([
      ["X-Session-Token", { "x-session-token": "garbage" }],
      ["Authorization: Bearer", { authorization: "Bearer garbage" }],
    ])("answers 401 SESSION_INVALID for a garbage token sent as %s", async (_name, headers) => {
      const reply = await send(url("/health"), { headers });
      expectCleanError(reply, 401, "SESSION_INVALID");
      expect(reply.body).toEqual({ error: "SESSION_INVALID", message: "Invalid session token" });
    });
  });

  describe("POST /admin/users", () => {
    it("creates a user with the admin token and the user can log in", async () => {
      const email = `Admin-Made-${randomBytes(4).toString("hex")}@Example.com`;
      const reply = await post(
        url("/admin/users"),
        { email, display_name: "Made", password: "long enough pw", roles: ["user", "ops"] },
        admin,
      );

      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({
        user: {
          id: expect.stringMatching(/^[A-Za-z0-9_-]{16,}$/),
          email: email.toLowerCase(),
          display_name: "Made",
          roles: ["user", "ops"],
          disabled: false,
          created_at: expect.stringMatching(rfc3339),
          totp_enabled: false,
        },
      });
      expect(reply.text).not.toContain("long enough pw");
      expect(reply.text).not.toContain("argon2");
      const login = await post(url("/auth/login"), { email, password: "long enough pw" });
      expect(login.status).toBe(200);
      expect(login.body.user).toBe("Made");
    });

    it("accepts camelCase displayName", async () => {
      const email = `camel-${randomBytes(4).toString("hex")}@example.com`;
      const reply = await post(
        url("/admin/users"),
        { email, displayName: "Camel", password: "long enough pw" },
        admin,
      );
      expect(reply.status).toBe(200);
      expect(reply.body.user).toMatchObject({ email, display_name: "Camel", roles: [] });
    });

    it.each([
      ["no token", {}],
      ["a wrong admin token", { authorization: "Bearer not-the-admin-token" }],
    ])("answers 401 ADMIN_TOKEN_REQUIRED with %s", async (_name, headers) => {
      const reply = await post(
        url("/admin/users"),
        { email: "x@example.com", display_name: "X", password: "long enough pw" },
        headers,
      );
      expectCleanError(reply, 401, "ADMIN_TOKEN_REQUIRED");
    });

    it("answers 403 PERMISSION_DENIED for a session token instead of the admin token", async () => {
      const user = await createTestUser(keycard, { roles: ["admin"] });
      const login = await loginRest(keycard, user);
      const reply = await post(
        url("/admin/users"),
        { email: "y@example.com", display_name: "Y", password: "long enough pw" },
        { authorization: `Bearer ${login.session_token}` },
      );
      expectCleanError(reply, 403, "PERMISSION_DENIED");
    });

    it("answers 409 USER_EXISTS for an email already in use, whatever its case", async () => {
      const user = await createTestUser(keycard);
      const reply = await post(
        url("/admin/users"),
        { email: user.email.toUpperCase(), display_name: "Twin", password: "long enough pw" },
        admin,
      );
      expectCleanError(reply, 409, "USER_EXISTS");
    });

    it.each([
      ["an email without @", { email: "nobody", display_name: "N", password: "long enough pw" }],
      ["a short password", { email: "s@example.com", display_name: "S", password: "short" }],
      [
        "an empty display name",
        { email: "e@example.com", display_name: " ", password: "pw12345678" },
      ],
      [
        "an invalid role",
        { email: "r@example.com", display_name: "R", password: "pw12345678", roles: ["no spaces"] },
      ],
      ["a number as email", { email: 42, display_name: "T", password: "pw12345678" }],
      [
        "roles that are not a list",
        { email: "l@example.com", display_name: "L", password: "pw12345678", roles: "user" },
      ],
    ])("answers 400 INVALID_ARGUMENT for %s", async (_name, body) => {
      expectCleanError(await post(url("/admin/users"), body, admin), 400, "INVALID_ARGUMENT");
    });
  });

  describe("POST /admin/users/{id}/disable", () => {
    it("disables the user, revokes its sessions and is idempotent", async () => {
      const user = await createTestUser(keycard);
      const login = await loginRest(keycard, user);
      const reply = await post(url(`/admin/users/${user.id}/disable`), "", admin);

      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({
        user: expect.objectContaining({ id: user.id, email: user.email, disabled: true }),
        revoked_sessions: 1,
      });
      const check = await post(url("/auth/validate"), { token: login.session_token });
      expect(check.body).toMatchObject({ active: false, reason: "INACTIVE_REASON_REVOKED" });

      const again = await post(url(`/admin/users/${user.id}/disable`), {}, admin);
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ user: { disabled: true }, revoked_sessions: 0 });
    });

    it("answers 404 NOT_FOUND for an unknown user id", async () => {
      const reply = await post(url("/admin/users/no-such-user/disable"), "", admin);
      expectCleanError(reply, 404, "NOT_FOUND");
    });

    it("answers 401 ADMIN_TOKEN_REQUIRED without the admin token and leaves the user enabled", async () => {
      const user = await createTestUser(keycard);
      const reply = await post(url(`/admin/users/${user.id}/disable`), "");
      expectCleanError(reply, 401, "ADMIN_TOKEN_REQUIRED");
      const login = await post(url("/auth/login"), { email: user.email, password: user.password });
      expect(login.status).toBe(200);
    });
  });

  describe("error mapping", () => {
    it.each([
      ["malformed JSON", "{ not json"],
      ["a truncated JSON object", '{"email": "a@example.com"'],
      ["a JSON array", "[]"],
      ["a JSON string", '"hello"'],
      ["JSON null", "null"],
      ["a number as email", { email: 5, password: "pw12345678" }],
      ["an object as password", { email: "a@example.com", password: { x: 1 } }],
      [
        "a string as duration_seconds",
        { email: "a@example.com", password: "pw", duration_seconds: "soon" },
      ],
      [
        "a fraction as duration_seconds",
        { email: "a@example.com", password: "pw", duration_seconds: 1.5 },
      ],
      [
        "an out-of-range duration_seconds",
        { email: "a@example.com", password: "pw", duration_seconds: 1e12 },
      ],
    ])("answers 400 INVALID_ARGUMENT for %s", async (_name, body) => {
      expectCleanError(await post(url("/auth/login"), body), 400, "INVALID_ARGUMENT");
    });

    it("answers 400 INVALID_ARGUMENT for a body that is not valid UTF-8", async () => {
      const body = Buffer.concat([
        Buffer.from('{"email":"'),
        Buffer.from([0xff, 0xfe, 0xc3]),
        Buffer.from('@example.com","password":"pw12345678"}'),
      ]);
      const reply = await send(url("/auth/login"), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      expectCleanError(reply, 400, "INVALID_ARGUMENT");
    });

    it("answers 400 for a malformed body on Validate too", async () => {
      expectCleanError(await post(url("/auth/validate"), "[1,2]"), 400, "INVALID_ARGUMENT");
      expectCleanError(await post(url("/auth/validate"), { token: 7 }), 400, "INVALID_ARGUMENT");
    });

    it.each([
      ["GET", "/nope"],
      ["POST", "/auth/unknown"],
      ["GET", "/auth/sessions/abc/extra"],
      ["GET", "/"],
    ])("answers 404 NOT_FOUND with a JSON body for %s %s", async (method, path) => {
      expectCleanError(await send(url(path), { method }), 404, "NOT_FOUND");
    });

    it.each([
      ["GET", "/auth/login", "POST"],
      ["PUT", "/auth/validate", "POST"],
      ["GET", "/auth/sessions/abc", "DELETE, PATCH"],
      ["GET", "/admin/users/abc/disable", "POST"],
      ["PUT", "/admin/api-keys/abc", "DELETE"],
      ["POST", "/health", "GET"],
    ])("answers 405 for %s %s with Allow: %s", async (method, path, allow) => {
      const reply = await send(url(path), { method });
      expectCleanError(reply, 405, "METHOD_NOT_ALLOWED");
      expect(reply.headers.get("allow")).toBe(allow);
    });

    it.each([
      ["PUT", "/auth/sessions", ["DELETE", "GET"]],
      ["PUT", "/admin/users", ["GET", "POST"]],
      ["GET", "/admin/users/abc/totp", ["DELETE", "POST"]],
    ])(
      "lists every allowed method in the Allow header of a 405 for %s %s",
      async (method, path, allow) => {
        const reply = await send(url(path), { method });
        expectCleanError(reply, 405, "METHOD_NOT_ALLOWED");
        const allowed = (reply.headers.get("allow") ?? "").split(/,\s*/).sort();
        expect(allowed).toEqual(allow);
      },
    );
  });

  describe("with a small maxBodyBytes", () => {
    let small: TestKeycard;
    beforeAll(async () => {
      small = await startKeycard({ store: "memory", maxBodyBytes: 256 });
    });
    afterAll(() => small.close());

    it("answers 413 PAYLOAD_TOO_LARGE for a body over the limit", async () => {
      const reply = await post(`${small.baseUrl}/auth/login`, {
        email: "big@example.com",
        password: "x".repeat(1000),
      });
      expectCleanError(reply, 413, "PAYLOAD_TOO_LARGE");
    });

    it("answers 413 PAYLOAD_TOO_LARGE for a chunked body without Content-Length", async () => {
      const chunk = new TextEncoder().encode(
        `{"email":"big@example.com","password":"${"y".repeat(600)}"}`,
      );
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(chunk);
          controller.close();
        },
      });
      const reply = await send(`${small.baseUrl}/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        duplex: "half",
      });
      expectCleanError(reply, 413, "PAYLOAD_TOO_LARGE");
    });

    it("still serves a body under the limit", async () => {
      const user = await createTestUser(small);
      const reply = await post(`${small.baseUrl}/auth/login`, {
        email: user.email,
        password: user.password,
      });
      expect(reply.status).toBe(200);
    });
  });
});
