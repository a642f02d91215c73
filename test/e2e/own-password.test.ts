import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/keycard/v1/admin_service_pb.js";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import { defaultLoginThrottle } from "../../src/domain/login-throttle.js";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  createTestUser,
  loginRest,
  postJson,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import { LogLines } from "../helpers/log-lines.js";
import { bearer, send } from "../helpers/rest.js";
import { createGrpcClients, failureOf, bearer as grpcBearer, reasonOf } from "./grpc-client.js";

/**
 * A person's own password on a real server and Redis (issue 17, item 3): the change on a
 * fresh session with the current password, and the administrator's single-use reset token
 * for a lost one, over REST and Connect.
 */
const clock = new FakeClock();
const log = new LogLines();
const adminPassword = "built-in admin password for tests";
const newPassword = "violet tractor on the moon";
const fiveMinutes = 5 * 60_000;
let keycard: TestKeycard;

beforeAll(async () => {
  keycard = await startKeycard({
    clock,
    logger: pino({ level: "info" }, log),
    adminPassword,
    // Two wrong passwords from one address and the account waits: enough to see the count.
    loginThrottle: { ...defaultLoginThrottle, pairDelayAfter: 2, ipDelayAfter: 0 },
  });
});
afterAll(() => keycard?.close());

const url = (path: string) => `${keycard.baseUrl}${path}`;
const changePassword = (token: string, body: Record<string, unknown>) =>
  postJson(url("/auth/password"), body, bearer(token));
const me = async (token: string) =>
  (await send(url("/auth/me"), { headers: bearer(token) })).status;
const login = (email: string, password: string) =>
  postJson(url("/auth/login"), { email, password });
const adminHeaders = bearer(testAdminToken);
const createReset = (userId: string) =>
  postJson(url(`/admin/users/${userId}/password-reset`), {}, adminHeaders);
const redeem = (token: string, password: string) =>
  postJson(url("/auth/password/reset"), { token, new_password: password });

describe("ChangePassword over REST", () => {
  it("changes the password, ends the other sessions, keeps the caller's, and audits it without the password", async () => {
    const user = await createTestUser(keycard);
    const caller = await loginRest(keycard, user);
    const other = await loginRest(keycard, user);

    const changed = await changePassword(caller.session_token, {
      current_password: user.password,
      new_password: newPassword,
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body).toMatchObject({ revoked_sessions: 1 });

    expect(await me(caller.session_token)).toBe(200);
    expect(await me(other.session_token)).toBe(401);
    expect((await login(user.email, user.password)).body).toMatchObject({
      error: "INVALID_CREDENTIALS",
    });
    expect((await login(user.email, newPassword)).status).toBe(200);
    expect(log.audits("password.changed")).toContainEqual(
      expect.objectContaining({
        userId: user.id,
        sessionId: caller.session_id,
        revokedSessions: 1,
      }),
    );
    expect(log.text).not.toContain(newPassword);
    expect(log.text).not.toContain(user.password);
  });

  it("keeps the other sessions with keep_other_sessions", async () => {
    const user = await createTestUser(keycard);
    const caller = await loginRest(keycard, user);
    const other = await loginRest(keycard, user);
    const changed = await changePassword(caller.session_token, {
      current_password: user.password,
      new_password: newPassword,
      keep_other_sessions: true,
    });
    expect(changed.body).toMatchObject({ revoked_sessions: 0 });
    expect(await me(other.session_token)).toBe(200);
    expect(await me(caller.session_token)).toBe(200);
  });

  it("refuses a wrong current password with INVALID_CREDENTIALS and counts it against the login's budget", async () => {
    const user = await createTestUser(keycard);
    const caller = await loginRest(keycard, user);
    for (let guess = 0; guess < 2; guess += 1) {
      const wrong = await changePassword(caller.session_token, {
        current_password: `not the password ${guess}`,
        new_password: newPassword,
      });
      expect(wrong.status).toBe(401);
      expect(wrong.body).toMatchObject({ error: "INVALID_CREDENTIALS" });
    }
    expect(log.audits("login.failed")).toContainEqual(
      expect.objectContaining({ door: "change_password", reason: "INVALID_CREDENTIALS" }),
    );
    // The budget is the login's: the right password now waits, at Login too.
    const waiting = await login(user.email, user.password);
    expect(waiting.status).toBe(429);
    expect(waiting.body).toMatchObject({ error: "RATE_LIMITED" });
    const alsoWaiting = await changePassword(caller.session_token, {
      current_password: user.password,
      new_password: newPassword,
    });
    expect(alsoWaiting.status).toBe(429);
  });

  it("asks a session proven more than PRIVILEGED_SESSION_MAX_AGE ago to step up, and accepts it after Reauthenticate", async () => {
    const user = await createTestUser(keycard);
    const caller = await loginRest(keycard, user);
    clock.advance(fiveMinutes + 1_000);
    const change = { current_password: user.password, new_password: newPassword };

    const stale = await changePassword(caller.session_token, change);
    expect(stale.status).toBe(401);
    expect(stale.body).toMatchObject({ error: "STEP_UP_REQUIRED" });
    expect((await login(user.email, user.password)).status).toBe(200);

    const stepped = await postJson(
      url("/auth/reauthenticate"),
      { password: user.password },
      bearer(caller.session_token),
    );
    expect(stepped.status).toBe(200);
    const fresh = await changePassword(String(stepped.body.session_token), change);
    expect(fresh.status, JSON.stringify(fresh.body)).toBe(200);
  });

  it("refuses a common or short new password with INVALID_ARGUMENT naming new_password", async () => {
    const user = await createTestUser(keycard);
    const caller = await loginRest(keycard, user);
    for (const weak of ["Password123", "iloveyou", "short"]) {
      const refused = await changePassword(caller.session_token, {
        current_password: user.password,
        new_password: weak,
      });
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({
        error: "INVALID_ARGUMENT",
        message: expect.stringContaining("new_password"),
      });
    }
    expect((await login(user.email, user.password)).status).toBe(200);
  });

  it("refuses the built-in administrator, whose password is ADMIN_PASSWORD", async () => {
    const admin = await postJson(url("/auth/login"), { password: adminPassword });
    expect(admin.status).toBe(200);
    const refused = await changePassword(String(admin.body.session_token), {
      current_password: adminPassword,
      new_password: newPassword,
    });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: "PERMISSION_DENIED" });
  });

  it("refuses the built-in administrator a TOTP of its own, which its login would never ask for", async () => {
    const admin = await postJson(url("/auth/login"), { password: adminPassword });
    const token = String(admin.body.session_token);
    const enroll = await postJson(url("/auth/totp"), {}, bearer(token));
    expect(enroll).toMatchObject({ status: 403, body: { error: "PERMISSION_DENIED" } });
    expect(String(enroll.body.message)).toContain("ADMIN_PASSWORD");
  });
});

describe("password resets over REST", () => {
  it("issues a 15-minute reset token that sets the password once and ends every session", async () => {
    const user = await createTestUser(keycard);
    const session = await loginRest(keycard, user);
    const created = await createReset(user.id);
    expect(created.status).toBe(200);
    const token = String(created.body.token);
    expect(token).toMatch(/^kc_reset_[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(String(created.body.expires_at))).toBe(clock.now() + 15 * 60_000);
    expect(await me(session.session_token)).toBe(200);

    const reset = await redeem(token, newPassword);
    expect(reset.status, JSON.stringify(reset.body)).toBe(200);
    expect(reset.body).toMatchObject({ revoked_sessions: 1 });
    expect(await me(session.session_token)).toBe(401);
    expect((await login(user.email, user.password)).status).toBe(401);
    expect((await login(user.email, newPassword)).status).toBe(200);
    expect(log.audits("password.reset")).toContainEqual(
      expect.objectContaining({ userId: user.id, revokedSessions: 1 }),
    );
    expect(log.text).not.toContain(token);

    const reused = await redeem(token, "another fine passphrase");
    expect(reused.status).toBe(401);
    expect(reused.body).toMatchObject({ error: "RESET_TOKEN_INVALID" });
    expect((await login(user.email, newPassword)).status).toBe(200);
  });

  it("voids a reset token once a newer one is issued for the same account", async () => {
    const user = await createTestUser(keycard);
    const older = String((await createReset(user.id)).body.token);
    const newer = String((await createReset(user.id)).body.token);
    const refused = await redeem(older, newPassword);
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ error: "RESET_TOKEN_INVALID" });
    expect((await redeem(newer, newPassword)).status).toBe(200);
  });

  it("refuses an expired token", async () => {
    const user = await createTestUser(keycard);
    const token = String((await createReset(user.id)).body.token);
    clock.advance(15 * 60_000 + 1_000);
    const expired = await redeem(token, newPassword);
    expect(expired.status).toBe(401);
    expect(expired.body).toMatchObject({ error: "RESET_TOKEN_INVALID" });
    expect((await login(user.email, user.password)).status).toBe(200);
  });

  it("lets exactly one of concurrent redemptions of one token win", async () => {
    const user = await createTestUser(keycard);
    const token = String((await createReset(user.id)).body.token);
    const passwords = Array.from({ length: 5 }, (_, index) => `${newPassword} number ${index}`);
    const replies = await Promise.all(passwords.map((password) => redeem(token, password)));
    const winners = replies.flatMap((reply, index) => (reply.status === 200 ? [index] : []));
    expect(winners).toHaveLength(1);
    expect(replies.filter((reply) => reply.body.error === "RESET_TOKEN_INVALID")).toHaveLength(4);
    const winner = passwords[winners[0] ?? -1] ?? "";
    expect((await login(user.email, winner)).status).toBe(200);
  });

  it("refuses unknown and malformed tokens, and keeps a token whose new password was refused", async () => {
    expect((await redeem(`kc_reset_${"A".repeat(43)}`, newPassword)).body).toMatchObject({
      error: "RESET_TOKEN_INVALID",
    });
    expect((await redeem("kc_sess_not-a-reset-token", newPassword)).body).toMatchObject({
      error: "RESET_TOKEN_INVALID",
    });
    const user = await createTestUser(keycard);
    const token = String((await createReset(user.id)).body.token);
    const weak = await redeem(token, "password1");
    expect(weak.status).toBe(400);
    expect(weak.body).toMatchObject({ error: "INVALID_ARGUMENT" });
    expect((await redeem(token, newPassword)).status).toBe(200);
  });

  it("refuses common passwords at the admin API's CreateUser and SetPassword too", async () => {
    const created = await postJson(
      url("/admin/users"),
      { email: "common@example.com", display_name: "Common", password: "password1" },
      adminHeaders,
    );
    expect(created.status).toBe(400);
    expect(created.body).toMatchObject({ error: "INVALID_ARGUMENT" });
    const user = await createTestUser(keycard);
    const set = await postJson(
      url(`/admin/users/${user.id}/password`),
      { password: "Password123" },
      adminHeaders,
    );
    expect(set.status).toBe(400);
    expect(set.body).toMatchObject({
      error: "INVALID_ARGUMENT",
      message: expect.stringContaining("password is one of the most common"),
    });
  });

  it("answers 404 for an unknown user, and only to the administrator", async () => {
    expect((await createReset("no-such-user")).status).toBe(404);
    const user = await createTestUser(keycard);
    const session = await loginRest(keycard, user);
    const asUser = await postJson(
      url(`/admin/users/${user.id}/password-reset`),
      {},
      bearer(session.session_token),
    );
    expect(asUser.status).toBe(403);
  });
});

describe("a password reset of a locked account", () => {
  let locking: TestKeycard;

  beforeAll(async () => {
    locking = await startKeycard({
      clock,
      loginThrottle: {
        ...defaultLoginThrottle,
        pairDelayAfter: 0,
        ipDelayAfter: 0,
        lockoutThreshold: 3,
      },
    });
  });
  afterAll(() => locking?.close());

  it("lifts the lockout, so the owner signs in with the new password at once", async () => {
    const user = await createTestUser(locking);
    const loginTo = (password: string) =>
      postJson(`${locking.baseUrl}/auth/login`, { email: user.email, password });
    for (const guess of ["guess one", "guess two", "guess three"]) {
      expect((await loginTo(guess)).status).toBe(401);
    }
    expect((await loginTo(user.password)).status).toBe(429);
    const issued = await postJson(
      `${locking.baseUrl}/admin/users/${user.id}/password-reset`,
      {},
      adminHeaders,
    );
    const reset = await postJson(`${locking.baseUrl}/auth/password/reset`, {
      token: issued.body.token,
      new_password: newPassword,
    });
    expect(reset.status).toBe(200);
    expect((await loginTo(newPassword)).status).toBe(200);
  });
});

describe("own password over Connect", () => {
  const clients = () => {
    const transport = createConnectTransport({ baseUrl: keycard.baseUrl, httpVersion: "2" });
    return {
      auth: createClient(AuthService, transport),
      admin: createClient(AdminService, transport),
    };
  };

  it("changes the password, refuses a stale session, and redeems a reset token", async () => {
    const { auth, admin } = clients();
    const user = await createTestUser(keycard);
    const caller = await loginRest(keycard, user);
    const other = await loginRest(keycard, user);
    const headers = { authorization: `Bearer ${caller.session_token}` };
    const answer = await auth.changePassword(
      { currentPassword: user.password, newPassword },
      { headers },
    );
    expect(answer.revokedSessions).toBe(1);
    expect(await me(other.session_token)).toBe(401);

    clock.advance(fiveMinutes + 1_000);
    const stale = await auth
      .changePassword({ currentPassword: newPassword, newPassword: `${newPassword}!` }, { headers })
      .catch((error: unknown) => ConnectError.from(error));
    expect(stale).toMatchObject({ code: Code.Unauthenticated, rawMessage: expect.any(String) });
    expect((stale as ConnectError).rawMessage).toContain("more recent");

    const { token } = await admin.createPasswordReset(
      { userId: user.id },
      { headers: { authorization: `Bearer ${testAdminToken}` } },
    );
    const reset = await auth.resetPassword({ token, newPassword: "a brand new passphrase" });
    expect(reset.revokedSessions).toBe(1);
    await expect(
      auth.resetPassword({ token, newPassword: "yet another passphrase" }),
    ).rejects.toMatchObject({ code: Code.Unauthenticated });
    expect((await login(user.email, "a brand new passphrase")).status).toBe(200);
  });
});

describe("own password over gRPC", () => {
  it("changes the password, refuses a common one and a reused reset token with their reasons", async () => {
    const grpc = createGrpcClients(keycard.port);
    try {
      const user = await createTestUser(keycard);
      const caller = await loginRest(keycard, user);
      const common = await failureOf(
        grpc.call(
          "ChangePassword",
          { current_password: user.password, new_password: "Password123" },
          grpcBearer(caller.session_token),
        ),
      );
      expect(common.code).toBe(3);
      expect(reasonOf(common)).toBe("INVALID_ARGUMENT");
      const changed = await grpc.call(
        "ChangePassword",
        { current_password: user.password, new_password: newPassword },
        grpcBearer(caller.session_token),
      );
      expect(changed.revoked_sessions).toBe(0);

      const { token } = await grpc.call(
        "CreatePasswordReset",
        { user_id: user.id },
        grpcBearer(testAdminToken),
      );
      const reset = await grpc.call("ResetPassword", { token, new_password: "a fresh passphrase" });
      expect(reset.revoked_sessions).toBe(1);
      const reused = await failureOf(
        grpc.call("ResetPassword", { token, new_password: "another passphrase" }),
      );
      expect(reused.code).toBe(16);
      expect(reasonOf(reused)).toBe("RESET_TOKEN_INVALID");
    } finally {
      grpc.close();
    }
  });
});
