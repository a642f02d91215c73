import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { FakeClock } from "../helpers/fake-clock.js";
import { startKeycard, type TestKeycard, testAdminToken } from "../helpers/keycard.js";
import { dumpNamespace, scanKeys } from "../helpers/redis-scan.js";
import {
  bearer,
  expectEnvelopeError,
  type Json,
  type Reply,
  type Rest,
  restClient,
  stackTrace,
} from "../helpers/rest.js";

/** Reference 003's example password, which is also what its ADMIN_PASSWORD is set to. */
const adminPassword = "the invariant editorial system";
const dayMs = 86_400_000;
const admin = bearer(testAdminToken);

/** An ISO 8601 timestamp as reference 003 writes them: `2026-01-13T21:45:38.683Z`. */
const isoMillis = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Every key of a JSON object, in the order it was written. */
function keysOf(body: Json): string[] {
  return Object.keys(body);
}

/** Logs in as reference 003's admin panel does, checks the answer, returns it. */
async function panelLogin(
  rest: Rest,
  headers: Record<string, string> = {},
): Promise<{ token: string; expiresAt: string; reply: Reply }> {
  const reply = await rest.post("/api/admin/login", { password: adminPassword }, headers);
  expect(reply.status).toBe(200);
  return { token: String(reply.body.token), expiresAt: String(reply.body.expiresAt), reply };
}

/** Expects `iso` to lie `durationMs` after some instant between `before` and `after`. */
function expectAhead(iso: string, durationMs: number, before: number, after: number): void {
  expect(iso).toMatch(isoMillis);
  const at = Date.parse(iso);
  expect(at).toBeGreaterThanOrEqual(before + durationMs);
  expect(at).toBeLessThanOrEqual(after + durationMs);
}

/** The built-in administrator account, found through the admin API. */
async function builtInAdmin(rest: Rest): Promise<Json | undefined> {
  const reply = await rest.get("/admin/users", admin);
  expect(reply.status).toBe(200);
  return (reply.body.users as Json[]).find((user) => user.email === "admin@keycard.local");
}

describe("reference 003's /api/admin on keycard (SESSION_DURATION_DAYS=30)", () => {
  let keycard: TestKeycard;
  let rest: Rest;
  beforeAll(async () => {
    keycard = await startKeycard({ adminPassword, adminPanelSessionMs: 30 * dayMs });
    rest = restClient(keycard.baseUrl);
  });
  afterAll(() => keycard.close());

  describe("POST /api/admin/login", () => {
    it("answers the password with success, token, expiresAt 30 days ahead and Login successful", async () => {
      const before = Date.now();
      const reply = await rest.post("/api/admin/login", { password: adminPassword });
      const after = Date.now();

      expect(reply.status).toBe(200);
      expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
      expect(reply.body).toEqual({
        success: true,
        token: expect.stringMatching(/^kc_sess_[A-Za-z0-9_-]{43}$/),
        expiresAt: expect.stringMatching(isoMillis),
        message: "Login successful",
      });
      expect(keysOf(reply.body)).toEqual(["success", "token", "expiresAt", "message"]);
      expectAhead(String(reply.body.expiresAt), 30 * dayMs, before - 1_000, after + 1_000);
      expect(reply.headers.getSetCookie()).toEqual([]);
    });

    it("refuses a wrong password with 401", async () => {
      for (const password of ["the invariant editorial System", "wrong", `${adminPassword} `]) {
        const reply = await rest.post("/api/admin/login", { password });
        expectEnvelopeError(reply, 401, "Unauthorized");
        expect(reply.text).not.toContain(adminPassword);
        expect(reply.text).not.toMatch(stackTrace);
      }
    });

    it("refuses a missing or empty password with 400", async () => {
      for (const reply of [
        await rest.post("/api/admin/login", {}),
        await rest.post("/api/admin/login", { password: "" }),
        await rest.post("/api/admin/login"),
      ]) {
        expectEnvelopeError(reply, 400, "Bad Request", "Password is required");
      }
    });

    it("gives every login a session of its own", async () => {
      const first = await panelLogin(rest);
      const second = await panelLogin(rest);
      expect(second.token).not.toBe(first.token);
      const logout = await rest.post("/api/admin/logout", undefined, bearer(first.token));
      expect(logout.status).toBe(200);
      await expect(rest.get("/api/admin/verify", bearer(second.token))).resolves.toMatchObject({
        status: 200,
        body: { valid: true },
      });
    });
  });

  describe("GET /api/admin/verify", () => {
    it("answers valid, the login's expiresAt and Token is valid for a live token", async () => {
      const { token, expiresAt } = await panelLogin(rest);
      const reply = await rest.get("/api/admin/verify", bearer(token));
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ valid: true, expiresAt, message: "Token is valid" });
      expect(keysOf(reply.body)).toEqual(["valid", "expiresAt", "message"]);
    });

    it("answers 401 valid false without a token and for a token it never issued", async () => {
      for (const reply of [
        await rest.get("/api/admin/verify"),
        await rest.get("/api/admin/verify", bearer("garbage")),
        await rest.get("/api/admin/verify", bearer(`kc_sess_${"A".repeat(43)}`)),
      ]) {
        expect(reply.status).toBe(401);
        expect(reply.body).toEqual({ valid: false, expiresAt: null, message: expect.any(String) });
        expect(keysOf(reply.body)).toEqual(["valid", "expiresAt", "message"]);
      }
    });
  });

  describe("POST /api/admin/logout", () => {
    it("revokes the token immediately: verify then answers 401 valid false", async () => {
      const { token } = await panelLogin(rest);
      const reply = await rest.post("/api/admin/logout", undefined, bearer(token));
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ success: true, message: "Logged out successfully" });

      const verify = await rest.get("/api/admin/verify", bearer(token));
      expect(verify.status).toBe(401);
      expect(verify.body).toEqual({ valid: false, expiresAt: null, message: "Token revoked" });
    });

    it("answers 401 without a token", async () => {
      const reply = await rest.post("/api/admin/logout");
      expectEnvelopeError(reply, 401, "Unauthorized");
    });
  });

  describe("what keycard stores", () => {
    it("keeps the user agent, IP and last use of each session, as the reference's admin_sessions table does", async () => {
      const userAgent = "Mozilla/5.0 (X11; Linux x86_64) AdminPanel/1.0";
      const { token, expiresAt } = await panelLogin(rest, { "user-agent": userAgent });
      await expect(rest.get("/api/admin/verify", bearer(token))).resolves.toMatchObject({
        status: 200,
      });

      const account = await builtInAdmin(rest);
      expect(account).toMatchObject({ email: "admin@keycard.local", roles: ["admin"] });
      const reply = await rest.get(`/admin/users/${String(account?.id)}/sessions`, admin);
      expect(reply.status).toBe(200);
      const sessions = reply.body.sessions as Json[];
      const session = sessions.find((candidate) => candidate.user_agent === userAgent);
      expect(session).toMatchObject({
        ip_address: "127.0.0.1",
        user_agent: userAgent,
        last_used_at: expect.any(String),
      });
      expect(Date.parse(String(session?.expires_at))).toBe(Date.parse(expiresAt));
      expect(reply.text).not.toContain(token);
    });

    it("logs every password login into one built-in account", async () => {
      await panelLogin(rest);
      await panelLogin(rest);
      const reply = await rest.get("/admin/users", admin);
      const admins = (reply.body.users as Json[]).filter(
        (user) => user.email === "admin@keycard.local",
      );
      expect(admins).toHaveLength(1);
    });

    it("does not let anyone log into the built-in account with its email and a password", async () => {
      await panelLogin(rest);
      for (const password of [adminPassword, "any password at all"]) {
        const reply = await rest.post("/api/v1/auth/login", {
          email: "admin@keycard.local",
          password,
        });
        expectEnvelopeError(reply, 401, "Unauthorized", "Invalid email or password");
      }
    });

    it("never writes the admin password or a session token to Redis", async () => {
      const { token } = await panelLogin(rest, { "user-agent": "dump-check/1.0" });
      const account = await builtInAdmin(rest);
      const redis = new Redis(inject("redisUrl"), { lazyConnect: true });
      try {
        await redis.connect();
        const [userKey] = await scanKeys(redis, `*:{u:${String(account?.id)}}:user`);
        expect(userKey).toBeDefined();
        const namespace = String(userKey).slice(0, String(userKey).indexOf(":{u:"));
        expect(namespace).not.toBe("");

        const { text } = await dumpNamespace(redis, namespace);
        // The dump really holds the records: the account and the session's user agent.
        expect(text).toContain("admin@keycard.local");
        expect(text).toContain("dump-check/1.0");
        expect(text).not.toContain(adminPassword);
        expect(text.toLowerCase()).not.toContain("invariant editorial");
        expect(text).not.toContain(token);
      } finally {
        redis.disconnect();
      }
    });
  });

  describe("paths and methods the profile does not have", () => {
    it("answers a wrong method with 405 and an unknown path with 404", async () => {
      const wrongMethod = await rest.get("/api/admin/login");
      expect(wrongMethod.status).toBe(405);
      expect(wrongMethod.headers.get("allow")).toBe("POST");
      const unknown = await rest.get("/api/admin/sessions");
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get("content-type")).toMatch(/^application\/json/);
    });
  });
});

describe("reference 003's SESSION_DURATION_DAYS", () => {
  it("gives sessions of 2 days when set to 2", async () => {
    const keycard = await startKeycard({ adminPassword, adminPanelSessionMs: 2 * dayMs });
    try {
      const rest = restClient(keycard.baseUrl);
      const before = Date.now();
      const { token, expiresAt } = await panelLogin(rest);
      const after = Date.now();
      expectAhead(expiresAt, 2 * dayMs, before - 1_000, after + 1_000);
      await expect(rest.get("/api/admin/verify", bearer(token))).resolves.toMatchObject({
        status: 200,
        body: { valid: true, expiresAt },
      });
    } finally {
      await keycard.close();
    }
  });

  it("gives sessions of 30 days when unset", async () => {
    const keycard = await startKeycard({ adminPassword });
    try {
      const before = Date.now();
      const { expiresAt } = await panelLogin(restClient(keycard.baseUrl));
      const after = Date.now();
      expectAhead(expiresAt, 30 * dayMs, before - 1_000, after + 1_000);
    } finally {
      await keycard.close();
    }
  });

  it("ends a session when its days are up: verify then answers 401 valid false", async () => {
    const clock = new FakeClock();
    const keycard = await startKeycard({
      store: "memory",
      clock,
      adminPassword,
      adminPanelSessionMs: 2 * dayMs,
      policy: { renewAfter: 0 },
    });
    try {
      const rest = restClient(keycard.baseUrl);
      const { token, expiresAt } = await panelLogin(rest);
      expect(Date.parse(expiresAt)).toBe(clock.now() + 2 * dayMs);

      clock.advance(2 * dayMs - 1_000);
      await expect(rest.get("/api/admin/verify", bearer(token))).resolves.toMatchObject({
        status: 200,
        body: { valid: true },
      });
      clock.advance(2_000);
      const reply = await rest.get("/api/admin/verify", bearer(token));
      expect(reply.status).toBe(401);
      expect(reply.body).toEqual({ valid: false, expiresAt: null, message: "Token expired" });
    } finally {
      await keycard.close();
    }
  });
});

describe("reference 003 without ADMIN_PASSWORD", () => {
  let keycard: TestKeycard;
  let rest: Rest;
  beforeAll(async () => {
    keycard = await startKeycard();
    rest = restClient(keycard.baseUrl);
  });
  afterAll(() => keycard.close());

  it("answers a password-only login with 400 email required and creates no admin account", async () => {
    const reply = await rest.post("/api/admin/login", { password: adminPassword });
    expectEnvelopeError(reply, 400, "Bad Request", "email (or api_key) is required");
    await expect(builtInAdmin(rest)).resolves.toBeUndefined();
  });
});

describe("HTTP_PROFILES", () => {
  it("serves only the admin panel when set to admin-panel", async () => {
    const keycard = await startKeycard({ adminPassword, httpProfiles: ["admin-panel"] });
    try {
      const rest = restClient(keycard.baseUrl);
      const login = await rest.post("/api/v1/auth/login", {
        email: "user@example.com",
        password: "password",
      });
      expect(login.status).toBe(404);
      expect(login.headers.getSetCookie()).toEqual([]);
      await expect(rest.get("/api/v1/auth/me")).resolves.toMatchObject({ status: 404 });
      const { token } = await panelLogin(rest);
      await expect(rest.get("/api/admin/verify", bearer(token))).resolves.toMatchObject({
        status: 200,
        body: { valid: true },
      });
    } finally {
      await keycard.close();
    }
  });

  it("serves only /api/v1/auth when set to api-v1-auth", async () => {
    const keycard = await startKeycard({ adminPassword, httpProfiles: ["api-v1-auth"] });
    try {
      const rest = restClient(keycard.baseUrl);
      const login = await rest.post("/api/admin/login", { password: adminPassword });
      expect(login.status).toBe(404);
      await expect(rest.get("/api/admin/verify")).resolves.toMatchObject({ status: 404 });
      await expect(rest.get("/api/v1/auth/me")).resolves.toMatchObject({ status: 401 });
    } finally {
      await keycard.close();
    }
  });
});
