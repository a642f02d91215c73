import { type Timestamp, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it, vi } from "vitest";
import { AdminService } from "../../gen/keycard/v1/admin_service_pb.js";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import { InactiveReason, SessionKind } from "../../gen/keycard/v1/session_pb.js";
import type { SessionPolicy } from "../../src/domain/session.js";
import { startExpirySweeper } from "../../src/service/expiry-sweeper.js";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  inMemoryApp,
  testAdminToken,
  testEncryptionKey,
  testPolicy,
  testSettings,
} from "../helpers/keycard.js";
import { totpCode } from "../helpers/totp-codes.js";

const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const asAdmin = bearer(testAdminToken);
const ada = { email: "ada@example.com", password: "analytical engine" };

/** A keycard in memory with a fake clock, the given policy and a user Ada. */
async function keycardWith(policy: Partial<SessionPolicy> = {}) {
  const clock = new FakeClock();
  const app = inMemoryApp(
    clock,
    testSettings({ policy: { ...testPolicy, ...policy }, encryptionKey: testEncryptionKey }),
  );
  const transport = createRouterTransport(app.routes, { router: app.routerOptions });
  const admin = createClient(AdminService, transport);
  const { user } = await admin.createUser({ ...ada, displayName: "Ada", roles: ["user"] }, asAdmin);
  return { clock, app, user, auth: createClient(AuthService, transport), admin };
}

type Keycard = Awaited<ReturnType<typeof keycardWith>>;

/** A timestamp the API must have sent, in ms. */
function expiryMs(timestamp: Timestamp | undefined): number {
  if (timestamp === undefined) {
    throw new Error("the answer has no expires_at");
  }
  return timestampMs(timestamp);
}

/** The expiry Validate reports for a token, in ms; undefined for an inactive token. */
async function expiryOf(keycard: Keycard, token: string): Promise<number | undefined> {
  const verdict = await keycard.auth.validate({ token });
  return verdict.expiresAt === undefined ? undefined : timestampMs(verdict.expiresAt);
}

/** The value of a metric of the app's registry (first sample). */
async function metric(keycard: Keycard, name: string): Promise<number | undefined> {
  const found = await keycard.app.metrics.registry.getSingleMetric(name)?.get();
  return found?.values[0]?.value;
}

describe("session policy (in memory, fake clock)", () => {
  describe("automatic renewal", () => {
    it("renews a session in use once 80 % of its lifetime has passed, and not before", async () => {
      const keycard = await keycardWith();
      const login = await keycard.auth.login(ada);
      const firstExpiry = expiryMs(login.expiresAt);

      keycard.clock.advance(9 * hour);
      expect(await expiryOf(keycard, login.sessionToken)).toBe(firstExpiry);
      keycard.clock.advance(0.6 * hour);
      expect(await expiryOf(keycard, login.sessionToken)).toBe(keycard.clock.now() + 12 * hour);
      expect(await metric(keycard, "keycard_sessions_renewed_total")).toBe(1);

      keycard.clock.advance(12 * hour - 1);
      expect((await keycard.auth.validate({ token: login.sessionToken })).active).toBe(true);
    });

    it("never renews past the absolute maximum counted from login", async () => {
      const keycard = await keycardWith({ maxDuration: 20 * hour });
      const login = await keycard.auth.login(ada);
      const loginAt = keycard.clock.now();
      keycard.clock.advance(10 * hour);
      expect(await expiryOf(keycard, login.sessionToken)).toBe(loginAt + 20 * hour);
      keycard.clock.advance(10 * hour - 1);
      expect(await expiryOf(keycard, login.sessionToken)).toBe(loginAt + 20 * hour);
      keycard.clock.advance(1);
      expect(await keycard.auth.validate({ token: login.sessionToken })).toMatchObject({
        active: false,
        reason: InactiveReason.EXPIRED,
      });
    });

    it("lets an unused session expire: renewal needs use", async () => {
      const keycard = await keycardWith();
      const login = await keycard.auth.login(ada);
      keycard.clock.advance(12 * hour);
      expect((await keycard.auth.validate({ token: login.sessionToken })).reason).toBe(
        InactiveReason.EXPIRED,
      );
    });
  });

  describe("remember-me", () => {
    it("lasts thirty days, is listed as remember-me and survives the idle timeout", async () => {
      const keycard = await keycardWith({ idleTimeout: hour });
      const remembered = await keycard.auth.login({ ...ada, rememberMe: true });
      const plain = await keycard.auth.login(ada);
      expect(remembered.expiresIn).toBe(30 * 86_400);

      keycard.clock.advance(2 * hour);
      expect((await keycard.auth.validate({ token: remembered.sessionToken })).active).toBe(true);
      expect(await keycard.auth.validate({ token: plain.sessionToken })).toMatchObject({
        active: false,
        reason: InactiveReason.IDLE_TIMEOUT,
      });
      const { sessions } = await keycard.auth.listSessions({}, bearer(remembered.sessionToken));
      expect(sessions.map((session) => session.kind)).toEqual([SessionKind.REMEMBER_ME]);
    });

    it("is renewed while in use but never outlives the maximum", async () => {
      const keycard = await keycardWith({ maxDuration: 40 * day });
      const login = await keycard.auth.login({ ...ada, rememberMe: true });
      const loginAt = keycard.clock.now();
      keycard.clock.advance(25 * day);
      expect(await expiryOf(keycard, login.sessionToken)).toBe(loginAt + 40 * day);
    });
  });

  describe("short API sessions", () => {
    async function apiKeyOf(keycard: Keycard): Promise<string> {
      const created = await keycard.admin.createApiKey(
        { userId: keycard.user?.id ?? "", name: "ci", skipTotp: true },
        asAdmin,
      );
      return created.key;
    }

    it("gives an API-key login 15 minutes that use does not extend; Refresh does", async () => {
      const keycard = await keycardWith({ apiSessionDuration: 15 * minute });
      const login = await keycard.auth.login({ apiKey: await apiKeyOf(keycard) });
      expect(login.expiresIn).toBe(15 * 60);
      const { sessions } = await keycard.auth.listSessions({}, bearer(login.sessionToken));
      expect(sessions[0]?.kind).toBe(SessionKind.API);

      keycard.clock.advance(14 * minute);
      const loginExpiry = expiryMs(login.expiresAt);
      expect(await expiryOf(keycard, login.sessionToken)).toBe(loginExpiry);
      const refreshed = await keycard.auth.refresh({}, bearer(login.sessionToken));
      expect(refreshed.expiresIn).toBe(15 * 60);

      keycard.clock.advance(15 * minute);
      expect((await keycard.auth.validate({ token: refreshed.sessionToken })).reason).toBe(
        InactiveReason.EXPIRED,
      );
    });

    it("gives API-key logins standard sessions when API_SESSION_DURATION is not set", async () => {
      const keycard = await keycardWith({ apiSessionDuration: 0 });
      const login = await keycard.auth.login({ apiKey: await apiKeyOf(keycard) });
      expect(login.expiresIn).toBe(12 * 3_600);
    });
  });

  describe("listing sessions a page at a time", () => {
    /** Every session id ListSessions lists for a token, following its pages of `pageSize`. */
    async function pagedIds(keycard: Keycard, token: string, pageSize: number) {
      const pages: string[][] = [];
      let pageToken = "";
      do {
        const page = await keycard.auth.listSessions({ pageSize, pageToken }, bearer(token));
        pages.push(page.sessions.map((session) => session.id));
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      return pages;
    }

    it("fills every page with live sessions, leaving idle-timed-out ones out", async () => {
      const keycard = await keycardWith({ idleTimeout: hour });
      const idle = [await keycard.auth.login(ada), await keycard.auth.login(ada)];
      keycard.clock.advance(2 * hour);
      const live = [];
      for (let i = 0; i < 4; i += 1) {
        live.push(await keycard.auth.login(ada));
        keycard.clock.advance(1_000);
      }

      const pages = await pagedIds(keycard, live[0]?.sessionToken ?? "", 2);

      expect(pages).toEqual([
        [live[3]?.sessionId, live[2]?.sessionId],
        [live[1]?.sessionId, live[0]?.sessionId],
      ]);
      expect(pages.flat()).not.toContain(idle[0]?.sessionId);
    });

    it("renames no idle-timed-out session: NOT_FOUND, as it is not listed", async () => {
      const keycard = await keycardWith({ idleTimeout: hour });
      const idle = await keycard.auth.login(ada);
      keycard.clock.advance(2 * hour);
      const live = await keycard.auth.login(ada);
      const renaming = keycard.auth.renameSession(
        { sessionId: idle.sessionId, label: "Old" },
        bearer(live.sessionToken),
      );
      await expect(renaming).rejects.toMatchObject({ code: Code.NotFound });
      const renamed = await keycard.auth.renameSession(
        { sessionId: live.sessionId, label: "New" },
        bearer(live.sessionToken),
      );
      expect(renamed.session?.label).toBe("New");
    });

    it("lists sessions that began in the same millisecond each exactly once", async () => {
      const keycard = await keycardWith();
      const logins = [];
      for (let i = 0; i < 5; i += 1) {
        logins.push(await keycard.auth.login(ada));
      }
      const token = logins[0]?.sessionToken ?? "";

      const pages = await pagedIds(keycard, token, 2);

      expect(pages.map((page) => page.length)).toEqual([2, 2, 1]);
      const whole = await keycard.auth.listSessions({}, bearer(token));
      expect(pages.flat()).toEqual(whole.sessions.map((session) => session.id));
      expect(new Set(pages.flat())).toEqual(new Set(logins.map((login) => login.sessionId)));
    });
  });

  describe("the cap on concurrent sessions", () => {
    it("ends the oldest session when a login goes past the cap", async () => {
      const keycard = await keycardWith({ maxSessionsPerUser: 3 });
      const tokens: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        tokens.push((await keycard.auth.login(ada)).sessionToken);
        keycard.clock.advance(1_000);
      }
      const verdicts = await Promise.all(tokens.map((token) => keycard.auth.validate({ token })));
      expect(verdicts.map((verdict) => verdict.active)).toEqual([false, false, true, true, true]);
      expect(verdicts[0]?.reason).toBe(InactiveReason.REVOKED);
      const { sessions } = await keycard.auth.listSessions({}, bearer(tokens[4] ?? ""));
      expect(sessions).toHaveLength(3);
    });

    it("has no cap when SESSION_MAX_PER_USER is 0", async () => {
      const keycard = await keycardWith({ maxSessionsPerUser: 0 });
      const first = await keycard.auth.login(ada);
      for (let i = 0; i < testPolicy.maxSessionsPerUser; i += 1) {
        await keycard.auth.login(ada);
      }
      expect((await keycard.auth.validate({ token: first.sessionToken })).active).toBe(true);
    });
  });

  describe("privilege changes", () => {
    it("ends every session when roles change; the next login carries the new roles", async () => {
      const keycard = await keycardWith();
      const before = await keycard.auth.login(ada);
      const changed = await keycard.admin.setRoles(
        { userId: keycard.user?.id ?? "", roles: ["ops", "admin"] },
        asAdmin,
      );
      expect(changed.revokedSessions).toBe(1);
      expect(changed.user?.roles).toEqual(["ops", "admin"]);
      expect(await keycard.auth.validate({ token: before.sessionToken })).toMatchObject({
        active: false,
        reason: InactiveReason.REVOKED,
      });
      const after = await keycard.auth.login(ada);
      expect((await keycard.auth.validate({ token: after.sessionToken })).roles).toEqual([
        "ops",
        "admin",
      ]);
      expect(after.sessionId).not.toBe(before.sessionId);
    });

    it("keeps sessions when the roles set is unchanged, and refuses invalid roles", async () => {
      const keycard = await keycardWith();
      const login = await keycard.auth.login(ada);
      const userId = keycard.user?.id ?? "";
      const same = await keycard.admin.setRoles({ userId, roles: ["user", "user"] }, asAdmin);
      expect(same.revokedSessions).toBe(0);
      expect((await keycard.auth.validate({ token: login.sessionToken })).active).toBe(true);
      await expect(
        keycard.admin.setRoles({ userId, roles: ["has space"] }, asAdmin),
      ).rejects.toMatchObject({ rawMessage: expect.stringContaining("roles") });
    });

    it("ends every session opened without TOTP once TOTP is enrolled", async () => {
      const keycard = await keycardWith();
      const userId = keycard.user?.id ?? "";
      const before = await keycard.auth.login(ada);
      const { secret } = await keycard.admin.enrollTotp({ userId }, asAdmin);
      const code = await totpCode(secret, keycard.clock.now());
      const confirmed = await keycard.admin.confirmTotp({ userId, code }, asAdmin);
      expect(confirmed.revokedSessions).toBe(1);
      expect((await keycard.auth.validate({ token: before.sessionToken })).reason).toBe(
        InactiveReason.REVOKED,
      );
    });
  });

  describe("expiry events and the active-sessions gauge", () => {
    it("counts live sessions and sweeps each expired one once, revoked ones never", async () => {
      const keycard = await keycardWith({ renewAfter: 0 });
      const kept = await keycard.auth.login(ada);
      const revoked = await keycard.auth.login(ada);
      await keycard.auth.logout({}, bearer(revoked.sessionToken));
      expect(await metric(keycard, "keycard_sessions_active")).toBe(1);

      keycard.clock.advance(12 * hour);
      expect(await metric(keycard, "keycard_sessions_active")).toBe(1);
      expect(await keycard.app.sessions.sweepExpired()).toBe(1);
      expect(await metric(keycard, "keycard_sessions_active")).toBe(0);
      expect(await keycard.app.sessions.sweepExpired()).toBe(0);
      expect(await metric(keycard, "keycard_sessions_expired_total")).toBe(1);
      expect((await keycard.auth.validate({ token: kept.sessionToken })).active).toBe(false);
    });

    it("sweeps on its own while running, and stops when told", async () => {
      const keycard = await keycardWith({ renewAfter: 0 });
      await keycard.auth.login(ada);
      keycard.clock.advance(12 * hour);
      const errors: unknown[] = [];
      vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
      try {
        const sweeper = startExpirySweeper(keycard.app.sessions, (error) => errors.push(error), 10);
        await vi.advanceTimersByTimeAsync(10);
        expect(await metric(keycard, "keycard_sessions_expired_total")).toBe(1);
        sweeper.stop();
        await keycard.auth.login(ada);
        keycard.clock.advance(12 * hour);
        await vi.advanceTimersByTimeAsync(100);
        expect(await metric(keycard, "keycard_sessions_expired_total")).toBe(1);
        expect(errors).toEqual([]);
      } finally {
        vi.useRealTimers();
      }
    });
  });
});
