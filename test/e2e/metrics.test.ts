import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import { keyHolder } from "../helpers/api-key-holder.js";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  createTestUser,
  loginRest,
  postJson,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import { sample } from "../helpers/metrics.js";
import { bearer, jsonPost, restClient, send } from "../helpers/rest.js";

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("metrics and request ids", () => {
  let keycard: TestKeycard;
  let auth: ReturnType<typeof createClient<typeof AuthService>>;

  beforeAll(async () => {
    keycard = await startKeycard();
    auth = createClient(
      AuthService,
      createConnectTransport({ baseUrl: keycard.baseUrl, httpVersion: "1.1" }),
    );
  });
  afterAll(() => keycard.close());

  it("counts logins by outcome and times Validate, in the Prometheus text format", async () => {
    const user = await createTestUser(keycard);
    const login = await loginRest(keycard, user);
    const failed = await send(
      `${keycard.baseUrl}/auth/login`,
      jsonPost({ email: user.email, password: "wrong password entirely" }),
    );
    expect(failed.status).toBe(401);
    const verdict = await auth.validate({ token: login.session_token });
    expect(verdict.active).toBe(true);

    const response = await fetch(`${keycard.baseUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const logins = "keycard_logins_total";
    expect(sample(text, logins, { outcome: "success", credential: "password" })).toBe(1);
    expect(sample(text, logins, { outcome: "failure", credential: "password" })).toBe(1);
    const validateCount = sample(text, "keycard_rpc_duration_seconds_count", {
      method: "keycard.v1.AuthService/Validate",
      code: "OK",
    });
    expect(validateCount).toBeGreaterThanOrEqual(1);
    expect(sample(text, "keycard_validate_duration_seconds_count", {})).toBeGreaterThanOrEqual(1);
    expect(text).toContain("# TYPE keycard_store_errors_total counter");
  });

  it("echoes the caller's x-request-id over REST, on success and on refusal", async () => {
    const ok = await send(`${keycard.baseUrl}/healthz`, { headers: { "x-request-id": "abc" } });
    expect(ok.headers.get("x-request-id")).toBe("abc");
    const refused = await send(
      `${keycard.baseUrl}/auth/validate`,
      jsonPost({ token: "" }, { "x-request-id": "abc" }),
    );
    expect(refused.headers.get("x-request-id")).toBe("abc");
    const login = await send(
      `${keycard.baseUrl}/auth/login`,
      jsonPost({ email: "nobody@example.com", password: "nope" }, { "x-request-id": "abc" }),
    );
    expect(login.status).toBe(401);
    expect(login.headers.get("x-request-id")).toBe("abc");
  });

  it("echoes the caller's x-request-id over Connect, on success and on refusal", async () => {
    let echoed: string | null = null;
    await auth.validate(
      { token: "" },
      {
        headers: { "x-request-id": "abc" },
        onHeader: (header) => (echoed = header.get("x-request-id")),
      },
    );
    expect(echoed).toBe("abc");
    const refusal = await auth
      .login(
        { email: "nobody@example.com", password: "nope" },
        { headers: { "x-request-id": "abc" } },
      )
      .then(
        () => undefined,
        (error: unknown) => ConnectError.from(error),
      );
    expect(refusal?.code).toBe(Code.Unauthenticated);
    expect(refusal?.metadata.get("x-request-id")).toBe("abc");
  });

  it("gives a request without an id a new UUID, over REST and over Connect", async () => {
    const rest = await send(`${keycard.baseUrl}/auth/validate`, jsonPost({ token: "" }));
    expect(rest.headers.get("x-request-id")).toMatch(uuid);
    let echoed: string | null = null;
    await auth.validate(
      { token: "" },
      { onHeader: (header) => (echoed = header.get("x-request-id")) },
    );
    expect(echoed).toMatch(uuid);
  });
});

describe("session lifetime and renewal metrics", () => {
  const clock = new FakeClock();
  let keycard: TestKeycard;

  beforeAll(async () => {
    keycard = await startKeycard({ clock });
  });
  afterAll(() => keycard.close());

  const scrape = async (): Promise<string> => (await fetch(`${keycard.baseUrl}/metrics`)).text();
  const lifetimes = (text: string, reason: string, le: string) =>
    sample(text, "keycard_session_lifetime_seconds_bucket", { le, reason });

  it("observes each session's lifetime at its end, by reason: logout, revoked, expired", async () => {
    const user = await createTestUser(keycard);
    const loggedOut = await loginRest(keycard, user);
    const revoked = await loginRest(keycard, user);
    const expiring = await loginRest(keycard, user, { duration_seconds: 600 });
    clock.advance(120_000);

    const logout = await postJson(
      `${keycard.baseUrl}/auth/logout`,
      {},
      bearer(loggedOut.session_token),
    );
    expect(logout.status).toBe(200);
    const revoke = await send(`${keycard.baseUrl}/auth/sessions/${revoked.session_id}`, {
      method: "DELETE",
      headers: bearer(expiring.session_token),
    });
    expect(revoke.status).toBe(200);
    clock.advance(600_000);
    expect(await keycard.server.sessions.sweepExpired()).toBe(1);

    const text = await scrape();
    expect(text).toContain("# TYPE keycard_session_lifetime_seconds histogram");
    // Two minutes: above the 60 s bucket, within 300 s.
    for (const reason of ["logout", "revoked"]) {
      expect(lifetimes(text, reason, "60")).toBe(0);
      expect(lifetimes(text, reason, "300")).toBe(1);
    }
    // Ten minutes, from login to expiry.
    expect(lifetimes(text, "expired", "300")).toBe(0);
    expect(lifetimes(text, "expired", "900")).toBe(1);
    expect(sample(text, "keycard_session_lifetime_seconds_sum", { reason: "expired" })).toBe(600);
  });

  it("observes the sessions a new password ends under password_changed", async () => {
    const user = await createTestUser(keycard);
    await loginRest(keycard, user);
    await loginRest(keycard, user);
    clock.advance(30_000);
    const changed = await postJson(
      `${keycard.baseUrl}/admin/users/${user.id}/password`,
      { password: "another long passphrase" },
      bearer(testAdminToken),
    );
    expect(changed.status).toBe(200);
    const text = await scrape();
    expect(lifetimes(text, "password_changed", "60")).toBe(2);
    expect(
      sample(text, "keycard_session_lifetime_seconds_sum", { reason: "password_changed" }),
    ).toBe(60);
  });

  it("counts renewals: by use once SESSION_RENEW_AFTER has passed, and by Refresh", async () => {
    const before = await scrape();
    const renewedBefore = sample(before, "keycard_sessions_renewed_total", {}) ?? 0;
    const refreshedBefore = sample(before, "keycard_sessions_refreshed_total", {}) ?? 0;
    const user = await createTestUser(keycard);
    const used = await loginRest(keycard, user, { duration_seconds: 100 });
    clock.advance(90_000);
    const verdict = await postJson(`${keycard.baseUrl}/auth/validate`, {
      token: used.session_token,
    });
    expect(verdict.body.active).toBe(true);
    const refreshed = await postJson(
      `${keycard.baseUrl}/auth/refresh`,
      {},
      bearer(used.session_token),
    );
    expect(refreshed.status).toBe(200);

    const after = await scrape();
    expect(sample(after, "keycard_sessions_renewed_total", {})).toBe(renewedBefore + 1);
    expect(sample(after, "keycard_sessions_refreshed_total", {})).toBe(refreshedBefore + 1);
  });
});

describe("session lifetimes of the other ways a session ends", () => {
  const clock = new FakeClock();
  let keycard: TestKeycard;
  const scrape = async (): Promise<string> => (await fetch(`${keycard.baseUrl}/metrics`)).text();
  const lifetimeSum = (text: string, reason: string) =>
    sample(text, "keycard_session_lifetime_seconds_sum", { reason });
  const lifetimeCount = (text: string, reason: string) =>
    sample(text, "keycard_session_lifetime_seconds_count", { reason });

  beforeAll(async () => {
    keycard = await startKeycard({ clock, policy: { maxSessionsPerUser: 2 } });
  });
  afterAll(() => keycard.close());

  it("observes the oldest session a login over SESSION_MAX_PER_USER ends, under session_limit", async () => {
    const user = await createTestUser(keycard);
    await loginRest(keycard, user);
    clock.advance(10_000);
    await loginRest(keycard, user);
    clock.advance(10_000);
    await loginRest(keycard, user);
    const text = await scrape();
    expect(lifetimeCount(text, "session_limit")).toBe(1);
    expect(lifetimeSum(text, "session_limit")).toBe(20);
  });

  it("observes the sessions a reset token and a person's own new password end", async () => {
    const reset = await createTestUser(keycard);
    await loginRest(keycard, reset);
    const own = await createTestUser(keycard);
    await loginRest(keycard, own);
    const caller = await loginRest(keycard, own);
    clock.advance(40_000);
    const issued = await postJson(
      `${keycard.baseUrl}/admin/users/${reset.id}/password-reset`,
      {},
      bearer(testAdminToken),
    );
    const newPassword = "a brand new long passphrase";
    const redeemed = await postJson(`${keycard.baseUrl}/auth/password/reset`, {
      token: issued.body.token,
      new_password: newPassword,
    });
    expect(redeemed.status).toBe(200);
    const changed = await postJson(
      `${keycard.baseUrl}/auth/password`,
      { current_password: own.password, new_password: newPassword },
      bearer(caller.session_token),
    );
    expect(changed.status).toBe(200);
    const text = await scrape();
    expect([lifetimeCount(text, "password_reset"), lifetimeSum(text, "password_reset")]).toEqual([
      1, 40,
    ]);
    expect([
      lifetimeCount(text, "password_changed"),
      lifetimeSum(text, "password_changed"),
    ]).toEqual([1, 40]);
  });

  it("observes the sessions an API key opened when the key is revoked, under api_key_revoked", async () => {
    const rest = restClient(keycard.baseUrl);
    const holder = await keyHolder(rest, false);
    const login = await rest.post("/auth/login", { api_key: holder.key });
    expect(login.status).toBe(200);
    clock.advance(50_000);
    const admin = bearer(testAdminToken);
    expect((await rest.del(`/admin/api-keys/${holder.keyId}`, admin)).status).toBe(200);
    const text = await scrape();
    expect(lifetimeCount(text, "api_key_revoked")).toBe(1);
    expect(lifetimeSum(text, "api_key_revoked")).toBe(50);
  });
});
