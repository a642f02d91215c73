import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  createTestUser,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import {
  bearer,
  createGrpcClients,
  failureOf,
  type GrpcClients,
  reasonOf,
  rpcStatusOf,
  type WireTimestamp,
} from "./grpc-client.js";

/*
 * keycard as a gRPC service seen from grpc-js, a client that shares no code with ours:
 * the .proto files are loaded at run time, calls go over real h2c to a real server on
 * Redis. Error details are checked by decoding the `grpc-status-details-bin` trailer into
 * google.rpc.Status and its ErrorInfo (see rpcStatusOf in grpc-client.ts).
 */

const tokenPattern = /^kc_sess_[A-Za-z0-9_-]{43}$/;
const wellFormedUnknownToken = `kc_sess_${"A".repeat(43)}`;
const hour = 3_600;
const day = 86_400;

let keycard: TestKeycard;
let grpc: GrpcClients;

beforeAll(async () => {
  keycard = await startKeycard();
  grpc = createGrpcClients(keycard.port);
});

afterAll(async () => {
  grpc?.close();
  await keycard?.close();
});

function secondsOf(timestamp: WireTimestamp | null): number {
  if (timestamp === null) {
    throw new Error("timestamp is not set");
  }
  return Number(timestamp.seconds);
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function adminMetadata(): Metadata {
  return bearer(testAdminToken);
}

async function newUserWithToken(roles: string[] = ["user"]) {
  const user = await createTestUser(keycard, { roles });
  const login = await grpc.call("Login", { email: user.email, password: user.password });
  return { user, token: login.session_token, sessionId: login.session_id };
}

async function login(user: { email: string; password: string }) {
  return grpc.call("Login", { email: user.email, password: user.password });
}

describe("Login over gRPC", () => {
  it("starts a session with the right password and hands back token, id, expiry and greeting", async () => {
    const user = await createTestUser(keycard, { displayName: "Grace" });
    const before = nowSeconds();

    const response = await login(user);

    expect(response.session_token).toMatch(tokenPattern);
    expect(response.session_id).not.toBe("");
    expect(response.user).toBe("Grace");
    expect(response.message).toBe("Authenticated successfully. Use this token for 12 hours.");
    expect(typeof response.expires_in).toBe("number");
    expect(response.expires_in).toBeGreaterThanOrEqual(12 * hour - 2);
    expect(response.expires_in).toBeLessThanOrEqual(12 * hour);
    expect(secondsOf(response.expires_at) - before).toBeGreaterThanOrEqual(12 * hour - 1);
    expect(secondsOf(response.expires_at) - before).toBeLessThanOrEqual(12 * hour + 2);
  });

  it("compares the email case-insensitively", async () => {
    const user = await createTestUser(keycard);

    const response = await login({ email: user.email.toUpperCase(), password: user.password });

    expect(response.session_token).toMatch(tokenPattern);
  });

  it("refuses a wrong password and an unknown email alike, with UNAUTHENTICATED and INVALID_CREDENTIALS", async () => {
    const user = await createTestUser(keycard);

    const wrongPassword = await failureOf(
      login({ email: user.email, password: "not the password" }),
    );
    const unknownEmail = await failureOf(
      login({ email: "nobody-at-all@example.com", password: user.password }),
    );

    for (const error of [wrongPassword, unknownEmail]) {
      expect(error.code).toBe(status.UNAUTHENTICATED);
      expect(error.details).toBe("Invalid email or password");
      const details = rpcStatusOf(error);
      expect(details.code).toBe(status.UNAUTHENTICATED);
      expect(details.errorInfo).toHaveLength(1);
      expect(details.errorInfo[0]).toMatchObject({
        reason: "INVALID_CREDENTIALS",
        domain: "keycard.dev",
      });
    }
    expect(unknownEmail.details).toBe(wrongPassword.details);
  });

  it("caps a requested lifetime above the maximum at 30 days and honours a shorter one", async () => {
    const user = await createTestUser(keycard);

    const capped = await grpc.call("Login", {
      email: user.email,
      password: user.password,
      duration_seconds: 365 * day,
    });
    const short = await grpc.call("Login", {
      email: user.email,
      password: user.password,
      duration_seconds: 600,
    });

    expect(capped.expires_in).toBeGreaterThanOrEqual(30 * day - 2);
    expect(capped.expires_in).toBeLessThanOrEqual(30 * day);
    expect(capped.message).toBe("Authenticated successfully. Use this token for 30 days.");
    expect(short.expires_in).toBeGreaterThanOrEqual(598);
    expect(short.expires_in).toBeLessThanOrEqual(600);
    expect(short.message).toBe("Authenticated successfully. Use this token for 10 minutes.");
  });

  it("rejects a negative lifetime with INVALID_ARGUMENT naming duration_seconds", async () => {
    const user = await createTestUser(keycard);

    const error = await failureOf(
      grpc.call("Login", { email: user.email, password: user.password, duration_seconds: -5 }),
    );

    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(rpcStatusOf(error).errorInfo[0]).toMatchObject({
      reason: "INVALID_ARGUMENT",
      metadata: { field: "duration_seconds" },
    });
  });
});

describe("Validate over gRPC", () => {
  it("answers active with subject, roles, session id, email and expiry for a live token", async () => {
    const { user, token, sessionId } = await newUserWithToken(["user", "ops:read"]);

    const response = await grpc.call("Validate", { token });

    expect(response).toMatchObject({
      active: true,
      reason: "INACTIVE_REASON_UNSPECIFIED",
      subject: user.id,
      session_id: sessionId,
      roles: ["user", "ops:read"],
      email: user.email,
      display_name: user.displayName,
      kind: "CREDENTIAL_KIND_SESSION",
    });
    expect(response.expires_in).toBeGreaterThan(12 * hour - 5);
    expect(secondsOf(response.expires_at)).toBeGreaterThan(nowSeconds() + 12 * hour - 5);
  });

  it("checks the token from the authorization metadata when the body token is empty", async () => {
    const { token, sessionId } = await newUserWithToken();

    const response = await grpc.call("Validate", { token: "" }, bearer(token));

    expect(response).toMatchObject({ active: true, session_id: sessionId });
  });

  it("prefers the body token over the metadata token", async () => {
    const { token } = await newUserWithToken();

    const response = await grpc.call("Validate", { token: "garbage" }, bearer(token));

    expect(response).toMatchObject({ active: false, reason: "INACTIVE_REASON_MALFORMED" });
  });

  it("answers active=false with MALFORMED for a token that is not keycard's format, never an error", async () => {
    for (const token of ["garbage", "", `kc_key_${"A".repeat(43)}`, `kc_sess_${"A".repeat(42)}!`]) {
      const response = await grpc.call("Validate", { token });
      expect(response, token).toMatchObject({
        active: false,
        reason: "INACTIVE_REASON_MALFORMED",
        subject: "",
        session_id: "",
        expires_at: null,
        roles: [],
        kind: "CREDENTIAL_KIND_UNSPECIFIED",
      });
    }
  });

  it("answers active=false with UNKNOWN for a well-formed token keycard never issued", async () => {
    const response = await grpc.call("Validate", { token: wellFormedUnknownToken });

    expect(response).toMatchObject({
      active: false,
      reason: "INACTIVE_REASON_UNKNOWN",
      kind: "CREDENTIAL_KIND_UNSPECIFIED",
    });
  });

  it("answers active=false with REVOKED for the token of a logged-out session", async () => {
    const { token } = await newUserWithToken();
    await grpc.call("Logout", {}, bearer(token));

    const response = await grpc.call("Validate", { token });

    expect(response).toMatchObject({
      active: false,
      reason: "INACTIVE_REASON_REVOKED",
      subject: "",
    });
  });
});

describe("GetMe over gRPC", () => {
  it("returns the caller's account and current session", async () => {
    const { user, token, sessionId } = await newUserWithToken(["user", "admin"]);

    const response = await grpc.call("GetMe", {}, bearer(token));

    expect(response.user).toMatchObject({
      id: user.id,
      email: user.email,
      display_name: user.displayName,
      roles: ["user", "admin"],
      disabled: false,
      totp_enabled: false,
    });
    expect(response.session).toMatchObject({
      id: sessionId,
      current: true,
      ip_address: "127.0.0.1",
      auth_methods: ["password"],
      authentication_methods: ["AUTH_METHOD_PASSWORD"],
      api_key_id: "",
    });
  });

  it("accepts the token in x-session-token metadata", async () => {
    const { user, token } = await newUserWithToken();
    const metadata = new Metadata();
    metadata.set("x-session-token", token);

    const response = await grpc.call("GetMe", {}, metadata);

    expect(response.user?.id).toBe(user.id);
  });

  it("refuses a call without a token with UNAUTHENTICATED and SESSION_INVALID", async () => {
    const call = grpc.call("GetMe", {});

    await expect(call).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    expect(reasonOf(await failureOf(call))).toBe("SESSION_INVALID");
  });

  it("refuses an unknown token with UNAUTHENTICATED and SESSION_INVALID", async () => {
    const call = grpc.call("GetMe", {}, bearer(wellFormedUnknownToken));

    await expect(call).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    expect(reasonOf(await failureOf(call))).toBe("SESSION_INVALID");
  });
});

describe("ListSessions over gRPC", () => {
  it("lists the caller's sessions newest first, marking the current one, with IP and user agent", async () => {
    const { user, sessionId: first } = await newUserWithToken();
    const second = await login(user);
    const other = await newUserWithToken();

    const response = await grpc.call("ListSessions", {}, bearer(second.session_token));

    expect(response.sessions.map((session) => session.id)).toEqual([second.session_id, first]);
    expect(response.sessions.map((session) => session.current)).toEqual([true, false]);
    expect(response.sessions.map((session) => session.id)).not.toContain(other.sessionId);
    for (const session of response.sessions) {
      expect(session.ip_address).toBe("127.0.0.1");
      expect(session.user_agent).toContain("grpc");
      expect(session.auth_methods).toEqual(["password"]);
      expect(session.authentication_methods).toEqual(["AUTH_METHOD_PASSWORD"]);
      expect(secondsOf(session.created_at)).toBeGreaterThan(nowSeconds() - 60);
      expect(secondsOf(session.expires_at)).toBeGreaterThan(secondsOf(session.created_at));
    }
  });
});

describe("Refresh over gRPC", () => {
  it("hands over a new token for the same session that validates, with expires_in a number", async () => {
    const { token, sessionId } = await newUserWithToken();

    const refreshed = await grpc.call("Refresh", {}, bearer(token));

    expect(refreshed.session_token).toMatch(tokenPattern);
    expect(refreshed.session_token).not.toBe(token);
    expect(refreshed.session_id).toBe(sessionId);
    expect(typeof refreshed.expires_in).toBe("number");
    expect(refreshed.expires_in).toBeGreaterThan(12 * hour - 5);
    expect(refreshed.message).not.toBe("");
    expect(await grpc.call("Validate", { token: refreshed.session_token })).toMatchObject({
      active: true,
      session_id: sessionId,
    });
    const me = await grpc.call("GetMe", {}, bearer(refreshed.session_token));
    expect(me.session?.id).toBe(sessionId);
  });

  it("revokes the whole session when a rotated-out token comes back after the grace period", async () => {
    const clock = new FakeClock();
    const shortGrace = await startKeycard({ clock, policy: { refreshGrace: 200 } });
    const clients = createGrpcClients(shortGrace.port);
    try {
      const user = await createTestUser(shortGrace);
      const old = await clients.call("Login", { email: user.email, password: user.password });
      const refreshed = await clients.call("Refresh", {}, bearer(old.session_token));
      expect(await clients.call("Validate", { token: old.session_token })).toMatchObject({
        active: true,
      });

      clock.advance(200);
      const reuse = await clients.call("Validate", { token: old.session_token });

      expect(reuse).toMatchObject({ active: false, reason: "INACTIVE_REASON_REVOKED" });
      expect(await clients.call("Validate", { token: refreshed.session_token })).toMatchObject({
        active: false,
        reason: "INACTIVE_REASON_REVOKED",
      });
    } finally {
      clients.close();
      await shortGrace.close();
    }
  });
});

describe("RevokeSession over gRPC", () => {
  it("revokes one session by id, whose token then validates as revoked", async () => {
    const { user, token } = await newUserWithToken();
    const victim = await login(user);

    const response = await grpc.call(
      "RevokeSession",
      { session_id: victim.session_id },
      bearer(token),
    );

    expect(response.revoked_count).toBe(1);
    expect(await grpc.call("Validate", { token: victim.session_token })).toMatchObject({
      active: false,
      reason: "INACTIVE_REASON_REVOKED",
    });
    expect(await grpc.call("Validate", { token })).toMatchObject({ active: true });
  });

  it("revokes every session including the current one with scope ALL", async () => {
    const { user, token } = await newUserWithToken();
    const other = await login(user);

    const response = await grpc.call("RevokeSession", { scope: "REVOKE_SCOPE_ALL" }, bearer(token));

    expect(response.revoked_count).toBe(2);
    for (const revoked of [token, other.session_token]) {
      expect(await grpc.call("Validate", { token: revoked })).toMatchObject({
        active: false,
        reason: "INACTIVE_REASON_REVOKED",
      });
    }
    const call = grpc.call("GetMe", {}, bearer(token));
    await expect(call).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    expect(reasonOf(await failureOf(call))).toBe("SESSION_REVOKED");
  });

  it("revokes every other session and keeps the current one with scope OTHERS", async () => {
    const { user, token, sessionId } = await newUserWithToken();
    const second = await login(user);
    const third = await login(user);

    const response = await grpc.call(
      "RevokeSession",
      { scope: "REVOKE_SCOPE_OTHERS" },
      bearer(token),
    );

    expect(response.revoked_count).toBe(2);
    expect(await grpc.call("Validate", { token })).toMatchObject({ active: true });
    for (const revoked of [second.session_token, third.session_token]) {
      expect(await grpc.call("Validate", { token: revoked })).toMatchObject({
        active: false,
        reason: "INACTIVE_REASON_REVOKED",
      });
    }
    const listed = await grpc.call("ListSessions", {}, bearer(token));
    expect(listed.sessions.map((session) => session.id)).toEqual([sessionId]);
  });

  it("answers NOT_FOUND for an unknown id and for another user's session, leaving that one alone", async () => {
    const { token } = await newUserWithToken();
    const stranger = await newUserWithToken();

    for (const sessionId of ["no-such-session", stranger.sessionId]) {
      const call = grpc.call("RevokeSession", { session_id: sessionId }, bearer(token));
      await expect(call).rejects.toMatchObject({ code: status.NOT_FOUND });
      expect(reasonOf(await failureOf(call))).toBe("NOT_FOUND");
    }
    expect(await grpc.call("Validate", { token: stranger.token })).toMatchObject({ active: true });
  });

  it("rejects an empty id without a scope with INVALID_ARGUMENT naming session_id", async () => {
    const { token } = await newUserWithToken();

    const error = await failureOf(grpc.call("RevokeSession", {}, bearer(token)));

    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(rpcStatusOf(error).errorInfo[0]?.metadata).toEqual({ field: "session_id" });
  });
});

describe("Logout over gRPC", () => {
  it("ends the current session, after which its token is refused with SESSION_REVOKED", async () => {
    const { token } = await newUserWithToken();

    const response = await grpc.call("Logout", {}, bearer(token));

    expect(response.message).toBe("Logged out successfully");
    const call = grpc.call("ListSessions", {}, bearer(token));
    await expect(call).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    const details = rpcStatusOf(await failureOf(call));
    expect(details.code).toBe(status.UNAUTHENTICATED);
    expect(details.errorInfo[0]?.reason).toBe("SESSION_REVOKED");
  });
});

describe("AdminService over gRPC", () => {
  it("creates a user with the admin token, who can then log in", async () => {
    const email = `Created-${Date.now()}@Example.com`;

    const response = await grpc.call(
      "CreateUser",
      { email, display_name: "Created", password: "a fine password", roles: ["user", "ops"] },
      adminMetadata(),
    );

    expect(response.user).toMatchObject({
      email: email.toLowerCase(),
      display_name: "Created",
      roles: ["user", "ops"],
      disabled: false,
    });
    expect(response.user?.id).not.toBe("");
    expect(secondsOf(response.user?.created_at ?? null)).toBeGreaterThan(nowSeconds() - 60);
    const session = await login({ email, password: "a fine password" });
    expect(await grpc.call("Validate", { token: session.session_token })).toMatchObject({
      active: true,
      subject: response.user?.id,
    });
  });

  it("refuses an email already in use, in any case, with ALREADY_EXISTS and USER_EXISTS", async () => {
    const existing = await createTestUser(keycard);

    const call = grpc.call(
      "CreateUser",
      { email: existing.email.toUpperCase(), display_name: "Twin", password: "another password" },
      adminMetadata(),
    );

    await expect(call).rejects.toMatchObject({ code: status.ALREADY_EXISTS });
    expect(reasonOf(await failureOf(call))).toBe("USER_EXISTS");
  });

  it("refuses a malformed email with INVALID_ARGUMENT naming the email field", async () => {
    const call = grpc.call(
      "CreateUser",
      { email: "not-an-email", display_name: "Nobody", password: "a fine password" },
      adminMetadata(),
    );

    await expect(call).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(rpcStatusOf(await failureOf(call)).errorInfo[0]).toMatchObject({
      reason: "INVALID_ARGUMENT",
      metadata: { field: "email" },
    });
  });

  it("disables a user: their sessions are revoked, their tokens validate as revoked, login fails", async () => {
    const { user, token } = await newUserWithToken();
    const second = await login(user);

    const response = await grpc.call("DisableUser", { user_id: user.id }, adminMetadata());

    expect(response.revoked_sessions).toBe(2);
    expect(response.user).toMatchObject({ id: user.id, disabled: true });
    for (const revoked of [token, second.session_token]) {
      expect(await grpc.call("Validate", { token: revoked })).toMatchObject({
        active: false,
        reason: "INACTIVE_REASON_REVOKED",
      });
    }
    const getMe = grpc.call("GetMe", {}, bearer(token));
    await expect(getMe).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    expect(reasonOf(await failureOf(getMe))).toBe("SESSION_REVOKED");
    const relogin = login(user);
    await expect(relogin).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    expect(reasonOf(await failureOf(relogin))).toBe("INVALID_CREDENTIALS");
  });

  it("disables a user twice without error and answers NOT_FOUND for an unknown id", async () => {
    const user = await createTestUser(keycard);
    await grpc.call("DisableUser", { user_id: user.id }, adminMetadata());

    const again = await grpc.call("DisableUser", { user_id: user.id }, adminMetadata());
    const unknown = grpc.call("DisableUser", { user_id: "no-such-user" }, adminMetadata());

    expect(again).toMatchObject({ user: { disabled: true }, revoked_sessions: 0 });
    await expect(unknown).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  it("refuses admin calls without a token or with a wrong token as UNAUTHENTICATED", async () => {
    const target = await createTestUser(keycard);
    const wrongAdmin = bearer(`${testAdminToken}x`);

    for (const metadata of [new Metadata(), wrongAdmin]) {
      const create = grpc.call(
        "CreateUser",
        { email: `intruder-${Date.now()}@example.com`, display_name: "X", password: "password!" },
        metadata,
      );
      const disable = grpc.call("DisableUser", { user_id: target.id }, metadata);
      await expect(create).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
      await expect(disable).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
      expect(reasonOf(await failureOf(disable))).toBe("ADMIN_TOKEN_REQUIRED");
    }
    await expect(login(target)).resolves.toMatchObject({ session_id: expect.any(String) });
  });

  it("refuses admin calls made with a live session token as PERMISSION_DENIED", async () => {
    const { token } = await newUserWithToken();
    const target = await createTestUser(keycard);
    const disable = grpc.call("DisableUser", { user_id: target.id }, bearer(token));
    await expect(disable).rejects.toMatchObject({ code: status.PERMISSION_DENIED });
    expect(reasonOf(await failureOf(disable))).toBe("PERMISSION_DENIED");
    await expect(login(target)).resolves.toMatchObject({ session_id: expect.any(String) });
  });
});
