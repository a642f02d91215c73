import { type Timestamp, timestampMs } from "@bufbuild/protobuf/wkt";
import { type CallOptions, Code, createClient, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/keycard/v1/admin_service_pb.js";
import { AuthService, RevokeScope } from "../../gen/keycard/v1/auth_service_pb.js";
import { ErrorReason } from "../../gen/keycard/v1/error_reason_pb.js";
import { CredentialKind, InactiveReason } from "../../gen/keycard/v1/session_pb.js";
import { failureOf } from "../helpers/connect-failure.js";
import {
  createTestUser,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";

/*
 * keycard through the official Connect client built from our generated code. Most tests
 * speak Connect's JSON over HTTP/1.1 (what a browser or curl does); the last ones prove the
 * same port also answers gRPC-Web over HTTP/1.1, gRPC over h2c, and a hand-made fetch.
 */

const tokenPattern = /^kc_sess_[A-Za-z0-9_-]{43}$/;
const wellFormedUnknownToken = `kc_sess_${"A".repeat(43)}`;
const hour = 3_600;
const day = 86_400;

let keycard: TestKeycard;
let auth: ReturnType<typeof clientsOver>["auth"];
let admin: ReturnType<typeof clientsOver>["admin"];

function clientsOver(transport: Transport) {
  return {
    auth: createClient(AuthService, transport),
    admin: createClient(AdminService, transport),
  };
}

beforeAll(async () => {
  keycard = await startKeycard();
  const transport = createConnectTransport({
    baseUrl: keycard.baseUrl,
    httpVersion: "1.1",
    useBinaryFormat: false,
  });
  ({ auth, admin } = clientsOver(transport));
});

afterAll(async () => {
  await keycard?.close();
});

function bearer(token: string): CallOptions {
  return { headers: { authorization: `Bearer ${token}` } };
}

const asAdmin = bearer(testAdminToken);

function msOf(timestamp: Timestamp | undefined): number {
  if (timestamp === undefined) {
    throw new Error("timestamp is not set");
  }
  return timestampMs(timestamp);
}

/** The ErrorInfo reason a call that must fail carried. */
async function reasonOf(call: Promise<unknown>): Promise<string | undefined> {
  return (await failureOf(call)).findDetails(ErrorInfoSchema)[0]?.reason;
}

function login(user: { email: string; password: string }, durationSeconds = 0) {
  return auth.login({ email: user.email, password: user.password, durationSeconds });
}

async function newUserWithToken(roles: string[] = ["user"]) {
  const user = await createTestUser(keycard, { roles });
  const response = await login(user);
  return { user, token: response.sessionToken, sessionId: response.sessionId };
}

describe("Login over Connect JSON", () => {
  it("starts a session with the right password and hands back token, id, expiry and greeting", async () => {
    const user = await createTestUser(keycard, { displayName: "Ada" });

    const response = await login(user);

    expect(response.sessionToken).toMatch(tokenPattern);
    expect(response.sessionId).not.toBe("");
    expect(response.user).toBe("Ada");
    expect(response.message).toBe("Authenticated successfully. Use this token for 12 hours.");
    expect(response.expiresIn).toBeGreaterThanOrEqual(12 * hour - 2);
    expect(response.expiresIn).toBeLessThanOrEqual(12 * hour);
    expect(Math.abs(msOf(response.expiresAt) - (Date.now() + 12 * hour * 1000))).toBeLessThan(
      5_000,
    );
  });

  it("refuses a wrong password and an unknown email alike, with Unauthenticated and INVALID_CREDENTIALS", async () => {
    const user = await createTestUser(keycard);

    const wrongPassword = await failureOf(login({ ...user, password: "not the password" }));
    const unknownEmail = await failureOf(
      login({ email: "nobody@example.com", password: user.password }),
    );

    for (const error of [wrongPassword, unknownEmail]) {
      expect(error.code).toBe(Code.Unauthenticated);
      expect(error.rawMessage).toBe("Invalid email or password");
      expect(error.findDetails(ErrorInfoSchema)).toMatchObject([
        { reason: "INVALID_CREDENTIALS", domain: "keycard.dev" },
      ]);
    }
    expect(unknownEmail.rawMessage).toBe(wrongPassword.rawMessage);
  });

  it("names the same ErrorReason over Connect (ErrorInfo.reason) and REST (error), as the strings clients match", async () => {
    const user = await createTestUser(keycard);
    const rest = async (path: string, init: RequestInit): Promise<unknown> =>
      (await (await fetch(`${keycard.baseUrl}${path}`, init)).json()) as unknown;
    const cases = [
      {
        expected: "INVALID_CREDENTIALS",
        value: ErrorReason.INVALID_CREDENTIALS,
        connect: () => login({ ...user, password: "not the password" }),
        rest: () =>
          rest("/auth/login", {
            method: "POST",
            body: JSON.stringify({ email: user.email, password: "not the password" }),
          }),
      },
      {
        expected: "SESSION_INVALID",
        value: ErrorReason.SESSION_INVALID,
        connect: () => auth.getMe({}, bearer(wellFormedUnknownToken)),
        rest: () =>
          rest("/auth/me", { headers: { authorization: `Bearer ${wellFormedUnknownToken}` } }),
      },
      {
        expected: "INVALID_ARGUMENT",
        value: ErrorReason.INVALID_ARGUMENT,
        connect: () => login(user, -1),
        rest: () =>
          rest("/auth/login", {
            method: "POST",
            body: JSON.stringify({
              email: user.email,
              password: user.password,
              duration_seconds: -1,
            }),
          }),
      },
    ];

    for (const c of cases) {
      expect(ErrorReason[c.value]).toBe(c.expected);
      expect(await reasonOf(c.connect())).toBe(c.expected);
      expect(await c.rest()).toMatchObject({ error: c.expected });
    }
  });

  it("caps a requested lifetime above the maximum at 30 days", async () => {
    const user = await createTestUser(keycard);

    const response = await login(user, 365 * day);

    expect(response.expiresIn).toBeGreaterThanOrEqual(30 * day - 2);
    expect(response.expiresIn).toBeLessThanOrEqual(30 * day);
  });

  it("rejects a negative lifetime with InvalidArgument naming duration_seconds", async () => {
    const user = await createTestUser(keycard);

    const error = await failureOf(login(user, -1));

    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.findDetails(ErrorInfoSchema)[0]?.metadata).toEqual({ field: "duration_seconds" });
  });
});

describe("Validate over Connect JSON", () => {
  it("answers active with subject, roles, session id and expiry for a live token", async () => {
    const { user, token, sessionId } = await newUserWithToken(["user", "billing"]);

    const response = await auth.validate({ token });

    expect(response).toMatchObject({
      active: true,
      reason: InactiveReason.UNSPECIFIED,
      subject: user.id,
      sessionId,
      roles: ["user", "billing"],
      email: user.email,
      displayName: user.displayName,
      kind: CredentialKind.SESSION,
    });
    expect(response.expiresIn).toBeGreaterThan(12 * hour - 5);
    expect(msOf(response.expiresAt)).toBeGreaterThan(Date.now() + (12 * hour - 5) * 1000);
  });

  it("checks the token from the Authorization header when the body token is empty", async () => {
    const { token, sessionId } = await newUserWithToken();

    const response = await auth.validate({}, bearer(token));

    expect(response).toMatchObject({ active: true, sessionId });
  });

  it("answers active=false with MALFORMED, UNKNOWN or REVOKED instead of failing", async () => {
    const { token } = await newUserWithToken();
    await auth.logout({}, bearer(token));

    const malformed = await auth.validate({ token: "garbage" });
    const unknown = await auth.validate({ token: wellFormedUnknownToken });
    const revoked = await auth.validate({ token });
    const missing = await auth.validate({});

    expect(malformed).toMatchObject({
      active: false,
      reason: InactiveReason.MALFORMED,
      subject: "",
    });
    expect(unknown).toMatchObject({ active: false, reason: InactiveReason.UNKNOWN, subject: "" });
    expect(revoked).toMatchObject({ active: false, reason: InactiveReason.REVOKED, subject: "" });
    expect(missing).toMatchObject({ active: false, reason: InactiveReason.MALFORMED });
    for (const inactive of [malformed, unknown, revoked, missing]) {
      expect(inactive.kind).toBe(CredentialKind.UNSPECIFIED);
    }
    expect(revoked.expiresAt).toBeUndefined();
  });
});

describe("session methods over Connect JSON", () => {
  it("returns the caller's account and current session from GetMe", async () => {
    const { user, token, sessionId } = await newUserWithToken();

    const response = await auth.getMe({}, bearer(token));

    expect(response.user).toMatchObject({
      id: user.id,
      email: user.email,
      disabled: false,
      totpEnabled: false,
    });
    expect(response.session).toMatchObject({ id: sessionId, current: true, apiKeyId: "" });
  });

  it("refuses GetMe without a token with Unauthenticated and SESSION_INVALID", async () => {
    const call = auth.getMe({});

    await expect(call).rejects.toMatchObject({ code: Code.Unauthenticated });
    expect(await reasonOf(call)).toBe("SESSION_INVALID");
  });

  it("lists the caller's sessions newest first with the current flag, IP and user agent", async () => {
    const { user, sessionId: first } = await newUserWithToken();
    const second = await login(user);

    const response = await auth.listSessions({}, bearer(second.sessionToken));

    expect(response.sessions.map((session) => [session.id, session.current])).toEqual([
      [second.sessionId, true],
      [first, false],
    ]);
    for (const session of response.sessions) {
      expect(session.ipAddress).toBe("127.0.0.1");
      expect(session.userAgent).toContain("connect-es");
    }
  });

  it("refreshes into a new token for the same session that validates", async () => {
    const { token, sessionId } = await newUserWithToken();

    const refreshed = await auth.refresh({}, bearer(token));

    expect(refreshed.sessionToken).toMatch(tokenPattern);
    expect(refreshed.sessionToken).not.toBe(token);
    expect(refreshed.sessionId).toBe(sessionId);
    expect(typeof refreshed.expiresIn).toBe("number");
    expect(refreshed.expiresIn).toBeGreaterThan(12 * hour - 5);
    expect(await auth.validate({ token: refreshed.sessionToken })).toMatchObject({
      active: true,
      sessionId,
    });
  });

  it("revokes one session by id, whose token then validates as revoked", async () => {
    const { user, token } = await newUserWithToken();
    const victim = await login(user);

    const response = await auth.revokeSession({ sessionId: victim.sessionId }, bearer(token));

    expect(response.revokedCount).toBe(1);
    expect(await auth.validate({ token: victim.sessionToken })).toMatchObject({
      active: false,
      reason: InactiveReason.REVOKED,
    });
    expect(await auth.validate({ token })).toMatchObject({ active: true });
  });

  it("revokes every session including the current one with scope ALL", async () => {
    const { user, token } = await newUserWithToken();
    const other = await login(user);

    const response = await auth.revokeSession({ scope: RevokeScope.ALL }, bearer(token));

    expect(response.revokedCount).toBe(2);
    const call = auth.listSessions({}, bearer(other.sessionToken));
    await expect(call).rejects.toMatchObject({ code: Code.Unauthenticated });
    expect(await reasonOf(call)).toBe("SESSION_REVOKED");
    expect(await auth.validate({ token })).toMatchObject({ reason: InactiveReason.REVOKED });
  });

  it("revokes every other session and keeps the current one with scope OTHERS", async () => {
    const { user, token } = await newUserWithToken();
    const other = await login(user);

    const response = await auth.revokeSession({ scope: RevokeScope.OTHERS }, bearer(token));

    expect(response.revokedCount).toBe(1);
    expect(await auth.validate({ token })).toMatchObject({ active: true });
    expect(await auth.validate({ token: other.sessionToken })).toMatchObject({
      active: false,
      reason: InactiveReason.REVOKED,
    });
  });

  it("answers NotFound for a session id that is not one of the caller's", async () => {
    const { token } = await newUserWithToken();
    const stranger = await newUserWithToken();

    for (const sessionId of ["no-such-session", stranger.sessionId]) {
      const call = auth.revokeSession({ sessionId }, bearer(token));
      await expect(call).rejects.toMatchObject({ code: Code.NotFound });
      expect(await reasonOf(call)).toBe("NOT_FOUND");
    }
    expect(await auth.validate({ token: stranger.token })).toMatchObject({ active: true });
  });

  it("logs out, after which the token is refused with SESSION_REVOKED", async () => {
    const { token } = await newUserWithToken();

    const response = await auth.logout({}, bearer(token));

    expect(response.message).toBe("Logged out successfully");
    const call = auth.getMe({}, bearer(token));
    await expect(call).rejects.toMatchObject({ code: Code.Unauthenticated });
    expect(await reasonOf(call)).toBe("SESSION_REVOKED");
  });
});

describe("AdminService over Connect JSON", () => {
  it("creates a user with the admin token, who can then log in", async () => {
    const email = `connect-created-${Date.now()}@example.com`;

    const response = await admin.createUser(
      { email, displayName: "Created", password: "a fine password", roles: ["user"] },
      asAdmin,
    );

    expect(response.user).toMatchObject({ email, displayName: "Created", roles: ["user"] });
    const session = await login({ email, password: "a fine password" });
    expect(await auth.validate({ token: session.sessionToken })).toMatchObject({
      active: true,
      subject: response.user?.id,
    });
  });

  it("refuses a duplicate email with AlreadyExists and USER_EXISTS", async () => {
    const existing = await createTestUser(keycard);

    const call = admin.createUser(
      { email: existing.email, displayName: "Twin", password: "another password" },
      asAdmin,
    );

    await expect(call).rejects.toMatchObject({ code: Code.AlreadyExists });
    expect(await reasonOf(call)).toBe("USER_EXISTS");
  });

  it("refuses a malformed email with InvalidArgument naming the email field", async () => {
    const call = admin.createUser(
      { email: "no-at-sign", displayName: "Nobody", password: "a fine password" },
      asAdmin,
    );

    await expect(call).rejects.toMatchObject({ code: Code.InvalidArgument });
    const info = (await failureOf(call)).findDetails(ErrorInfoSchema)[0];
    expect(info).toMatchObject({ reason: "INVALID_ARGUMENT", metadata: { field: "email" } });
  });

  it("disables a user: their tokens validate as revoked and login then fails", async () => {
    const { user, token } = await newUserWithToken();

    const response = await admin.disableUser({ userId: user.id }, asAdmin);

    expect(response).toMatchObject({ user: { id: user.id, disabled: true }, revokedSessions: 1 });
    expect(await auth.validate({ token })).toMatchObject({
      active: false,
      reason: InactiveReason.REVOKED,
    });
    const relogin = login(user);
    await expect(relogin).rejects.toMatchObject({ code: Code.Unauthenticated });
    expect(await reasonOf(relogin)).toBe("INVALID_CREDENTIALS");
  });

  it("refuses admin calls without a token as Unauthenticated and with a session token as PermissionDenied", async () => {
    const { token } = await newUserWithToken();
    const target = await createTestUser(keycard);

    const cases = [
      { options: {}, code: Code.Unauthenticated, reason: "ADMIN_TOKEN_REQUIRED" },
      { options: bearer(token), code: Code.PermissionDenied, reason: "PERMISSION_DENIED" },
    ];
    for (const { options, code, reason } of cases) {
      const create = admin.createUser(
        { email: `intruder-${Date.now()}@example.com`, displayName: "X", password: "password!" },
        options,
      );
      const disable = admin.disableUser({ userId: target.id }, options);
      await expect(create).rejects.toMatchObject({ code });
      await expect(disable).rejects.toMatchObject({ code });
      expect(await reasonOf(disable)).toBe(reason);
    }
    await expect(login(target)).resolves.toMatchObject({ sessionToken: expect.any(String) });
  });
});

describe("one port, every protocol", () => {
  it("logs in and validates over gRPC-Web on HTTP/1.1", async () => {
    const user = await createTestUser(keycard);
    const web = clientsOver(
      createGrpcWebTransport({ baseUrl: keycard.baseUrl, httpVersion: "1.1" }),
    ).auth;

    const session = await web.login({ email: user.email, password: user.password });
    const verdict = await web.validate({ token: session.sessionToken });
    const refusal = web.login({ email: user.email, password: "wrong password" });

    expect(verdict).toMatchObject({ active: true, subject: user.id, sessionId: session.sessionId });
    await expect(refusal).rejects.toMatchObject({ code: Code.Unauthenticated });
    expect(await reasonOf(refusal)).toBe("INVALID_CREDENTIALS");
  });

  it("logs in and validates over gRPC on HTTP/2", async () => {
    const user = await createTestUser(keycard);
    // gRPC is HTTP/2 only, so connect-node's GrpcTransportOptions has no httpVersion; an
    // explicit session manager lets the test close its h2c session before the server closes.
    const sessionManager = new Http2SessionManager(keycard.baseUrl);
    try {
      const grpc = clientsOver(
        createGrpcTransport({ baseUrl: keycard.baseUrl, sessionManager }),
      ).auth;

      const session = await grpc.login({ email: user.email, password: user.password });
      const verdict = await grpc.validate({}, bearer(session.sessionToken));
      const refusal = grpc.getMe({}, bearer(wellFormedUnknownToken));

      expect(verdict).toMatchObject({
        active: true,
        subject: user.id,
        sessionId: session.sessionId,
      });
      await expect(refusal).rejects.toMatchObject({ code: Code.Unauthenticated });
      expect(await reasonOf(refusal)).toBe("SESSION_INVALID");
    } finally {
      sessionManager.abort();
    }
  });

  it("answers a hand-made Connect JSON POST to Validate with 200 and active=false MALFORMED", async () => {
    const response = await fetch(`${keycard.baseUrl}/keycard.v1.AuthService/Validate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: "garbage" }),
    });

    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({
      active: false,
      reason: "INACTIVE_REASON_MALFORMED",
      subject: "",
      sessionId: "",
      expiresIn: 0,
      roles: [],
      email: "",
      displayName: "",
      kind: "CREDENTIAL_KIND_UNSPECIFIED",
      amr: [],
      aal: 0,
    });
  });

  it("checks Validate's rules on the lean path too: min_aal 3 is 400 INVALID_ARGUMENT", async () => {
    const response = await fetch(`${keycard.baseUrl}/keycard.v1.AuthService/Validate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: "garbage", minAal: 3 }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      code: "invalid_argument",
      message: "min_aal must be greater than or equal to 0 and less than or equal to 2",
    });
  });

  it("answers a hand-made Connect JSON POST to GetMe without a token with 401 and an ErrorInfo detail", async () => {
    const response = await fetch(`${keycard.baseUrl}/keycard.v1.AuthService/GetMe`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });

    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({
      code: "unauthenticated",
      message: expect.any(String),
      details: [{ type: "google.rpc.ErrorInfo", value: expect.any(String) }],
    });
  });
});
