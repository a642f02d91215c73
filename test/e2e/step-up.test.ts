import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  createTestUser,
  loginRest,
  postJson,
  startKeycard,
  type TestKeycard,
} from "../helpers/keycard.js";
import { LogLines } from "../helpers/log-lines.js";
import { bearer, send } from "../helpers/rest.js";

/**
 * Step-up over REST on Redis (issue 16): a service asks for a recent login, the person
 * proves themselves again on the same session, and the new assurance survives the store.
 */
describe("step-up on a real server and Redis", () => {
  const clock = new FakeClock();
  const log = new LogLines();
  let keycard: TestKeycard;

  beforeAll(async () => {
    keycard = await startKeycard({ clock, logger: pino({ level: "info" }, log) });
  });
  afterAll(() => keycard.close());

  const validate = (token: string, extra: Record<string, unknown> = {}) =>
    postJson(`${keycard.baseUrl}/auth/validate`, { token, ...extra });

  it("asks an old login to step up, and answers active with the new token after Reauthenticate", async () => {
    const user = await createTestUser(keycard);
    const login = await loginRest(keycard, user);
    clock.advance(2_000);

    const stale = await validate(login.session_token, { max_auth_age_seconds: 1 });
    expect(stale.body).toMatchObject({ active: false, reason: "INACTIVE_REASON_STEP_UP_REQUIRED" });
    expect(
      (
        await send(`${keycard.baseUrl}/auth/verify?max_age=1`, {
          headers: bearer(login.session_token),
        })
      ).status,
    ).toBe(401);

    const stepped = await postJson(
      `${keycard.baseUrl}/auth/reauthenticate`,
      { password: user.password },
      bearer(login.session_token),
    );
    expect(stepped.status).toBe(200);
    expect(stepped.body).toMatchObject({
      session_id: login.session_id,
      expires_at: login.expires_at,
      amr: ["pwd"],
      aal: 1,
    });
    expect(Date.parse(String(stepped.body.auth_time))).toBe(clock.now());
    const token = String(stepped.body.session_token);
    expect(token).not.toBe(login.session_token);

    const fresh = await validate(token, { max_auth_age_seconds: 1 });
    expect(fresh.body).toMatchObject({ active: true, session_id: login.session_id });
    expect(Date.parse(String(fresh.body.auth_time))).toBe(clock.now());
    const verified = await send(`${keycard.baseUrl}/auth/verify?max_age=1`, {
      headers: bearer(token),
    });
    expect(verified.status).toBe(200);
    expect(verified.headers.get("x-auth-time")).toBe(String(Math.floor(clock.now() / 1000)));
    expect(log.audits("session.reauthenticated")).toEqual([
      expect.objectContaining({
        userId: user.id,
        sessionId: login.session_id,
        methods: "password",
      }),
    ]);
  });

  it("answers 401 INVALID_CREDENTIALS to a wrong password and keeps the session's assurance", async () => {
    const user = await createTestUser(keycard);
    const login = await loginRest(keycard, user);
    clock.advance(2_000);
    const wrong = await postJson(
      `${keycard.baseUrl}/auth/reauthenticate`,
      { password: "not the password" },
      bearer(login.session_token),
    );
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: "INVALID_CREDENTIALS" });
    expect((await validate(login.session_token, { max_auth_age_seconds: 1 })).body).toMatchObject({
      reason: "INACTIVE_REASON_STEP_UP_REQUIRED",
    });
  });
});
