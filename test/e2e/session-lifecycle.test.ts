import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { hashToken } from "../../src/domain/token.js";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  createTestUser,
  loginRest,
  postJson,
  requestJson,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import { dumpNamespace, scanKeys } from "../helpers/redis-scan.js";

type Json = Record<string, unknown>;

function validate(keycard: TestKeycard, token: string): Promise<Json> {
  return postJson(`${keycard.baseUrl}/auth/validate`, { token }).then((reply) => {
    expect(reply.status).toBe(200);
    return reply.body;
  });
}

function refresh(
  keycard: TestKeycard,
  token: string,
  body: Json = {},
): Promise<{ status: number; body: Json }> {
  return postJson(`${keycard.baseUrl}/auth/refresh`, body, { "x-session-token": token });
}

function health(keycard: TestKeycard, token: string): Promise<{ status: number; body: Json }> {
  return requestJson(`${keycard.baseUrl}/health`, { headers: { "x-session-token": token } });
}

function revoke(
  keycard: TestKeycard,
  token: string,
  target: string,
): Promise<{ status: number; body: Json }> {
  return requestJson(`${keycard.baseUrl}/auth/sessions${target}`, {
    method: "DELETE",
    headers: { "x-session-token": token },
  });
}

async function listSessionIds(keycard: TestKeycard, token: string): Promise<string[]> {
  const reply = await requestJson(`${keycard.baseUrl}/auth/sessions`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(reply.status).toBe(200);
  return (reply.body.sessions as Json[]).map((session) => String(session.id));
}

describe("session lifecycle", () => {
  describe("on a server whose clock the test moves", () => {
    const clock = new FakeClock();
    let keycard: TestKeycard;
    beforeAll(async () => {
      keycard = await startKeycard({ clock });
    });
    afterAll(() => keycard.close());

    it("reports a session past its duration as expired in Validate and on /health", async () => {
      const user = await createTestUser(keycard);
      const login = await loginRest(keycard, user, { duration_seconds: 1 });
      expect(login.expires_in).toBeLessThanOrEqual(1);
      await expect(validate(keycard, login.session_token)).resolves.toMatchObject({
        active: true,
      });

      clock.advance(1_200);

      await expect(validate(keycard, login.session_token)).resolves.toMatchObject({
        active: false,
        reason: "INACTIVE_REASON_EXPIRED",
        session_id: "",
      });
      const reply = await health(keycard, login.session_token);
      expect(reply.status).toBe(401);
      expect(reply.body).toEqual({ error: "SESSION_EXPIRED", message: "Session token expired" });
    });

    it("drops an expired session from the listing", async () => {
      const user = await createTestUser(keycard);
      const short = await loginRest(keycard, user, { duration_seconds: 1 });
      clock.advance(1); // newest first: the later login, a millisecond later
      const long = await loginRest(keycard, user);
      await expect(listSessionIds(keycard, long.session_token)).resolves.toEqual([
        long.session_id,
        short.session_id,
      ]);

      clock.advance(1_200);

      await expect(listSessionIds(keycard, long.session_token)).resolves.toEqual([long.session_id]);
    });
  });

  describe("on a server with default policy", () => {
    let keycard: TestKeycard;
    beforeAll(async () => {
      keycard = await startKeycard();
    });
    afterAll(() => keycard.close());

    it("revokes one, others and all across three logins of one user", async () => {
      const user = await createTestUser(keycard);
      const [a, b, c] = [
        await loginRest(keycard, user),
        await loginRest(keycard, user),
        await loginRest(keycard, user),
      ];
      if (a === undefined || b === undefined || c === undefined) {
        throw new Error("three logins expected");
      }
      await expect(listSessionIds(keycard, a.session_token)).resolves.toEqual([
        c.session_id,
        b.session_id,
        a.session_id,
      ]);

      const one = await revoke(keycard, a.session_token, `/${b.session_id}`);
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({ revoked_count: 1 });
      await expect(validate(keycard, b.session_token)).resolves.toMatchObject({
        active: false,
        reason: "INACTIVE_REASON_REVOKED",
      });
      await expect(listSessionIds(keycard, a.session_token)).resolves.toEqual([
        c.session_id,
        a.session_id,
      ]);
      const again = await revoke(keycard, a.session_token, `/${b.session_id}`);
      expect(again.status).toBe(404);
      expect(again.body).toMatchObject({ error: "NOT_FOUND" });

      const d = await loginRest(keycard, user);
      const others = await revoke(keycard, a.session_token, "?scope=others");
      expect(others.status).toBe(200);
      expect(others.body).toMatchObject({ revoked_count: 2 });
      for (const gone of [c, d]) {
        await expect(validate(keycard, gone.session_token)).resolves.toMatchObject({
          active: false,
          reason: "INACTIVE_REASON_REVOKED",
        });
      }
      await expect(listSessionIds(keycard, a.session_token)).resolves.toEqual([a.session_id]);

      const all = await revoke(keycard, a.session_token, "?scope=all");
      expect(all.status).toBe(200);
      expect(all.body).toMatchObject({ revoked_count: 1 });
      await expect(validate(keycard, a.session_token)).resolves.toMatchObject({
        active: false,
        reason: "INACTIVE_REASON_REVOKED",
      });
      const after = await requestJson(`${keycard.baseUrl}/auth/sessions`, {
        headers: { "x-session-token": a.session_token },
      });
      expect(after.status).toBe(401);
      expect(after.body).toEqual({ error: "SESSION_REVOKED", message: "Session token revoked" });
    });

    it("refuses to revoke another user's session with 404 and leaves it alive", async () => {
      const mallory = await createTestUser(keycard);
      const victim = await createTestUser(keycard);
      const malloryLogin = await loginRest(keycard, mallory);
      const victimLogin = await loginRest(keycard, victim);

      const reply = await revoke(keycard, malloryLogin.session_token, `/${victimLogin.session_id}`);

      expect(reply.status).toBe(404);
      expect(reply.body).toEqual({ error: "NOT_FOUND", message: expect.any(String) });
      await expect(validate(keycard, victimLogin.session_token)).resolves.toMatchObject({
        active: true,
        session_id: victimLogin.session_id,
      });
      await expect(listSessionIds(keycard, victimLogin.session_token)).resolves.toEqual([
        victimLogin.session_id,
      ]);
    });

    it("revokes all sessions of a user disabled over the admin API and refuses its login", async () => {
      const user = await createTestUser(keycard);
      const bystander = await createTestUser(keycard);
      const logins = [
        await loginRest(keycard, user),
        await loginRest(keycard, user),
        await loginRest(keycard, user),
      ];
      const bystanderLogin = await loginRest(keycard, bystander);

      const reply = await postJson(
        `${keycard.baseUrl}/admin/users/${user.id}/disable`,
        {},
        { authorization: `Bearer ${testAdminToken}` },
      );

      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({
        user: { id: user.id, disabled: true },
        revoked_sessions: 3,
      });
      for (const login of logins) {
        await expect(validate(keycard, login.session_token)).resolves.toMatchObject({
          active: false,
          reason: "INACTIVE_REASON_REVOKED",
        });
      }
      const me = await requestJson(`${keycard.baseUrl}/auth/me`, {
        headers: { "x-session-token": logins[0]?.session_token ?? "" },
      });
      expect(me.status).toBe(401);
      const relogin = await postJson(`${keycard.baseUrl}/auth/login`, {
        email: user.email,
        password: user.password,
      });
      expect(relogin.status).toBe(401);
      expect(relogin.body).toEqual({
        error: "INVALID_CREDENTIALS",
        message: "Invalid email or password",
      });
      await expect(validate(keycard, bystanderLogin.session_token)).resolves.toMatchObject({
        active: true,
      });
    });

    it("stores no plain session token in Redis, only hashes", async () => {
      const user = await createTestUser(keycard);
      const login = await loginRest(keycard, user);
      const refreshed = await refresh(keycard, login.session_token);
      expect(refreshed.status).toBe(200);
      const tokens = [login.session_token, String(refreshed.body.session_token)];

      const redis = new Redis(inject("redisUrl"), { lazyConnect: true });
      try {
        await redis.connect();
        const userKeys = await scanKeys(redis, `*{u:${user.id}}*`);
        const index = userKeys.find((key) => key.endsWith(":sessions"));
        expect(index).toBeDefined();
        const namespace = String(index).slice(0, String(index).indexOf(":{u:"));
        expect(namespace).not.toBe("");

        const { keys, text } = await dumpNamespace(redis, namespace);
        // The dump really holds the values: the user, the session record (named by the first
        // token's hash, holding the current one's) and the link from the current token.
        expect(text).toContain(user.email);
        expect(text).toContain(hashToken(tokens[1] ?? ""));
        expect(text).toContain(login.session_id);

        for (const token of tokens) {
          expect(keys).toContain(`${namespace}:s:${hashToken(token).slice(0, 22)}`);
          expect(text).not.toContain(token);
          expect(text).not.toContain(token.slice("kc_sess_".length));
        }
        expect(text).not.toContain(user.password);
        expect(text).not.toContain("kc_sess_");
      } finally {
        redis.disconnect();
      }
    });
  });

  describe("on a server with a 3 s maximum duration", () => {
    const clock = new FakeClock();
    let keycard: TestKeycard;
    beforeAll(async () => {
      keycard = await startKeycard({ clock, policy: { maxDuration: 3_000 } });
    });
    afterAll(() => keycard.close());

    /** Moves the server's clock to 1 ms past `at`, a time it answered in RFC 3339. */
    function movePast(at: string): void {
      clock.advance(Date.parse(at) + 1 - clock.now());
    }

    it("extends a session on refresh but never past the maximum counted from login", async () => {
      const user = await createTestUser(keycard);
      const login = await loginRest(keycard, user, { duration_seconds: 1 });
      const me = await requestJson(`${keycard.baseUrl}/auth/me`, {
        headers: { "x-session-token": login.session_token },
      });
      const createdAt = Date.parse(String((me.body.session as Json).created_at));
      expect(Date.parse(login.expires_at) - createdAt).toBe(1_000);

      const first = await refresh(keycard, login.session_token, { duration_seconds: 60 });
      expect(first.status).toBe(200);
      const firstExpiry = String(first.body.expires_at);
      expect(Date.parse(firstExpiry)).toBe(createdAt + 3_000);
      expect(first.body.expires_in).toBeLessThanOrEqual(3);

      movePast(login.expires_at);
      const token = String(first.body.session_token);
      await expect(validate(keycard, token)).resolves.toMatchObject({ active: true });

      const second = await refresh(keycard, token, { duration_seconds: 60 });
      expect(second.status).toBe(200);
      expect(second.body.expires_at).toBe(firstExpiry);
      expect(second.body.expires_in).toBeLessThanOrEqual(2);

      movePast(firstExpiry);
      await expect(validate(keycard, String(second.body.session_token))).resolves.toMatchObject({
        active: false,
        reason: "INACTIVE_REASON_EXPIRED",
      });
    });

    it("caps a login's requested duration to the maximum", async () => {
      const user = await createTestUser(keycard);
      const login = await loginRest(keycard, user, { duration_seconds: 3600 });
      expect(login.expires_in).toBeLessThanOrEqual(3);
      expect(Date.parse(login.expires_at) - clock.now()).toBe(3_000);
    });
  });

  describe("on a server with a 1 s refresh grace", () => {
    const clock = new FakeClock();
    let keycard: TestKeycard;
    beforeAll(async () => {
      keycard = await startKeycard({ clock, policy: { refreshGrace: 1_000 } });
    });
    afterAll(() => keycard.close());

    it("keeps the old token working within the grace and revokes the whole session when it comes back later", async () => {
      const user = await createTestUser(keycard);
      const login = await loginRest(keycard, user);
      const refreshed = await refresh(keycard, login.session_token);
      expect(refreshed.status).toBe(200);
      const newToken = String(refreshed.body.session_token);

      await expect(validate(keycard, newToken)).resolves.toMatchObject({
        active: true,
        session_id: login.session_id,
      });
      await expect(validate(keycard, login.session_token)).resolves.toMatchObject({
        active: true,
        session_id: login.session_id,
      });
      const inFlight = await requestJson(`${keycard.baseUrl}/auth/me`, {
        headers: { "x-session-token": login.session_token },
      });
      expect(inFlight.status).toBe(200);

      clock.advance(1_000);

      await expect(validate(keycard, newToken)).resolves.toMatchObject({ active: true });
      await expect(validate(keycard, login.session_token)).resolves.toMatchObject({
        active: false,
        reason: "INACTIVE_REASON_REVOKED",
      });
      await expect(validate(keycard, newToken)).resolves.toMatchObject({
        active: false,
        reason: "INACTIVE_REASON_REVOKED",
      });
      const me = await requestJson(`${keycard.baseUrl}/auth/me`, {
        headers: { authorization: `Bearer ${newToken}` },
      });
      expect(me.status).toBe(401);
      expect(me.body).toMatchObject({ error: "SESSION_REVOKED" });
    });

    it("refuses a second refresh with a token already rotated out", async () => {
      const user = await createTestUser(keycard);
      const login = await loginRest(keycard, user);
      const first = await refresh(keycard, login.session_token);
      expect(first.status).toBe(200);

      const second = await refresh(keycard, login.session_token);

      expect(second.status).toBe(401);
      expect(second.body).toMatchObject({ error: "SESSION_INVALID" });
      await expect(validate(keycard, String(first.body.session_token))).resolves.toMatchObject({
        active: true,
      });
    });
  });

  describe("on a server with a 1 s idle timeout", () => {
    const clock = new FakeClock();
    let keycard: TestKeycard;
    beforeAll(async () => {
      keycard = await startKeycard({ clock, policy: { idleTimeout: 1_000, touchInterval: 0 } });
    });
    afterAll(() => keycard.close());

    it("times out an idle session while one used every 300 ms stays alive", async () => {
      const user = await createTestUser(keycard);
      const idle = await loginRest(keycard, user);
      const busy = await loginRest(keycard, user);

      for (let use = 0; use < 5; use += 1) {
        clock.advance(300);
        await expect(validate(keycard, busy.session_token)).resolves.toMatchObject({
          active: true,
        });
      }

      await expect(validate(keycard, idle.session_token)).resolves.toMatchObject({
        active: false,
        reason: "INACTIVE_REASON_IDLE_TIMEOUT",
      });
      await expect(validate(keycard, busy.session_token)).resolves.toMatchObject({
        active: true,
      });
      const reply = await health(keycard, idle.session_token);
      expect(reply.status).toBe(401);
      expect(reply.body).toMatchObject({ error: "SESSION_EXPIRED" });
    });

    it("no longer lists a session that timed out idle, since it can never be used again", async () => {
      const user = await createTestUser(keycard);
      const idle = await loginRest(keycard, user);
      const busy = await loginRest(keycard, user);

      for (let use = 0; use < 4; use += 1) {
        clock.advance(300);
        await expect(validate(keycard, busy.session_token)).resolves.toMatchObject({
          active: true,
        });
      }
      await expect(validate(keycard, idle.session_token)).resolves.toMatchObject({
        reason: "INACTIVE_REASON_IDLE_TIMEOUT",
      });

      await expect(listSessionIds(keycard, busy.session_token)).resolves.toEqual([busy.session_id]);
    });
  });

  describe("client address", () => {
    let trusting: TestKeycard;
    let distrusting: TestKeycard;
    beforeAll(async () => {
      [trusting, distrusting] = await Promise.all([
        startKeycard({ trustedProxies: ["127.0.0.1"] }),
        startKeycard(),
      ]);
    });
    afterAll(async () => {
      await Promise.all([trusting.close(), distrusting.close()]);
    });

    async function loggedInAddress(keycard: TestKeycard, forwardedFor: string): Promise<unknown> {
      const user = await createTestUser(keycard);
      const login = await postJson(
        `${keycard.baseUrl}/auth/login`,
        { email: user.email, password: user.password },
        { "x-forwarded-for": forwardedFor },
      );
      expect(login.status).toBe(200);
      const me = await requestJson(`${keycard.baseUrl}/auth/me`, {
        headers: { "x-session-token": String(login.body.session_token) },
      });
      return (me.body.session as Json).ip_address;
    }

    it("records X-Forwarded-For as ip_address when 127.0.0.1 is a trusted proxy", async () => {
      await expect(loggedInAddress(trusting, "203.0.113.5")).resolves.toBe("203.0.113.5");
      await expect(loggedInAddress(trusting, "198.51.100.7, 203.0.113.9")).resolves.toBe(
        "203.0.113.9",
      );
    });

    it("ignores X-Forwarded-For when the peer is not a trusted proxy", async () => {
      await expect(loggedInAddress(distrusting, "203.0.113.5")).resolves.toBe("127.0.0.1");
    });
  });
});
