import { randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { defaultLoginThrottle } from "../../src/domain/login-throttle.js";
import { keyHeaders, keyHolder } from "../helpers/api-key-holder.js";
import { connectAuth, connectReasonOf } from "../helpers/connect-auth.js";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  createTestUser,
  postJson,
  requestJson,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import { LogLines } from "../helpers/log-lines.js";
import { dumpNamespace } from "../helpers/redis-scan.js";
import { bearer, restClient, send } from "../helpers/rest.js";
import { totpCode, totpStepSeconds } from "../helpers/totp-codes.js";
import { createGrpcClients, failureOf, bearer as grpcBearer, reasonOf } from "./grpc-client.js";

/**
 * Recovery codes on a real server and Redis (issue 17, item 2): ten single-use codes made on
 * a fresh AAL2 session, standing in once each for a TOTP code at Login and Reauthenticate,
 * within the TOTP guessing budget, over REST, Connect and gRPC, with the admin's count and
 * reset, and never a code in Redis or in the log.
 */
const clock = new FakeClock();
const log = new LogLines();
const namespace = `test-recovery-${randomUUID()}`;
const fiveMinutes = 5 * 60_000;
const oneStep = totpStepSeconds * 1000;
const admin = bearer(testAdminToken);
const codeShape = /^[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}$/;
/** Every code this file was given, to look for in Redis and in the log. */
const issued: string[] = [];
let keycard: TestKeycard;

beforeAll(async () => {
  keycard = await startKeycard({
    clock,
    namespace,
    logger: pino({ level: "info" }, log),
    authMode: "hybrid",
    httpProfiles: ["api-v1-auth"],
    trustedProxies: ["127.0.0.1", "::1"],
    // Two wrong codes from one address and that address waits: enough to see the count.
    loginThrottle: { ...defaultLoginThrottle, pairDelayAfter: 2, ipDelayAfter: 0 },
  });
});
afterAll(() => keycard?.close());

let ipCounter = 0;
/** A client address no other request of this file uses, so that throttles stay apart. */
function freshIp(): string {
  ipCounter += 1;
  return `198.18.${Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
}

type Body = Record<string, unknown>;
const url = (path: string) => `${keycard.baseUrl}${path}`;
const from = (ip: string) => ({ "x-forwarded-for": ip });
const loginFields = ["email", "password", "api_key", "totp_code", "recovery_code"];
/** The fields of `body` Login takes (a test user also carries its id and name, which REST refuses). */
const loginBody = (body: Body): Body =>
  Object.fromEntries(Object.entries(body).filter(([key]) => loginFields.includes(key)));
const login = (body: Body, ip = freshIp()) =>
  postJson(url("/auth/login"), loginBody(body), from(ip));
const reauthenticate = (token: string, body: Body, ip = freshIp()) =>
  postJson(url("/auth/reauthenticate"), body, { ...bearer(token), ...from(ip) });
const regenerate = (token: string) =>
  postJson(url("/auth/recovery-codes"), {}, { ...bearer(token), ...from(freshIp()) });
const remaining = async (userId: string) =>
  (await send(url(`/admin/users/${userId}/recovery-codes`), { headers: admin })).body.remaining;
const me = async (token: string) => (await send(url("/auth/me"), { headers: bearer(token) })).body;
/** The code of the server's next time step, moving the fake clock there (each step works once). */
const nextCode = (secret: string) => {
  clock.advance(oneStep);
  return totpCode(secret, clock.now());
};

/** A new account with its own TOTP and ten recovery codes. */
interface CodeHolder {
  readonly user: { id: string; email: string; password: string };
  readonly secret: string;
  /** A password-only session from before TOTP was enabled (it confirmed it): AAL1. */
  readonly weak: string;
  /** A password + TOTP session, fresh when the codes were made: AAL2. */
  readonly strong: string;
  readonly codes: string[];
}

/** Makes recovery codes on `token` over REST, and remembers them for the leak checks. */
async function codesOf(token: string): Promise<string[]> {
  const made = await regenerate(token);
  expect(made.status, JSON.stringify(made.body)).toBe(200);
  const codes = made.body.codes as string[];
  issued.push(...codes);
  return codes;
}

/**
 * A user who enrolled TOTP on their own password-only session (which stays, at AAL1), then
 * logged in with password + TOTP (AAL2) and made recovery codes on that session.
 */
async function codeHolder(): Promise<CodeHolder> {
  const user = await createTestUser(keycard);
  const weak = String((await login(user)).body.session_token);
  const secret = String((await postJson(url("/auth/totp"), {}, bearer(weak))).body.secret);
  const confirmed = await postJson(
    url("/auth/totp/confirm"),
    { code: await nextCode(secret) },
    bearer(weak),
  );
  expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
  const strong = await login({ ...user, totp_code: await nextCode(secret) });
  expect(strong.status, JSON.stringify(strong.body)).toBe(200);
  const token = String(strong.body.session_token);
  return { user, secret, weak, strong: token, codes: await codesOf(token) };
}

describe("recovery codes over REST", () => {
  it("makes ten distinct codes on a fresh AAL2 session, shown once and kept in Redis only as keyed hashes", async () => {
    const { user, codes } = await codeHolder();
    expect(codes).toHaveLength(10);
    for (const code of codes) {
      expect(code).toMatch(codeShape);
    }
    expect(new Set(codes).size).toBe(10);
    expect(await remaining(user.id)).toBe(10);
    expect(log.audits("recovery_codes.generated")).toContainEqual(
      expect.objectContaining({ userId: user.id, count: 10, by: "self" }),
    );

    const redis = new Redis(inject("redisUrl"));
    try {
      const { keys, text } = await dumpNamespace(redis, namespace);
      const set = `${namespace}:{u:${user.id}}:recovery-codes`;
      expect(keys).toContain(set);
      expect(await redis.scard(set)).toBe(10);
      for (const code of codes) {
        expect(text).not.toContain(code);
        expect(text).not.toContain(code.replaceAll("-", ""));
      }
    } finally {
      redis.disconnect();
    }
  });

  it("logs in with password + a recovery code at AAL2 (amr pwd, rec), answers 9 left, and refuses the code a second time", async () => {
    const { user, secret, codes } = await codeHolder();
    const [first = "", second = ""] = codes;
    // Case, dashes and spaces do not matter.
    const typed = ` ${first.toUpperCase().replaceAll("-", " ")} `;
    const used = await login({ ...user, recovery_code: typed });
    expect(used.status, JSON.stringify(used.body)).toBe(200);
    expect(used.body.recovery_codes_remaining).toBe(9);
    const { session } = (await me(String(used.body.session_token))) as { session: Body };
    expect(session).toMatchObject({
      amr: ["pwd", "rec"],
      aal: 2,
      authentication_methods: ["AUTH_METHOD_PASSWORD", "AUTH_METHOD_RECOVERY_CODE"],
    });
    expect(log.audits("recovery_code.used")).toContainEqual(
      expect.objectContaining({ userId: user.id, remaining: 9, door: "login" }),
    );

    const reused = await login({ ...user, recovery_code: first });
    expect(reused.status).toBe(401);
    expect(reused.body).toMatchObject({ error: "RECOVERY_CODE_INVALID" });
    expect(log.audits("login.failed")).toContainEqual(
      expect.objectContaining({ credential: "password", reason: "RECOVERY_CODE_INVALID" }),
    );

    // Both kinds of code at once is a malformed request, refused before either is checked.
    const both = await login({ ...user, totp_code: "123456", recovery_code: second });
    expect(both.status).toBe(400);
    expect(both.body).toMatchObject({ error: "INVALID_ARGUMENT" });
    expect((await login(user)).body).toMatchObject({ error: "TOTP_REQUIRED" });
    const tooLong = await login({ ...user, recovery_code: "7".repeat(33) });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body).toMatchObject({
      error: "INVALID_ARGUMENT",
      message: expect.stringContaining("recovery_code"),
    });
    expect(await remaining(user.id)).toBe(9);
    expect((await login({ ...user, recovery_code: second })).body.recovery_codes_remaining).toBe(8);

    // A login with a TOTP code says nothing about recovery codes.
    const withTotp = await login({ ...user, totp_code: await nextCode(secret) });
    expect(withTotp.status).toBe(200);
    expect(withTotp.body).not.toHaveProperty("recovery_codes_remaining");
  });

  it("checks at most the lockout threshold of 150 wrong codes sent at once from 150 addresses, at Login and Reauthenticate", async () => {
    const { user, strong, codes } = await codeHolder();
    const wrongCode = (index: number) => `zzzz-zzzz-${String(index).padStart(4, "0")}`;
    const replies = await Promise.all(
      Array.from({ length: 150 }, (_, index) =>
        index % 2 === 0
          ? login({ ...user, recovery_code: wrongCode(index) })
          : reauthenticate(strong, { recovery_code: wrongCode(index) }),
      ),
    );
    const reasons = replies.map((reply) => String(reply.body.error));
    expect(reasons.filter((reason) => reason === "RECOVERY_CODE_INVALID")).toHaveLength(
      defaultLoginThrottle.lockoutThreshold,
    );
    expect(reasons.filter((reason) => reason === "RATE_LIMITED")).toHaveLength(
      150 - defaultLoginThrottle.lockoutThreshold,
    );
    const right = await login({ ...user, recovery_code: codes[0] });
    expect(right.status).toBe(429);
    expect(await remaining(user.id)).toBe(10);
  });

  it("counts wrong recovery codes against the TOTP guessing budget: after two, even the right TOTP code waits", async () => {
    const { user, secret, strong, codes } = await codeHolder();
    const attacker = freshIp();
    for (const wrong of ["0000-0000-0000", "not a code"]) {
      const refused = await login({ ...user, recovery_code: wrong }, attacker);
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ error: "RECOVERY_CODE_INVALID" });
    }
    // Reauthenticate with a code alone checks no password: only the TOTP budget can refuse it.
    // The next step's code is good now (one step of drift), and the clock stands still.
    const right = await totpCode(secret, clock.now() + oneStep);
    const waiting = await reauthenticate(strong, { totp_code: right }, attacker);
    expect(waiting.status).toBe(429);
    expect(waiting.body).toMatchObject({ error: "RATE_LIMITED" });
    const waitingCode = await reauthenticate(strong, { recovery_code: codes[0] }, attacker);
    expect(waitingCode.status).toBe(429);
    expect(log.audits("login.locked")).toContainEqual(
      expect.objectContaining({ credential: "totp", scope: "pair", ip: attacker }),
    );
    expect(await remaining(user.id)).toBe(10);

    // The delay is per address, and over once it has passed.
    clock.advance(2_000);
    const stepped = await reauthenticate(strong, { totp_code: right }, attacker);
    expect(stepped.status, JSON.stringify(stepped.body)).toBe(200);
  });

  it("makes new codes that replace every old one", async () => {
    const { user, codes } = await codeHolder();
    const used = await login({ ...user, recovery_code: codes[0] });
    // A login with a recovery code is fresh and AAL2: enough to make new codes.
    const fresh = await codesOf(String(used.body.session_token));
    expect(fresh.filter((code) => codes.includes(code))).toEqual([]);
    expect(await remaining(user.id)).toBe(10);
    for (const old of [codes[1], codes[9]]) {
      expect((await login({ ...user, recovery_code: old })).body).toMatchObject({
        error: "RECOVERY_CODE_INVALID",
      });
    }
    expect((await login({ ...user, recovery_code: fresh[9] })).body.recovery_codes_remaining).toBe(
      9,
    );
    expect(
      log.audits("recovery_codes.generated").filter((line) => line.userId === user.id),
    ).toHaveLength(2);
  });

  it("asks a password-only or stale session to step up, an account without TOTP to enroll it, and an API key to log in", async () => {
    const { user, secret, weak, strong } = await codeHolder();
    const passwordOnly = await regenerate(weak);
    expect(passwordOnly.status).toBe(401);
    expect(passwordOnly.body).toMatchObject({ error: "STEP_UP_REQUIRED" });

    clock.advance(fiveMinutes + 1_000);
    const stale = await regenerate(strong);
    expect(stale.status).toBe(401);
    expect(stale.body).toMatchObject({
      error: "STEP_UP_REQUIRED",
      message: expect.stringContaining("Reauthenticate"),
    });
    const stepped = await reauthenticate(strong, { totp_code: await nextCode(secret) });
    expect(stepped.body).toMatchObject({ aal: 2 });
    await codesOf(String(stepped.body.session_token));
    expect(await remaining(user.id)).toBe(10);

    const plain = await createTestUser(keycard);
    const plainSession = String((await login(plain)).body.session_token);
    const noTotp = await regenerate(plainSession);
    expect(noTotp.status).toBe(400);
    expect(noTotp.body).toMatchObject({ error: "TOTP_NOT_ENROLLED" });
    expect(await remaining(plain.id)).toBe(0);

    const holder = await keyHolder(restClient(keycard.baseUrl), false);
    const byKey = await postJson(url("/auth/recovery-codes"), {}, keyHeaders(holder.key));
    expect(byKey.status).toBe(400);
    expect(byKey.body).toMatchObject({ error: "SESSION_REQUIRED" });
  });

  it("lets exactly one of 20 concurrent logins with the same code in", async () => {
    const { user, codes } = await codeHolder();
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => login({ ...user, recovery_code: codes[4] })),
    );
    expect(replies.filter((reply) => reply.status === 200)).toHaveLength(1);
    expect(
      replies.filter((reply) => reply.status !== 200).map((reply) => reply.body.error),
    ).toEqual(Array(19).fill("RECOVERY_CODE_INVALID"));
    expect(await remaining(user.id)).toBe(9);
    expect(log.audits("recovery_code.used").filter((line) => line.userId === user.id)).toHaveLength(
      1,
    );
  });

  it("steps a session up with a recovery code at Reauthenticate, alone or with the password", async () => {
    const { user, weak, codes } = await codeHolder();
    expect(((await me(weak)) as { session: Body }).session).toMatchObject({ aal: 1, amr: ["pwd"] });

    const wrong = await reauthenticate(weak, { recovery_code: "zzzz-zzzz-zzzz" });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: "RECOVERY_CODE_INVALID" });
    expect(log.audits("login.failed")).toContainEqual(
      expect.objectContaining({
        credential: "recovery_code",
        door: "reauthenticate",
        reason: "RECOVERY_CODE_INVALID",
      }),
    );
    const both = await reauthenticate(weak, { totp_code: "123456", recovery_code: codes[0] });
    expect(both.body).toMatchObject({ error: "INVALID_ARGUMENT" });

    const stepped = await reauthenticate(weak, { recovery_code: codes[0] });
    expect(stepped.status, JSON.stringify(stepped.body)).toBe(200);
    expect(stepped.body).toMatchObject({
      aal: 2,
      amr: ["pwd", "rec"],
      recovery_codes_remaining: 9,
    });
    expect(log.audits("recovery_code.used")).toContainEqual(
      expect.objectContaining({ userId: user.id, remaining: 9, door: "reauthenticate" }),
    );
    const token = String(stepped.body.session_token);
    expect((await reauthenticate(token, { recovery_code: codes[0] })).body).toMatchObject({
      error: "RECOVERY_CODE_INVALID",
    });
    const again = await reauthenticate(token, { password: user.password, recovery_code: codes[1] });
    expect(again.body).toMatchObject({ amr: ["pwd", "rec"], recovery_codes_remaining: 8 });
    // The step-up is fresh and AAL2: it may make new codes.
    await codesOf(String(again.body.session_token));

    const plain = await createTestUser(keycard);
    const plainSession = String((await login(plain)).body.session_token);
    expect((await reauthenticate(plainSession, { recovery_code: codes[2] })).body).toMatchObject({
      error: "TOTP_NOT_ENROLLED",
    });
  });

  it("steps up with a recovery code through reference 002's reauthenticate too", async () => {
    const { weak, codes } = await codeHolder();
    const stepped = await postJson(
      url("/api/v1/auth/reauthenticate"),
      { recovery_code: codes[0] },
      { ...bearer(weak), ...from(freshIp()) },
    );
    expect(stepped.status, JSON.stringify(stepped.body)).toBe(200);
    expect(stepped.body).toMatchObject({ success: true, data: { amr: ["pwd", "rec"], aal: 2 } });
  });

  it("takes a recovery code with an API key at Login, but never from per-request headers", async () => {
    const { user, codes } = await codeHolder();
    const issuedKey = await postJson(
      url(`/admin/users/${user.id}/api-keys`),
      { name: "ci" },
      admin,
    );
    const key = String(issuedKey.body.key);
    const used = await login({ api_key: key, recovery_code: codes[0] });
    expect(used.status, JSON.stringify(used.body)).toBe(200);
    expect(used.body.recovery_codes_remaining).toBe(9);
    expect(
      ((await me(String(used.body.session_token))) as { session: Body }).session,
    ).toMatchObject({
      amr: ["swk", "rec"],
      aal: 2,
    });

    // X-API-Key goes with every request: a recovery code there would be spent at once.
    const headers = { ...keyHeaders(key), "x-recovery-code": String(codes[1]) };
    expect((await send(url("/auth/me"), { headers })).body).toMatchObject({
      error: "TOTP_REQUIRED",
    });
    const asTotp = await send(url("/auth/me"), { headers: keyHeaders(key, String(codes[1])) });
    expect(asTotp.body).toMatchObject({ error: "TOTP_INVALID" });
    expect(await remaining(user.id)).toBe(9);
  });

  it("shows the administrator how many codes are left and deletes them, never showing one", async () => {
    const { user, strong, secret, codes } = await codeHolder();
    await login({ ...user, recovery_code: codes[0] });
    const counted = await send(url(`/admin/users/${user.id}/recovery-codes`), { headers: admin });
    expect(counted.status).toBe(200);
    expect(counted.body).toEqual({ remaining: 9 });

    const reset = await requestJson(url(`/admin/users/${user.id}/recovery-codes`), {
      method: "DELETE",
      headers: admin,
    });
    expect(reset.status).toBe(200);
    expect(reset.body).toEqual({ deleted: 9 });
    expect(log.audits("recovery_codes.reset")).toContainEqual(
      expect.objectContaining({ userId: user.id, deleted: 9, credential: "admin_token" }),
    );
    expect(await remaining(user.id)).toBe(0);
    expect((await login({ ...user, recovery_code: codes[1] })).body).toMatchObject({
      error: "RECOVERY_CODE_INVALID",
    });
    // The TOTP and the sessions stay.
    expect((await send(url("/auth/me"), { headers: bearer(strong) })).status).toBe(200);
    expect((await login({ ...user, totp_code: await nextCode(secret) })).status).toBe(200);
    const again = await requestJson(url(`/admin/users/${user.id}/recovery-codes`), {
      method: "DELETE",
      headers: admin,
    });
    expect(again.body).toEqual({ deleted: 0 });

    const unknown = await send(url("/admin/users/no-such-user/recovery-codes"), { headers: admin });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: "NOT_FOUND" });
    const bySession = await send(url(`/admin/users/${user.id}/recovery-codes`), {
      headers: bearer(strong),
    });
    expect(bySession.status).toBe(403);
  });

  it("deletes the codes with the TOTP they stand in for, by the user or the administrator", async () => {
    const redis = new Redis(inject("redisUrl"));
    const codeSet = (userId: string) => `${namespace}:{u:${userId}}:recovery-codes`;
    try {
      const own = await codeHolder();
      expect(await redis.exists(codeSet(own.user.id))).toBe(1);
      const removed = await requestJson(url("/auth/totp"), {
        method: "DELETE",
        headers: bearer(own.strong),
      });
      expect(removed.status, JSON.stringify(removed.body)).toBe(200);
      expect(await redis.exists(codeSet(own.user.id))).toBe(0);
      expect(log.audits("recovery_codes.deleted")).toContainEqual(
        expect.objectContaining({ userId: own.user.id, deleted: 10, reason: "totp_removed" }),
      );
      // A new TOTP starts without codes: the old ones do not come back with it.
      const secret = String(
        (await postJson(url("/auth/totp"), {}, bearer(own.strong))).body.secret,
      );
      const confirmed = await postJson(
        url("/auth/totp/confirm"),
        { code: await nextCode(secret) },
        bearer(own.strong),
      );
      expect(confirmed.status).toBe(200);
      expect(await remaining(own.user.id)).toBe(0);
      expect((await login({ ...own.user, recovery_code: own.codes[0] })).body).toMatchObject({
        error: "RECOVERY_CODE_INVALID",
      });

      const lost = await codeHolder();
      const reset = await requestJson(url(`/admin/users/${lost.user.id}/totp`), {
        method: "DELETE",
        headers: admin,
      });
      expect(reset.status).toBe(200);
      expect(await redis.exists(codeSet(lost.user.id))).toBe(0);
      expect(log.audits("recovery_codes.deleted")).toContainEqual(
        expect.objectContaining({ userId: lost.user.id, deleted: 10, reason: "totp_removed" }),
      );
    } finally {
      redis.disconnect();
    }
  });
});

describe("recovery codes over Connect", () => {
  const auth = () => connectAuth(keycard.baseUrl);
  const reason = connectReasonOf;

  it("makes codes, logs in with one, and refuses it again and a wrong one with RECOVERY_CODE_INVALID", async () => {
    const client = auth();
    const { user, strong } = await codeHolder();
    const { codes } = await client.regenerateRecoveryCodes(
      {},
      { headers: { ...bearer(strong), ...from(freshIp()) } },
    );
    issued.push(...codes);
    expect(codes).toHaveLength(10);
    const [first = "", second = ""] = codes;

    const credentials = { email: user.email, password: user.password };
    const used = await client.login(
      { ...credentials, recoveryCode: first },
      { headers: from(freshIp()) },
    );
    expect(used.recoveryCodesRemaining).toBe(9);
    for (const code of [first, "0000-0000-0000"]) {
      const refused = await client
        .login({ ...credentials, recoveryCode: code }, { headers: from(freshIp()) })
        .catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: Code.Unauthenticated });
      expect(reason(refused)).toBe("RECOVERY_CODE_INVALID");
    }
    const stepped = await client.reauthenticate(
      { recoveryCode: second },
      { headers: { ...bearer(used.sessionToken), ...from(freshIp()) } },
    );
    expect(stepped).toMatchObject({ aal: 2, amr: ["pwd", "rec"], recoveryCodesRemaining: 8 });
  });
});

describe("recovery codes over gRPC", () => {
  it("makes codes, logs in with one, refuses it again and a wrong one, and shows and resets the count", async () => {
    const grpc = createGrpcClients(keycard.port);
    try {
      const { user, strong } = await codeHolder();
      const { codes } = await grpc.call("RegenerateRecoveryCodes", {}, grpcBearer(strong));
      issued.push(...codes);
      expect(codes).toHaveLength(10);

      const credentials = { email: user.email, password: user.password };
      const used = await grpc.call("Login", { ...credentials, recovery_code: codes[0] });
      expect(used.recovery_codes_remaining?.value).toBe(9);
      for (const code of [codes[0], "0000-0000-0000"]) {
        const refused = await failureOf(
          grpc.call("Login", { ...credentials, recovery_code: code }),
        );
        expect(refused.code).toBe(16);
        expect(reasonOf(refused)).toBe("RECOVERY_CODE_INVALID");
      }

      const asAdmin = grpcBearer(testAdminToken);
      expect(await grpc.call("GetRecoveryCodes", { user_id: user.id }, asAdmin)).toEqual({
        remaining: 9,
      });
      expect(await grpc.call("ResetRecoveryCodes", { user_id: user.id }, asAdmin)).toEqual({
        deleted: 9,
      });
    } finally {
      grpc.close();
    }
  });
});

describe("the log", () => {
  it("never holds a recovery code, in any form", () => {
    expect(issued.length).toBeGreaterThanOrEqual(100);
    const text = log.text.toLowerCase();
    for (const code of issued) {
      expect(text).not.toContain(code);
      expect(text).not.toContain(code.replaceAll("-", ""));
      expect(text).not.toContain(code.replaceAll("-", " "));
    }
  });
});
