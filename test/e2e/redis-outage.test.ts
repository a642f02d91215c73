import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  loginRest,
  postJson,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import { type RedisServer, startRedisServer } from "../helpers/redis-server.js";

type Reply = { status: number; body: Record<string, unknown> };

const admin = { authorization: `Bearer ${testAdminToken}` };
const password = "outage test password";

/** Runs a request and returns its reply with how long it took. */
async function timed(request: () => Promise<Reply>): Promise<Reply & { ms: number }> {
  const started = performance.now();
  const reply = await request();
  return { ...reply, ms: performance.now() - started };
}

/** Retries `attempt` every 200 ms until it answers 200 or `limitMs` passes; the last reply. */
async function pollUntilOk(attempt: () => Promise<Reply>, limitMs: number): Promise<Reply> {
  const deadline = Date.now() + limitMs;
  let reply = await attempt().catch((error: unknown) => ({ status: 0, body: { error } }));
  while (reply.status !== 200 && Date.now() < deadline) {
    await sleep(200);
    reply = await attempt().catch((error: unknown) => ({ status: 0, body: { error } }));
  }
  return reply;
}

describe("keycard when its Redis goes away and comes back", () => {
  let redis: RedisServer;
  let keycard: TestKeycard;
  let url: (path: string) => string;

  beforeAll(async () => {
    redis = await startRedisServer();
    keycard = await startKeycard({ redisUrl: redis.url });
    url = (path) => `${keycard.baseUrl}${path}`;
  });
  afterAll(async () => {
    await keycard?.close();
    await redis?.stop();
  });

  const createUser = (email: string): Promise<Reply> =>
    postJson(url("/admin/users"), { email, display_name: "Outage", password }, admin);

  it("answers 503 STORE_UNAVAILABLE fast while Redis is down and recovers by itself", async () => {
    const created = await createUser("before-outage@example.com");
    expect(created.status).toBe(200);
    const login = await loginRest(keycard, { email: "before-outage@example.com", password });
    const before = await postJson(url("/auth/validate"), { token: login.session_token });
    expect(before.body).toMatchObject({ active: true });

    await redis.stop();

    const validate = await timed(() =>
      postJson(url("/auth/validate"), { token: login.session_token }),
    );
    expect(validate.status).toBe(503);
    expect(validate.body).toEqual({ error: "STORE_UNAVAILABLE", message: expect.any(String) });
    expect(validate.ms).toBeLessThan(2_000);

    const headerValidate = await timed(() =>
      postJson(url("/auth/validate"), "", { "x-session-token": login.session_token }),
    );
    expect(headerValidate.status).toBe(503);
    expect(headerValidate.body).toMatchObject({ error: "STORE_UNAVAILABLE" });
    expect(headerValidate.ms).toBeLessThan(2_000);

    const loginDown = await timed(() =>
      postJson(url("/auth/login"), { email: "before-outage@example.com", password }),
    );
    expect(loginDown.status).toBe(503);
    expect(loginDown.body).toEqual({ error: "STORE_UNAVAILABLE", message: expect.any(String) });
    expect(loginDown.ms).toBeLessThan(2_000);

    const refreshDown = await timed(() =>
      postJson(url("/auth/refresh"), {}, { "x-session-token": login.session_token }),
    );
    expect(refreshDown.status).toBe(503);
    expect(refreshDown.body).toMatchObject({ error: "STORE_UNAVAILABLE" });
    expect(refreshDown.ms).toBeLessThan(2_000);

    await redis.restart();

    const recreated = await pollUntilOk(() => createUser("after-outage@example.com"), 10_000);
    expect(recreated.status).toBe(200);
    const relogin = await postJson(url("/auth/login"), {
      email: "after-outage@example.com",
      password,
    });
    expect(relogin.status).toBe(200);
    expect(relogin.body.session_token).toMatch(/^kc_sess_[A-Za-z0-9_-]{43}$/);

    const oldToken = await postJson(url("/auth/validate"), { token: login.session_token });
    expect(oldToken.status).toBe(200);
    expect(oldToken.body).toMatchObject({ active: false, reason: "INACTIVE_REASON_UNKNOWN" });
    const newToken = await postJson(url("/auth/validate"), { token: relogin.body.session_token });
    expect(newToken.body).toMatchObject({ active: true });
    const lostUser = await postJson(url("/auth/login"), {
      email: "before-outage@example.com",
      password,
    });
    expect(lostUser.status).toBe(401);
    expect(lostUser.body).toMatchObject({ error: "INVALID_CREDENTIALS" });
  });
});
