import { Code } from "@connectrpc/connect";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultLoginThrottle } from "../../src/domain/login-throttle.js";
import { keyHeaders, keyHolder } from "../helpers/api-key-holder.js";
import { connectAuth, connectReasonOf } from "../helpers/connect-auth.js";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  createTestUser,
  loginRest,
  postJson,
  requestJson,
  startKeycard,
  type TestKeycard,
} from "../helpers/keycard.js";
import { LogLines } from "../helpers/log-lines.js";
import { bearer, restClient, send } from "../helpers/rest.js";
import { totpCode, totpStepSeconds } from "../helpers/totp-codes.js";
import { createGrpcClients, failureOf, bearer as grpcBearer, reasonOf } from "./grpc-client.js";

/**
 * A person's own TOTP on a real server and Redis (issue 17, item 1): enroll, confirm and
 * remove on a fresh session, AAL2 once TOTP exists, over REST, Connect and gRPC.
 */
const clock = new FakeClock();
const log = new LogLines();
const fiveMinutes = 5 * 60_000;
const oneStep = totpStepSeconds * 1000;
let keycard: TestKeycard;

beforeAll(async () => {
  keycard = await startKeycard({
    clock,
    logger: pino({ level: "info" }, log),
    authMode: "hybrid",
    // Two wrong codes from one address and the account waits: enough to see the count.
    loginThrottle: { ...defaultLoginThrottle, pairDelayAfter: 2, ipDelayAfter: 0 },
  });
});
afterAll(() => keycard?.close());

const url = (path: string) => `${keycard.baseUrl}${path}`;
const enroll = (token: string) => postJson(url("/auth/totp"), {}, bearer(token));
const confirm = (token: string, code: string) =>
  postJson(url("/auth/totp/confirm"), { code }, bearer(token));
const remove = (token: string) =>
  requestJson(url("/auth/totp"), { method: "DELETE", headers: bearer(token) });
const me = async (token: string) =>
  (await send(url("/auth/me"), { headers: bearer(token) })).status;
const login = (email: string, password: string, totp_code = "") =>
  postJson(url("/auth/login"), { email, password, totp_code });
const reauthenticate = (token: string, body: Record<string, unknown>) =>
  postJson(url("/auth/reauthenticate"), body, bearer(token));
/** The code of the server's next time step, moving the fake clock there (each step works once). */
const nextCode = (secret: string) => {
  clock.advance(oneStep);
  return totpCode(secret, clock.now());
};

/** A user with a fresh password-only session that has enrolled and confirmed TOTP over REST. */
async function userWithOwnTotp() {
  const user = await createTestUser(keycard);
  const caller = await loginRest(keycard, user);
  const secret = String((await enroll(caller.session_token)).body.secret);
  const confirmed = await confirm(caller.session_token, await nextCode(secret));
  expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
  return { user, token: caller.session_token, secret };
}

describe("own TOTP over REST", () => {
  it("enrolls and confirms, ends the other sessions but not the caller's, and login then needs a code", async () => {
    const user = await createTestUser(keycard);
    const caller = await loginRest(keycard, user);
    const other = await loginRest(keycard, user);

    const enrolled = await enroll(caller.session_token);
    expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(200);
    const secret = String(enrolled.body.secret);
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    expect(enrolled.body.otpauth_uri).toContain(`secret=${secret}`);
    expect(String(enrolled.body.qr_code_svg)).toMatch(/^<svg/);
    expect(String(enrolled.body.qr_code_text)).toMatch(/^[█▀▄ \n]{200,}$/);

    const code = await nextCode(secret);
    const confirmed = await confirm(caller.session_token, code);
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    expect(confirmed.body).toMatchObject({
      revoked_sessions: 1,
      user: { id: user.id, totp_enabled: true },
    });
    expect(await me(caller.session_token)).toBe(200);
    expect(await me(other.session_token)).toBe(401);

    expect((await login(user.email, user.password)).body).toMatchObject({
      error: "TOTP_REQUIRED",
    });
    // The confirming code was consumed: it does not open a session afterwards.
    expect((await login(user.email, user.password, code)).body).toMatchObject({
      error: "TOTP_INVALID",
    });
    expect((await login(user.email, user.password, await nextCode(secret))).status).toBe(200);

    const subject = { userId: user.id, sessionId: caller.session_id, by: "self" };
    expect(log.audits("totp.enrolled")).toContainEqual(expect.objectContaining(subject));
    expect(log.audits("totp.confirmed")).toContainEqual(
      expect.objectContaining({ ...subject, revokedSessions: 1 }),
    );
    expect(log.text).not.toContain(secret);
  });

  it("asks a session proven more than PRIVILEGED_SESSION_MAX_AGE ago to Reauthenticate, then enrolls", async () => {
    const user = await createTestUser(keycard);
    const caller = await loginRest(keycard, user);
    clock.advance(fiveMinutes + 1_000);

    const stale = await enroll(caller.session_token);
    expect(stale.status).toBe(401);
    expect(stale.body).toMatchObject({
      error: "STEP_UP_REQUIRED",
      message: expect.stringContaining("Reauthenticate"),
    });
    expect((await remove(caller.session_token)).body).toMatchObject({ error: "STEP_UP_REQUIRED" });

    const stepped = await reauthenticate(caller.session_token, { password: user.password });
    expect(stepped.status).toBe(200);
    const fresh = String(stepped.body.session_token);
    const secret = String((await enroll(fresh)).body.secret);
    clock.advance(fiveMinutes + 1_000);
    // Confirming asks the same fresh session: an enrollment left pending goes stale too.
    const late = await confirm(fresh, await totpCode(secret, clock.now()));
    expect(late.body).toMatchObject({ error: "STEP_UP_REQUIRED" });
  });

  it("with TOTP on, refuses a password-only session to re-enroll or remove, and lets an AAL2 one", async () => {
    const { user, token, secret } = await userWithOwnTotp();
    // The caller's session survived confirming but was proven by the password alone.
    expect((await enroll(token)).body).toMatchObject({ error: "STEP_UP_REQUIRED" });
    expect((await remove(token)).body).toMatchObject({ error: "STEP_UP_REQUIRED" });
    // Reauthenticating with the password alone keeps the session at AAL1: still refused.
    const passwordOnly = await reauthenticate(token, { password: user.password });
    expect(passwordOnly.body).toMatchObject({ aal: 1 });
    const weak = String(passwordOnly.body.session_token);
    expect((await enroll(weak)).body).toMatchObject({ error: "STEP_UP_REQUIRED" });

    const stepped = await reauthenticate(weak, {
      password: user.password,
      totp_code: await nextCode(secret),
    });
    expect(stepped.body).toMatchObject({ aal: 2 });
    const strong = String(stepped.body.session_token);
    const reEnrolled = await enroll(strong);
    expect(reEnrolled.status, JSON.stringify(reEnrolled.body)).toBe(200);
    expect(reEnrolled.body.secret).not.toBe(secret);

    const removed = await remove(strong);
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    expect(removed.body).toMatchObject({ user: { totp_enabled: false } });
    expect((await login(user.email, user.password)).status).toBe(200);
    expect(log.audits("totp.removed")).toContainEqual(
      expect.objectContaining({ userId: user.id, by: "self" }),
    );
    // Removal dropped the pending enrollment too.
    expect((await confirm(strong, "123456")).body).toMatchObject({ error: "INVALID_ARGUMENT" });
  });

  it("refuses wrong codes with TOTP_INVALID and counts them against the TOTP guessing budget", async () => {
    const user = await createTestUser(keycard);
    const caller = await loginRest(keycard, user);
    const secret = String((await enroll(caller.session_token)).body.secret);
    for (const wrong of ["000000", "999999"]) {
      const refused = await confirm(caller.session_token, wrong);
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ error: "TOTP_INVALID" });
    }
    expect(log.audits("login.failed")).toContainEqual(
      expect.objectContaining({ credential: "totp", door: "confirm_totp", reason: "TOTP_INVALID" }),
    );
    // The right code now waits (the fake clock stands still, so the delay has not passed).
    const waiting = await confirm(caller.session_token, await totpCode(secret, clock.now()));
    expect(waiting.status).toBe(429);
    expect(waiting.body).toMatchObject({ error: "RATE_LIMITED" });
    expect((await login(user.email, user.password)).status).toBe(200);
  });

  it("refuses a confirm without a pending enrollment, and an API-key caller with SESSION_REQUIRED", async () => {
    const user = await createTestUser(keycard);
    const caller = await loginRest(keycard, user);
    expect((await confirm(caller.session_token, "123456")).body).toMatchObject({
      error: "INVALID_ARGUMENT",
    });

    const holder = await keyHolder(restClient(keycard.baseUrl), false);
    const headers = keyHeaders(holder.key);
    const byKey = [
      await postJson(url("/auth/totp"), {}, headers),
      await postJson(url("/auth/totp/confirm"), { code: "123456" }, headers),
      await requestJson(url("/auth/totp"), { method: "DELETE", headers }),
    ];
    for (const refused of byKey) {
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ error: "SESSION_REQUIRED" });
    }
  });
});

describe("own TOTP over Connect", () => {
  const auth = () => connectAuth(keycard.baseUrl);
  const reason = connectReasonOf;

  it("enrolls, confirms with a code that cannot be replayed, re-enrolls at AAL2, and removes only on a fresh session", async () => {
    const client = auth();
    const user = await createTestUser(keycard);
    const caller = await loginRest(keycard, user);
    const headers = { authorization: `Bearer ${caller.session_token}` };
    const { secret, otpauthUri, qrCodeSvg } = await client.enrollOwnTotp({}, { headers });
    expect(otpauthUri).toContain(secret);
    expect(qrCodeSvg).toContain("<svg");

    const code = await nextCode(secret);
    const confirmed = await client.confirmOwnTotp({ code }, { headers });
    expect(confirmed.user?.totpEnabled).toBe(true);
    expect(confirmed.revokedSessions).toBe(0);

    // The confirming code was consumed: it cannot prove the session again.
    const replayed = await client
      .reauthenticate({ password: user.password, totpCode: code }, { headers })
      .catch((error: unknown) => error);
    expect(replayed).toMatchObject({ code: Code.Unauthenticated });
    expect(reason(replayed)).toBe("TOTP_INVALID");

    const stepped = await client.reauthenticate(
      { password: user.password, totpCode: await nextCode(secret) },
      { headers },
    );
    expect(stepped.aal).toBe(2);
    const strong = { authorization: `Bearer ${stepped.sessionToken}` };
    expect((await client.enrollOwnTotp({}, { headers: strong })).secret).not.toBe(secret);
    clock.advance(fiveMinutes + 1_000);
    const stale = await client.removeOwnTotp({}, { headers: strong }).catch((e: unknown) => e);
    expect(stale).toMatchObject({ code: Code.Unauthenticated });
    expect(reason(stale)).toBe("STEP_UP_REQUIRED");

    const again = await client.reauthenticate(
      { password: user.password, totpCode: await nextCode(secret) },
      { headers: strong },
    );
    const removed = await client.removeOwnTotp(
      {},
      { headers: { authorization: `Bearer ${again.sessionToken}` } },
    );
    expect(removed.user?.totpEnabled).toBe(false);
  });
});

describe("own TOTP over gRPC", () => {
  it("enrolls, refuses a wrong code with TOTP_INVALID, confirms, and asks an AAL1 session to step up", async () => {
    const grpc = createGrpcClients(keycard.port);
    try {
      const user = await createTestUser(keycard);
      const caller = await loginRest(keycard, user);
      const other = await loginRest(keycard, user);
      const metadata = () => grpcBearer(caller.session_token);
      const { secret } = await grpc.call("EnrollOwnTotp", {}, metadata());
      const wrong = await failureOf(grpc.call("ConfirmOwnTotp", { code: "000000" }, metadata()));
      expect(wrong.code).toBe(16);
      expect(reasonOf(wrong)).toBe("TOTP_INVALID");

      const code = await nextCode(secret);
      const confirmed = await grpc.call("ConfirmOwnTotp", { code }, metadata());
      expect(confirmed.revoked_sessions).toBe(1);
      expect(await me(other.session_token)).toBe(401);

      const weak = await failureOf(grpc.call("RemoveOwnTotp", {}, metadata()));
      expect(weak.code).toBe(16);
      expect(reasonOf(weak)).toBe("STEP_UP_REQUIRED");
    } finally {
      grpc.close();
    }
  });
});
