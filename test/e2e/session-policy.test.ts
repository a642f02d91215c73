import { randomUUID } from "node:crypto";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { SessionPolicy } from "../../src/domain/session.js";
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
import { LogLines } from "../helpers/log-lines.js";
import { sample } from "../helpers/metrics.js";

type Json = Record<string, unknown>;

const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

describe("session policy on a real server and Redis", () => {
  const running: TestKeycard[] = [];
  let log: LogLines;

  async function keycardWith(
    policy: Partial<SessionPolicy>,
    namespace?: string,
    clock?: FakeClock,
  ): Promise<TestKeycard> {
    log ??= new LogLines();
    const keycard = await startKeycard({
      policy,
      logger: pino({ level: "info" }, log),
      ...(namespace === undefined ? {} : { namespace }),
      ...(clock === undefined ? {} : { clock }),
    });
    running.push(keycard);
    return keycard;
  }

  afterEach(async () => {
    await Promise.all(running.splice(0).map((keycard) => keycard.close()));
    log = new LogLines();
  });

  async function sessionsOf(keycard: TestKeycard, token: string): Promise<Json[]> {
    const reply = await requestJson(`${keycard.baseUrl}/auth/sessions`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(reply.status).toBe(200);
    return reply.body.sessions as Json[];
  }

  function loginFromFirefox(
    keycard: TestKeycard,
    user: { email: string; password: string },
  ): ReturnType<typeof postJson> {
    return postJson(
      `${keycard.baseUrl}/auth/login`,
      { email: user.email, password: user.password },
      { "user-agent": firefox },
    );
  }

  /** The body of a Validate; any status but 200 fails the test with the status and body. */
  async function validate(keycard: TestKeycard, token: string): Promise<Json> {
    const reply = await postJson(`${keycard.baseUrl}/auth/validate`, { token });
    expect(reply, JSON.stringify(reply.body)).toMatchObject({ status: 200 });
    return reply.body;
  }

  it("labels each session with the device its User-Agent names", async () => {
    const keycard = await keycardWith({});
    const user = await createTestUser(keycard);
    const login = await loginFromFirefox(keycard, user);
    const sessions = await sessionsOf(keycard, String(login.body.session_token));
    expect(sessions[0]).toMatchObject({
      device_label: "Firefox 128 on Linux",
      kind: "SESSION_KIND_STANDARD",
      user_agent: firefox,
    });
  });

  it("renews a session in use past its first expiry, and its token keeps working", async () => {
    const clock = new FakeClock();
    const keycard = await keycardWith({ renewAfter: 0.5, touchInterval: 0 }, undefined, clock);
    const user = await createTestUser(keycard);
    const login = await loginRest(keycard, user, { duration_seconds: 2 });
    const firstExpiry = Date.parse(login.expires_at);

    clock.advance(1_200);
    const renewed = await validate(keycard, login.session_token);
    expect(renewed.active).toBe(true);
    expect(Date.parse(String(renewed.expires_at))).toBeGreaterThan(firstExpiry + 1_000);

    clock.advance(firstExpiry + 300 - clock.now());
    expect((await validate(keycard, login.session_token)).active).toBe(true);
    expect(log.audits("session.renewed").length).toBeGreaterThanOrEqual(1);
  });

  it("holds at most SESSION_MAX_PER_USER sessions per user in Redis, ending the oldest", async () => {
    const keycard = await keycardWith({ maxSessionsPerUser: 3 });
    const user = await createTestUser(keycard);
    const tokens: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      tokens.push((await loginRest(keycard, user)).session_token);
    }
    const verdicts = await Promise.all(tokens.map((token) => validate(keycard, token)));
    expect(verdicts.map((verdict) => verdict.active)).toEqual([false, false, true, true, true]);
    expect(verdicts[0]?.reason).toBe("INACTIVE_REASON_REVOKED");
    expect(await sessionsOf(keycard, tokens[4] ?? "")).toHaveLength(3);
    const capped = log.audits("session.revoked").filter((line) => line.reason === "session_limit");
    expect(capped).toHaveLength(2);
  });

  it("keeps the cap under parallel logins from two replicas", async () => {
    const namespace = `test-${randomUUID()}`;
    const first = await keycardWith({ maxSessionsPerUser: 4 }, namespace);
    const second = await keycardWith({ maxSessionsPerUser: 4 }, namespace);
    const user = await createTestUser(first);
    const logins = await Promise.all(
      Array.from({ length: 12 }, (_, i) => loginRest(i % 2 === 0 ? first : second, user)),
    );
    const active = await Promise.all(
      logins.map(async (login) => (await validate(first, login.session_token)).active),
    );
    expect(active.filter(Boolean)).toHaveLength(4);
  });

  it("ends a user's sessions when an administrator changes their roles over REST", async () => {
    const keycard = await keycardWith({});
    const user = await createTestUser(keycard);
    const login = await loginRest(keycard, user);
    const reply = await postJson(
      `${keycard.baseUrl}/admin/users/${user.id}/roles`,
      { roles: ["admin"] },
      { authorization: `Bearer ${testAdminToken}` },
    );
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ revoked_sessions: 1, user: { roles: ["admin"] } });
    expect(await validate(keycard, login.session_token)).toMatchObject({
      active: false,
      reason: "INACTIVE_REASON_REVOKED",
    });
    const revokedAll = log.audits("session.revoked_all")[0];
    expect(revokedAll).toMatchObject({ userId: user.id, count: 1, reason: "privilege_change" });
  });

  it("counts live sessions and audits each expiry once across two replicas", async () => {
    const namespace = `test-${randomUUID()}`;
    const clock = new FakeClock();
    const first = await keycardWith({ renewAfter: 0 }, namespace, clock);
    const second = await keycardWith({ renewAfter: 0 }, namespace, clock);
    const user = await createTestUser(first);
    const short = await Promise.all(
      Array.from({ length: 6 }, () => loginRest(first, user, { duration_seconds: 1 })),
    );
    const revoked = await loginRest(first, user, { duration_seconds: 1 });
    await loginRest(second, user);
    await requestJson(`${first.baseUrl}/auth/logout`, {
      method: "POST",
      headers: { authorization: `Bearer ${revoked.session_token}` },
    });
    expect(await gauge(second, "keycard_sessions_active")).toBe(7);

    clock.advance(1_200);
    const swept = await Promise.all([
      first.server.sessions.sweepExpired(),
      second.server.sessions.sweepExpired(),
      first.server.sessions.sweepExpired(),
    ]);
    expect(swept.reduce((sum, count) => sum + count, 0)).toBe(short.length);
    const expired = log.audits("session.expired");
    expect(new Set(expired.map((line) => line.sessionId))).toEqual(
      new Set(short.map((login) => login.session_id)),
    );
    expect(expired).toHaveLength(short.length);
    const total =
      (await gauge(first, "keycard_sessions_expired_total")) +
      (await gauge(second, "keycard_sessions_expired_total"));
    expect(total).toBe(short.length);
    expect(await gauge(first, "keycard_sessions_active")).toBe(1);
  });

  it("audits session events with who, where and how, and never a token or password", async () => {
    const keycard = await keycardWith({});
    const user = await createTestUser(keycard);
    const login = await loginFromFirefox(keycard, user);
    const token = String(login.body.session_token);
    await requestJson(`${keycard.baseUrl}/auth/refresh`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    const created = log.audits("session.created")[0];
    expect(created).toMatchObject({
      userId: user.id,
      sessionId: login.body.session_id,
      ip: "127.0.0.1",
      userAgent: firefox,
      kind: "standard",
      device: "Firefox 128 on Linux",
    });
    expect(typeof created?.time).toBe("number");
    expect(log.audits("session.refreshed")[0]).toMatchObject({
      userId: user.id,
      sessionId: login.body.session_id,
      ip: "127.0.0.1",
      credential: "session",
    });
    expect(log.text).not.toContain(token.slice(8));
    expect(log.text).not.toContain(user.password);
  });
});

/** One unlabelled sample of a server's /metrics. */
async function gauge(keycard: TestKeycard, name: string): Promise<number> {
  const text = await (await fetch(`${keycard.baseUrl}/metrics`)).text();
  return Number(sample(text, name, {}));
}
