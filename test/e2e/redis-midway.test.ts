import { afterEach, describe, expect, it } from "vitest";
import type { SessionStore, Store } from "../../src/domain/ports.js";
import {
  createTestUser,
  loginRest,
  postJson,
  startKeycard,
  type TestKeycard,
} from "../helpers/keycard.js";
import { type RedisServer, startRedisServer } from "../helpers/redis-server.js";

/**
 * Kills redis-server at the moment one session write starts, once armed: the store still
 * talks to the real Redis, which really goes away mid-request, as in a crash.
 */
class CrashSwitch {
  private armed = false;

  constructor(
    private readonly redis: RedisServer,
    private readonly method: "create" | "rotate",
  ) {}

  arm(): void {
    this.armed = true;
  }

  readonly hook = (store: Store): Store => {
    const sessions = Object.create(store.sessions) as SessionStore;
    const write = store.sessions[this.method].bind(store.sessions) as (
      ...args: unknown[]
    ) => Promise<boolean>;
    Object.assign(sessions, {
      [this.method]: async (...args: unknown[]) => {
        if (this.armed) {
          this.armed = false;
          await this.redis.stop();
        }
        return write(...args);
      },
    });
    return { ...store, sessions, ping: () => store.ping(), close: () => store.close() };
  };
}

describe("a Redis crash in the middle of a request", () => {
  let redis: RedisServer;
  let keycard: TestKeycard;

  afterEach(async () => {
    await keycard?.close();
    await redis?.stop();
  });

  async function keycardCrashingOn(method: "create" | "rotate"): Promise<CrashSwitch> {
    redis = await startRedisServer({ persistent: true });
    const crash = new CrashSwitch(redis, method);
    keycard = await startKeycard({ redisUrl: redis.url, hookStore: crash.hook });
    return crash;
  }

  it("answers a login whose session could not be written with 503, and hands out no token", async () => {
    const crash = await keycardCrashingOn("create");
    const user = await createTestUser(keycard);
    crash.arm();
    const login = await postJson(`${keycard.baseUrl}/auth/login`, {
      email: user.email,
      password: user.password,
    });
    expect(login.status).toBe(503);
    expect(login.body).toEqual({ error: "STORE_UNAVAILABLE", message: expect.any(String) });
    await redis.restart();
    const credentials = { email: user.email, password: user.password };
    await expect
      .poll(async () => (await postJson(`${keycard.baseUrl}/auth/login`, credentials)).status)
      .toBe(200);
  });

  it("keeps the old token when a refresh could not be written, once Redis is back", async () => {
    const crash = await keycardCrashingOn("rotate");
    const user = await createTestUser(keycard);
    const login = await loginRest(keycard, user);
    crash.arm();
    const refresh = await postJson(
      `${keycard.baseUrl}/auth/refresh`,
      {},
      { authorization: `Bearer ${login.session_token}` },
    );
    expect(refresh.status).toBe(503);
    expect(JSON.stringify(refresh.body)).not.toContain("kc_sess_");
    await redis.restart();
    await expect
      .poll(async () => {
        const verdict = await postJson(`${keycard.baseUrl}/auth/validate`, {
          token: login.session_token,
        });
        return verdict.body.active;
      })
      .toBe(true);
  });
});
