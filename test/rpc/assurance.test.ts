import { type Timestamp, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import { beforeEach, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/keycard/v1/admin_service_pb.js";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import { InactiveReason } from "../../gen/keycard/v1/session_pb.js";
import { failureOf } from "../helpers/connect-failure.js";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  inMemoryApp,
  testAdminToken,
  testEncryptionKey,
  testLoginThrottle,
  testSettings,
} from "../helpers/keycard.js";
import { totpCode } from "../helpers/totp-codes.js";

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const asAdmin = bearer(testAdminToken);

function msOf(time: Timestamp | undefined): number {
  if (time === undefined) {
    throw new Error("auth_time is not set");
  }
  return timestampMs(time);
}

/**
 * Assurance (issue 16): every session says when and how the person proved themselves, as
 * `auth_time`, RFC 8176 `amr` and `aal`, on Validate, GetMe and ListSessions alike.
 */
describe("the assurance of a session", () => {
  const clock = new FakeClock();
  const app = inMemoryApp(clock, testSettings({ encryptionKey: testEncryptionKey }));
  const transport = createRouterTransport(app.routes, { router: app.routerOptions });
  const auth = createClient(AuthService, transport);
  const admin = createClient(AdminService, transport);
  const credentials = { email: "", password: "analytical engine" };
  let userId: string;

  beforeEach(async () => {
    credentials.email = `ada-${Math.random().toString(36).slice(2)}@example.com`;
    const { user } = await admin.createUser(
      { ...credentials, displayName: "Ada", roles: [] },
      asAdmin,
    );
    userId = user?.id ?? "";
  });

  async function enrollTotp(): Promise<string> {
    const { secret } = await admin.enrollTotp({ userId }, asAdmin);
    await admin.confirmTotp({ userId, code: await totpCode(secret, clock.now()) }, asAdmin);
    clock.advance(30_000);
    return secret;
  }

  it("is pwd at AAL1 for a password login, from the login's time", async () => {
    const loggedInAt = clock.now();
    const { sessionToken } = await auth.login(credentials);
    clock.advance(5_000);
    const validated = await auth.validate({ token: sessionToken });
    expect(validated).toMatchObject({ active: true, amr: ["pwd"], aal: 1 });
    expect(msOf(validated.authTime)).toBe(loggedInAt);
    const { session } = await auth.getMe({}, bearer(sessionToken));
    expect(session).toMatchObject({ amr: ["pwd"], aal: 1 });
    expect(msOf(session?.authTime)).toBe(loggedInAt);
  });

  it("is pwd and otp at AAL2 for a password and a TOTP code, in every listing", async () => {
    const secret = await enrollTotp();
    const { sessionToken } = await auth.login({
      ...credentials,
      totpCode: await totpCode(secret, clock.now()),
    });
    expect(await auth.validate({ token: sessionToken })).toMatchObject({
      amr: ["pwd", "otp"],
      aal: 2,
    });
    const { sessions } = await auth.listSessions({}, bearer(sessionToken));
    expect(sessions.map(({ amr, aal }) => ({ amr, aal }))).toEqual([
      { amr: ["pwd", "otp"], aal: 2 },
    ]);
    const listed = await admin.listUserSessions({ userId }, asAdmin);
    expect(listed.sessions[0]).toMatchObject({ amr: ["pwd", "otp"], aal: 2 });
  });

  it("is swk at AAL1 for an API key that skips TOTP, and swk and otp at AAL2 for one that does not", async () => {
    const secret = await enrollTotp();
    const lone = await admin.createApiKey({ userId, name: "ci", skipTotp: true }, asAdmin);
    const strict = await admin.createApiKey({ userId, name: "laptop" }, asAdmin);
    const byLone = await auth.login({ apiKey: lone.key });
    const byStrict = await auth.login({
      apiKey: strict.key,
      totpCode: await totpCode(secret, clock.now()),
    });
    expect(await auth.validate({ token: byLone.sessionToken })).toMatchObject({
      amr: ["swk"],
      aal: 1,
    });
    expect(await auth.validate({ token: byStrict.sessionToken })).toMatchObject({
      amr: ["swk", "otp"],
      aal: 2,
    });
  });

  it("is kept by a session issued from another one: its login's time and methods", async () => {
    const loggedInAt = clock.now();
    const { sessionToken } = await auth.login(credentials);
    clock.advance(60_000);
    const issued = await auth.issueToken({}, bearer(sessionToken));
    const validated = await auth.validate({ token: issued.sessionToken });
    expect(validated).toMatchObject({ amr: ["pwd"], aal: 1 });
    expect(msOf(validated.authTime)).toBe(loggedInAt);
  });

  it("is absent from an inactive answer", async () => {
    const validated = await auth.validate({ token: "kc_sess_nothing" });
    expect(validated).toMatchObject({ active: false, amr: [], aal: 0 });
    expect(validated.authTime).toBeUndefined();
  });

  it("asks for a step-up when the login is older than max_auth_age_seconds, and not before", async () => {
    const { sessionToken } = await auth.login(credentials);
    clock.advance(1_000);
    expect(await auth.validate({ token: sessionToken, maxAuthAgeSeconds: 1 })).toMatchObject({
      active: true,
    });
    clock.advance(1_000);
    expect(await auth.validate({ token: sessionToken, maxAuthAgeSeconds: 1 })).toMatchObject({
      active: false,
      reason: InactiveReason.STEP_UP_REQUIRED,
      subject: "",
    });
    expect((await auth.validate({ token: sessionToken })).active).toBe(true);
  });

  it("asks for a step-up when min_aal is above the session's, and not when it is met", async () => {
    const byPassword = await auth.login(credentials);
    expect(await auth.validate({ token: byPassword.sessionToken, minAal: 2 })).toMatchObject({
      active: false,
      reason: InactiveReason.STEP_UP_REQUIRED,
    });
    const secret = await enrollTotp();
    const strong = await auth.login({
      ...credentials,
      totpCode: await totpCode(secret, clock.now()),
    });
    expect(await auth.validate({ token: strong.sessionToken, minAal: 2 })).toMatchObject({
      active: true,
      aal: 2,
    });
  });

  it("refuses a step-up request outside its rules with INVALID_ARGUMENT", async () => {
    const { sessionToken } = await auth.login(credentials);
    for (const [request, field] of [
      [{ token: sessionToken, minAal: 3 }, "min_aal"],
      [{ token: sessionToken, maxAuthAgeSeconds: -1 }, "max_auth_age_seconds"],
    ] as const) {
      const refusal = await failureOf(auth.validate(request));
      expect(refusal.code).toBe(Code.InvalidArgument);
      expect(refusal.rawMessage).toMatch(new RegExp(`^${field} must be`));
    }
  });

  it("steps up on Reauthenticate: auth_time now, methods grown, token rotated", async () => {
    const secret = await enrollTotp();
    const login = await auth.login({
      ...credentials,
      totpCode: await totpCode(secret, clock.now()),
    });
    clock.advance(120_000);
    const strict = { maxAuthAgeSeconds: 60 };
    expect(await auth.validate({ token: login.sessionToken, ...strict })).toMatchObject({
      active: false,
      reason: InactiveReason.STEP_UP_REQUIRED,
    });
    const stepped = await auth.reauthenticate(
      { password: credentials.password },
      bearer(login.sessionToken),
    );
    expect(stepped.sessionToken).not.toBe(login.sessionToken);
    expect(stepped).toMatchObject({ sessionId: login.sessionId, amr: ["pwd", "otp"], aal: 2 });
    expect(msOf(stepped.authTime)).toBe(clock.now());
    const validated = await auth.validate({ token: stepped.sessionToken, ...strict });
    expect(validated).toMatchObject({ active: true, amr: ["pwd", "otp"], aal: 2 });
    expect(msOf(validated.authTime)).toBe(clock.now());
    clock.advance(11_000);
    expect(await auth.validate({ token: login.sessionToken })).toMatchObject({ active: false });
  });

  it("grows a one-factor session to AAL2 with a TOTP code alone", async () => {
    const secret = await enrollTotp();
    const { key } = await admin.createApiKey({ userId, name: "ci", skipTotp: true }, asAdmin);
    const login = await auth.login({ apiKey: key });
    const stepped = await auth.reauthenticate(
      { totpCode: await totpCode(secret, clock.now()) },
      bearer(login.sessionToken),
    );
    expect(stepped).toMatchObject({ amr: ["swk", "otp"], aal: 2 });
    expect(await auth.validate({ token: stepped.sessionToken, minAal: 2 })).toMatchObject({
      active: true,
    });
  });

  it("refuses wrong, missing and impossible credentials, leaving the session as it was", async () => {
    const login = await auth.login(credentials);
    const asCaller = bearer(login.sessionToken);
    const cases = [
      [{ password: "not the password" }, "INVALID_CREDENTIALS"],
      [{}, "INVALID_ARGUMENT"],
      [{ totpCode: "123456" }, "TOTP_NOT_ENROLLED"],
    ] as const;
    for (const [request, reason] of cases) {
      const refusal = await failureOf(auth.reauthenticate(request, asCaller));
      expect(refusal.findDetails(ErrorInfoSchema)[0]?.reason).toBe(reason);
    }
    expect(await auth.validate({ token: login.sessionToken })).toMatchObject({
      active: true,
      amr: ["pwd"],
    });
    const anonymous = await failureOf(auth.reauthenticate({ password: credentials.password }));
    expect(anonymous.code).toBe(Code.Unauthenticated);
  });
});

describe("a wrong password at Reauthenticate", () => {
  it("spends the same guessing budget as Login: after the allowance, Login itself waits", async () => {
    const clock = new FakeClock();
    const throttled = testSettings({
      encryptionKey: testEncryptionKey,
      loginThrottle: { ...testLoginThrottle, pairDelayAfter: 3 },
    });
    const app = inMemoryApp(clock, throttled);
    const transport = createRouterTransport(app.routes, { router: app.routerOptions });
    const auth = createClient(AuthService, transport);
    const admin = createClient(AdminService, transport);
    const credentials = { email: "budget@example.com", password: "analytical engine" };
    await admin.createUser({ ...credentials, displayName: "B", roles: [] }, asAdmin);
    const { sessionToken } = await auth.login(credentials);
    for (let i = 0; i < 3; i += 1) {
      const wrong = await failureOf(
        auth.reauthenticate({ password: "not the password" }, bearer(sessionToken)),
      );
      expect(wrong.findDetails(ErrorInfoSchema)[0]?.reason).toBe("INVALID_CREDENTIALS");
    }
    const waiting = await failureOf(auth.login(credentials));
    expect(waiting.findDetails(ErrorInfoSchema)[0]?.reason).toBe("RATE_LIMITED");
  });
});

describe("the built-in administrator's session at Reauthenticate", () => {
  it("is refused with INVALID_CREDENTIALS, never a server error: its account has no stored password", async () => {
    const app = inMemoryApp(
      new FakeClock(),
      testSettings({ adminPassword: "operator passphrase" }),
    );
    const auth = createClient(
      AuthService,
      createRouterTransport(app.routes, { router: app.routerOptions }),
    );
    const { sessionToken } = await auth.login({ password: "operator passphrase" });
    const refusal = await failureOf(
      auth.reauthenticate({ password: "operator passphrase" }, bearer(sessionToken)),
    );
    expect(refusal.findDetails(ErrorInfoSchema)[0]?.reason).toBe("INVALID_CREDENTIALS");
  });
});
