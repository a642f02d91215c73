import { describe, expect, it } from "vitest";
import {
  createUserOverRest,
  type RestUser,
  restKeycardForSuite,
  testAdminToken,
} from "../helpers/keycard.js";
import { bearer, expectError, type Json, rfc3339, stackTrace } from "../helpers/rest.js";
import { enrollTotpOverRest, totpCode } from "../helpers/totp-codes.js";

const admin = { authorization: `Bearer ${testAdminToken}` };

describe("AdminService over REST", () => {
  // Each refused admin credential below is a guess; they come from many addresses, so that
  // the guessing budget (tested in secret-guessing.test.ts) leaves every answer to be seen.
  const rest = restKeycardForSuite({ trustedProxies: ["127.0.0.1", "::1"] });

  function createUser(displayName = "Dana"): Promise<RestUser> {
    return createUserOverRest(rest, displayName);
  }

  async function createKey(
    userId: string,
    fields: Json = {},
  ): Promise<{ id: string; key: string; createdAt: number }> {
    const reply = await rest.post(
      `/admin/users/${userId}/api-keys`,
      { name: "robot", skip_totp: true, ...fields },
      admin,
    );
    expect(reply.status).toBe(200);
    const apiKey = reply.body.api_key as Json;
    return {
      id: String(apiKey.id),
      key: String(reply.body.key),
      createdAt: Date.parse(String(apiKey.created_at)),
    };
  }

  async function login(credentials: Json): Promise<{ token: string; sessionId: string }> {
    const reply = await rest.post("/auth/login", credentials, { "user-agent": "admin-test/1.0" });
    expect(reply.status).toBe(200);
    return { token: String(reply.body.session_token), sessionId: String(reply.body.session_id) };
  }

  async function meStatus(token: string): Promise<{ status: number; error: unknown }> {
    const reply = await rest.get("/auth/me", bearer(token));
    return { status: reply.status, error: reply.body.error };
  }

  describe("POST /admin/users/{user_id}/password (SetPassword)", () => {
    it("revokes every session of the user; the old password then fails and the new one works", async () => {
      const user = await createUser();
      const { key } = await createKey(user.id);
      const byPassword = await login({ email: user.email, password: user.password });
      const byKey = await login({ api_key: key });

      const reply = await rest.post(
        `/admin/users/${user.id}/password`,
        { password: "a brand new passphrase" },
        admin,
      );
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ revoked_sessions: 2 });

      await expect(meStatus(byPassword.token)).resolves.toEqual({
        status: 401,
        error: "SESSION_REVOKED",
      });
      await expect(meStatus(byKey.token)).resolves.toEqual({
        status: 401,
        error: "SESSION_REVOKED",
      });
      expectError(
        await rest.post("/auth/login", { email: user.email, password: user.password }),
        401,
        "INVALID_CREDENTIALS",
      );
      const fresh = await login({ email: user.email, password: "a brand new passphrase" });
      await expect(meStatus(fresh.token)).resolves.toEqual({ status: 200, error: undefined });
    });

    it("refuses a too short password with 400 and an unknown user with 404, changing nothing", async () => {
      const user = await createUser();
      const session = await login({ email: user.email, password: user.password });

      expectError(
        await rest.post(`/admin/users/${user.id}/password`, { password: "short" }, admin),
        400,
        "INVALID_ARGUMENT",
      );
      expectError(
        await rest.post("/admin/users/nobody/password", { password: "long enough" }, admin),
        404,
        "NOT_FOUND",
      );
      await expect(meStatus(session.token)).resolves.toEqual({ status: 200, error: undefined });
      await login({ email: user.email, password: user.password });
    });
  });

  describe("GET /admin/users (ListUsers)", () => {
    it("pages with page_size=1 and next_page_token, oldest first, ending with an empty token", async () => {
      const created = [
        await createUser("Pager"),
        await createUser("Pager"),
        await createUser("Pager"),
      ];

      const ids: string[] = [];
      let pageToken = "";
      for (let page = 0; page < 1000; page += 1) {
        const query = `page_size=1${pageToken === "" ? "" : `&page_token=${pageToken}`}`;
        const reply = await rest.get(`/admin/users?${query}`, admin);
        expect(reply.status).toBe(200);
        const users = reply.body.users as Json[];
        expect(users).toHaveLength(1);
        ids.push(String(users[0]?.id));
        expect(reply.text).not.toContain("correct horse");
        expect(reply.text).not.toContain("argon2");
        pageToken = String(reply.body.next_page_token);
        if (pageToken === "") {
          break;
        }
      }

      expect(pageToken).toBe("");
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.slice(-3)).toEqual(created.map((user) => user.id));
      const all = await rest.get("/admin/users", admin);
      expect((all.body.users as Json[]).map((user) => user.id)).toEqual(ids);
      expect(all.body.next_page_token).toBe("");
      expect((all.body.users as Json[]).at(-1)).toMatchObject({
        id: created[2]?.id,
        email: created[2]?.email,
        display_name: "Pager",
        disabled: false,
        totp_enabled: false,
        created_at: expect.stringMatching(rfc3339),
      });
    });

    it.each(["page_size=-1", "page_size=many", "page_token=not-a-token", "page_token=1"])(
      "refuses %s with 400 INVALID_ARGUMENT",
      async (query) => {
        expectError(await rest.get(`/admin/users?${query}`, admin), 400, "INVALID_ARGUMENT");
      },
    );

    it("treats a page_size above 1000 as 1000", async () => {
      const reply = await rest.get("/admin/users?page_size=1001", admin);
      expect(reply.status).toBe(200);
      expect(reply.body.next_page_token).toBe("");
    });
  });

  describe("GET /admin/users/{user_id}/api-keys (ListApiKeys)", () => {
    it("lists a user's keys newest first, revoked ones included, with last use, never the key", async () => {
      const user = await createUser();
      const older = await createKey(user.id, { name: "older" });
      // The newer key must be created in a later millisecond for the order to show.
      await expect
        .poll(() => Date.now(), {
          interval: 1,
          message: "the clock passes the older key's creation",
        })
        .toBeGreaterThan(older.createdAt);
      const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
      const newer = await createKey(user.id, { name: "newer", expires_at: expiresAt });
      await login({ api_key: older.key });
      expect((await rest.del(`/admin/api-keys/${newer.id}`, admin)).status).toBe(200);

      const reply = await rest.get(`/admin/users/${user.id}/api-keys`, admin);
      expect(reply.status).toBe(200);
      const keys = reply.body.api_keys as Json[];
      expect(keys.map((key) => key.name)).toEqual(["newer", "older"]);
      expect(keys[0]).toMatchObject({
        id: newer.id,
        user_id: user.id,
        revoked: true,
        skip_totp: true,
        expires_at: expect.stringMatching(rfc3339),
      });
      expect(Date.parse(String(keys[0]?.expires_at))).toBe(Date.parse(expiresAt));
      expect(keys[0]?.last_used_at).toBeUndefined();
      expect(keys[1]).toMatchObject({
        id: older.id,
        revoked: false,
        hint: older.key.slice(0, "kc_key_".length + 4),
        created_at: expect.stringMatching(rfc3339),
        last_used_at: expect.stringMatching(rfc3339),
      });
      expect(keys[1]?.expires_at).toBeUndefined();
      for (const { key } of [older, newer]) {
        expect(reply.text).not.toContain(key);
        expect(reply.text).not.toContain(key.slice("kc_key_".length));
      }
    });

    it("answers 404 NOT_FOUND for an unknown user", async () => {
      expectError(await rest.get("/admin/users/nobody/api-keys", admin), 404, "NOT_FOUND");
    });
  });

  describe("GET and DELETE /admin/users/{user_id}/sessions", () => {
    it("lists a user's live sessions newest first, none marked current, without tokens", async () => {
      const user = await createUser();
      const key = await createKey(user.id);
      const byPassword = await login({ email: user.email, password: user.password });
      const byKey = await login({ api_key: key.key });

      const reply = await rest.get(`/admin/users/${user.id}/sessions`, admin);
      expect(reply.status).toBe(200);
      expect(reply.body.sessions).toEqual([
        expect.objectContaining({
          id: byKey.sessionId,
          current: false,
          auth_methods: ["api_key"],
          authentication_methods: ["AUTH_METHOD_API_KEY"],
          api_key_id: key.id,
          user_agent: "admin-test/1.0",
          ip_address: "127.0.0.1",
          created_at: expect.stringMatching(rfc3339),
          expires_at: expect.stringMatching(rfc3339),
        }),
        expect.objectContaining({
          id: byPassword.sessionId,
          current: false,
          auth_methods: ["password"],
          authentication_methods: ["AUTH_METHOD_PASSWORD"],
          api_key_id: "",
        }),
      ]);
      expect(reply.text).not.toContain(byPassword.token);
      expect(reply.text).not.toContain(byKey.token);
      expectError(await rest.get("/admin/users/nobody/sessions", admin), 404, "NOT_FOUND");
    });

    it("revokes one session by session_id, then all of the rest", async () => {
      const user = await createUser();
      const sessions = [
        await login({ email: user.email, password: user.password }),
        await login({ email: user.email, password: user.password }),
        await login({ email: user.email, password: user.password }),
      ];
      const [first, second, third] = sessions as [
        (typeof sessions)[0],
        (typeof sessions)[0],
        (typeof sessions)[0],
      ];

      const one = await rest.del(
        `/admin/users/${user.id}/sessions?session_id=${first.sessionId}`,
        admin,
      );
      expect(one.status).toBe(200);
      expect(one.body).toEqual({ revoked_count: 1 });
      await expect(meStatus(first.token)).resolves.toEqual({
        status: 401,
        error: "SESSION_REVOKED",
      });
      await expect(meStatus(second.token)).resolves.toEqual({ status: 200, error: undefined });
      expectError(
        await rest.del(`/admin/users/${user.id}/sessions?session_id=${first.sessionId}`, admin),
        404,
        "NOT_FOUND",
      );

      const all = await rest.del(`/admin/users/${user.id}/sessions`, admin);
      expect(all.status).toBe(200);
      expect(all.body).toEqual({ revoked_count: 2 });
      for (const session of [second, third]) {
        await expect(meStatus(session.token)).resolves.toEqual({
          status: 401,
          error: "SESSION_REVOKED",
        });
      }
      const listed = await rest.get(`/admin/users/${user.id}/sessions`, admin);
      expect(listed.body).toEqual({ sessions: [], next_page_token: "" });
      expectError(await rest.del("/admin/users/nobody/sessions", admin), 404, "NOT_FOUND");
    });
  });

  describe("RevokeUserSessions across users", () => {
    it("answers 404 for another user's session id and leaves that session alone", async () => {
      const owner = await createUser();
      const other = await createUser();
      const session = await login({ email: owner.email, password: owner.password });

      expectError(
        await rest.del(`/admin/users/${other.id}/sessions?session_id=${session.sessionId}`, admin),
        404,
        "NOT_FOUND",
      );
      await expect(meStatus(session.token)).resolves.toEqual({ status: 200, error: undefined });
    });
  });

  describe("DELETE /admin/users/{user_id}/totp (ResetTotp)", () => {
    it("removes the user's TOTP: a password login then needs no code, and a TOTP key is not enrolled", async () => {
      const user = await createUser();
      const { secret } = await enrollTotpOverRest(rest.baseUrl, user.id, testAdminToken);
      const { key } = await createKey(user.id, { skip_totp: false });
      expectError(
        await rest.post("/auth/login", { email: user.email, password: user.password }),
        401,
        "TOTP_REQUIRED",
        "TOTP code required",
      );
      await login({ api_key: key, totp_code: await totpCode(secret) });

      const reset = await rest.del(`/admin/users/${user.id}/totp`, admin);
      expect(reset.status).toBe(200);
      expect(reset.body.user).toMatchObject({ id: user.id, totp_enabled: false });

      await login({ email: user.email, password: user.password });
      expectError(
        await rest.post("/auth/login", { api_key: key, totp_code: "123456" }),
        400,
        "TOTP_NOT_ENROLLED",
      );
      expectError(await rest.del("/admin/users/nobody/totp", admin), 404, "NOT_FOUND");
    });
  });

  describe("the administrator token", () => {
    const calls: { name: string; method: "GET" | "POST" | "DELETE"; path: string; body?: Json }[] =
      [
        { name: "ListUsers", method: "GET", path: "/admin/users" },
        {
          name: "SetPassword",
          method: "POST",
          path: "/admin/users/{id}/password",
          body: { password: "taken over!!" },
        },
        { name: "CreateApiKey", method: "POST", path: "/admin/users/{id}/api-keys", body: {} },
        { name: "ListApiKeys", method: "GET", path: "/admin/users/{id}/api-keys" },
        { name: "EnrollTotp", method: "POST", path: "/admin/users/{id}/totp", body: {} },
        { name: "ResetTotp", method: "DELETE", path: "/admin/users/{id}/totp" },
        { name: "ListUserSessions", method: "GET", path: "/admin/users/{id}/sessions" },
        { name: "RevokeUserSessions", method: "DELETE", path: "/admin/users/{id}/sessions" },
        { name: "RevokeApiKey", method: "DELETE", path: "/admin/api-keys/{key}" },
      ];

    it("is required by every account method: none 401, a session token 403, an API key 401", async () => {
      const user = await createUser();
      const key = await createKey(user.id);
      const session = await login({ email: user.email, password: user.password });
      const outcomes: Json[] = [];
      let address = 0;
      for (const call of calls) {
        const path = call.path.replace("{id}", user.id).replace("{key}", key.id);
        for (const [credential, presented] of [
          ["none", {}],
          ["session", bearer(session.token)],
          ["api key", bearer(key.key)],
          ["wrong admin token", bearer(`${testAdminToken}x`)],
        ] as const) {
          address += 1;
          const headers = { ...presented, "x-forwarded-for": `198.18.0.${address}` };
          const reply =
            call.method === "GET"
              ? await rest.get(path, headers)
              : call.method === "DELETE"
                ? await rest.del(path, headers)
                : await rest.post(path, call.body, headers);
          expect(reply.text).not.toMatch(stackTrace);
          outcomes.push({
            call: call.name,
            credential,
            status: reply.status,
            error: reply.body.error,
          });
        }
      }
      expect(outcomes).toEqual(
        calls.flatMap((call) => [
          { call: call.name, credential: "none", status: 401, error: "ADMIN_TOKEN_REQUIRED" },
          { call: call.name, credential: "session", status: 403, error: "PERMISSION_DENIED" },
          { call: call.name, credential: "api key", status: 401, error: "ADMIN_TOKEN_REQUIRED" },
          {
            call: call.name,
            credential: "wrong admin token",
            status: 401,
            error: "ADMIN_TOKEN_REQUIRED",
          },
        ]),
      );

      // Nothing was changed by the refused calls.
      await expect(meStatus(session.token)).resolves.toEqual({ status: 200, error: undefined });
      await login({ email: user.email, password: user.password });
      await login({ api_key: key.key });
      const keys = await rest.get(`/admin/users/${user.id}/api-keys`, admin);
      expect(keys.body.api_keys).toEqual([expect.objectContaining({ id: key.id, revoked: false })]);
    });
  });
});
