import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { beforeEach, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { AdminService } from "../../gen/keycard/v1/admin_service_pb.js";
import { AuthService, RevokeScope } from "../../gen/keycard/v1/auth_service_pb.js";
import { AuthMethod, InactiveReason } from "../../gen/keycard/v1/session_pb.js";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  inMemoryApp,
  testAdminToken,
  testEncryptionKey,
  testPolicy,
  testSettings,
} from "../helpers/keycard.js";
import { totpCode } from "../helpers/totp-codes.js";

const hour = 3_600_000;
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

function inMemoryKeycard(policy: Partial<typeof testPolicy> = {}) {
  const clock = new FakeClock();
  const settings = testSettings({
    policy: { ...testPolicy, ...policy },
    encryptionKey: testEncryptionKey,
  });
  const app = inMemoryApp(clock, settings);
  const transport = createRouterTransport(app.routes, { router: app.routerOptions });
  return {
    clock,
    auth: createClient(AuthService, transport),
    admin: createClient(AdminService, transport),
  };
}

async function reasonOf(call: Promise<unknown>): Promise<string | undefined> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error).findDetails(ErrorInfoSchema)[0]?.reason;
  }
  return undefined;
}

describe("AuthService in memory, with the real interceptors and a fake clock", () => {
  let keycard: ReturnType<typeof inMemoryKeycard>;
  const user = { email: "ada@example.com", password: "analytical engine" };

  beforeEach(async () => {
    keycard = inMemoryKeycard({ maxDuration: 24 * hour, idleTimeout: 0, renewAfter: 0 });
    await keycard.admin.createUser(
      { ...user, displayName: "Ada", roles: ["admin"] },
      bearer(testAdminToken),
    );
  });

  it("says how each session was opened, as AuthMethod values and as the deprecated strings", async () => {
    const asAdmin = bearer(testAdminToken);
    const byPassword = await keycard.auth.login(user);
    const me = await keycard.auth.getMe({}, bearer(byPassword.sessionToken));
    expect(me.session?.authenticationMethods).toEqual([AuthMethod.PASSWORD]);
    expect(me.session?.authMethods).toEqual(["password"]);

    const userId = me.user?.id ?? "";
    const { secret } = await keycard.admin.enrollTotp({ userId }, asAdmin);
    const code = await totpCode(secret, keycard.clock.now());
    await keycard.admin.confirmTotp({ userId, code }, asAdmin);
    const { key } = await keycard.admin.createApiKey({ userId, name: "laptop" }, asAdmin);
    keycard.clock.advance(30_000);
    const byKey = await keycard.auth.login({
      apiKey: key,
      totpCode: await totpCode(secret, keycard.clock.now()),
    });
    const { sessions } = await keycard.auth.listSessions({}, bearer(byKey.sessionToken));
    expect(sessions.map((session) => session.authenticationMethods)).toEqual([
      [AuthMethod.API_KEY, AuthMethod.TOTP],
    ]);
    expect(sessions.map((session) => session.authMethods)).toEqual([["api_key", "totp"]]);
  });

  it("expires a session exactly at its expiry and says so on Validate and on use", async () => {
    const { sessionToken } = await keycard.auth.login(user);
    keycard.clock.advance(12 * hour - 1);
    expect((await keycard.auth.validate({ token: sessionToken })).active).toBe(true);
    keycard.clock.advance(1);
    expect(await keycard.auth.validate({ token: sessionToken })).toMatchObject({
      active: false,
      reason: InactiveReason.EXPIRED,
    });
    const me = keycard.auth.getMe({}, bearer(sessionToken));
    await expect(me).rejects.toMatchObject({ code: Code.Unauthenticated });
    expect(await reasonOf(me)).toBe("SESSION_EXPIRED");
  });

  it("never refreshes a session past the absolute maximum counted from login", async () => {
    const first = await keycard.auth.login(user);
    keycard.clock.advance(11 * hour);
    const second = await keycard.auth.refresh({}, bearer(first.sessionToken));
    expect(second.expiresIn).toBe(12 * 3600);
    keycard.clock.advance(11 * hour);
    const third = await keycard.auth.refresh({}, bearer(second.sessionToken));
    expect(third.expiresIn).toBe(2 * 3600);
    keycard.clock.advance(2 * hour);
    expect(await keycard.auth.validate({ token: third.sessionToken })).toMatchObject({
      active: false,
      reason: InactiveReason.EXPIRED,
    });
  });

  it("keeps a refreshed-away token alive for the grace period only, then treats reuse as theft", async () => {
    const old = await keycard.auth.login(user);
    const fresh = await keycard.auth.refresh({}, bearer(old.sessionToken));
    keycard.clock.advance(testPolicy.refreshGrace - 1);
    expect((await keycard.auth.validate({ token: old.sessionToken })).active).toBe(true);
    keycard.clock.advance(1);
    expect(await keycard.auth.validate({ token: old.sessionToken })).toMatchObject({
      active: false,
      reason: InactiveReason.REVOKED,
    });
    expect(await keycard.auth.validate({ token: fresh.sessionToken })).toMatchObject({
      active: false,
      reason: InactiveReason.REVOKED,
    });
  });

  it("revokes all other sessions but keeps the caller's", async () => {
    const sessions = [
      await keycard.auth.login(user),
      await keycard.auth.login(user),
      await keycard.auth.login(user),
    ];
    const [mine, ...others] = sessions.map((session) => session.sessionToken);
    const reply = await keycard.auth.revokeSession(
      { scope: RevokeScope.OTHERS },
      bearer(mine ?? ""),
    );
    expect(reply.revokedCount).toBe(2);
    expect((await keycard.auth.validate({ token: mine ?? "" })).active).toBe(true);
    for (const token of others) {
      expect((await keycard.auth.validate({ token })).reason).toBe(InactiveReason.REVOKED);
    }
  });

  it("times out an idle session unless it is used within the idle timeout", async () => {
    keycard = inMemoryKeycard({ idleTimeout: hour, touchInterval: 0 });
    await keycard.admin.createUser({ ...user, displayName: "Ada" }, bearer(testAdminToken));
    const busy = await keycard.auth.login(user);
    const idle = await keycard.auth.login(user);
    for (let step = 0; step < 3; step += 1) {
      keycard.clock.advance(hour / 2);
      expect((await keycard.auth.validate({ token: busy.sessionToken })).active).toBe(true);
    }
    expect(await keycard.auth.validate({ token: idle.sessionToken })).toMatchObject({
      active: false,
      reason: InactiveReason.IDLE_TIMEOUT,
    });
  });

  it("reports an unknown email and a wrong password with one and the same error", async () => {
    const refusal = { code: Code.Unauthenticated, rawMessage: "Invalid email or password" };
    await expect(
      keycard.auth.login({ email: "nobody@example.com", password: "x" }),
    ).rejects.toMatchObject(refusal);
    await expect(
      keycard.auth.login({ email: user.email, password: "not it" }),
    ).rejects.toMatchObject(refusal);
  });
});
