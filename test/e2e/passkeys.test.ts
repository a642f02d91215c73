import { randomUUID } from "node:crypto";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyHeaders, keyHolder } from "../helpers/api-key-holder.js";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  createTestUser,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import { LogLines } from "../helpers/log-lines.js";
import { sample } from "../helpers/metrics.js";
import { ceremonyOf, PasskeyRest } from "../helpers/passkey-flows.js";
import { bearer, restClient, send } from "../helpers/rest.js";
import { SoftAuthenticator } from "../helpers/soft-authenticator.js";

/**
 * Passkeys over REST on a real server and Redis (issue 18): registration on a fresh
 * session, sign-in with a passkey alone and as the second factor, step-up, removal ending
 * exactly the sessions a passkey proved, the administrator's list and delete, and every
 * way an assertion is refused (PASSKEY_INVALID, audited, never a 5xx), with a software
 * authenticator standing in for the browser's.
 */
const clock = new FakeClock();
const log = new LogLines();
const sixMinutes = 6 * 60_000;
const admin = bearer(testAdminToken);
let keycard: TestKeycard;
let flows: PasskeyRest;

let ipCounter = 0;
/** A client address no other request of this file uses, so that throttles stay apart. */
function freshIp(): string {
  ipCounter += 1;
  return `198.18.${Math.floor(ipCounter / 250)}.${(ipCounter % 250) + 1}`;
}

beforeAll(async () => {
  keycard = await startKeycard({
    clock,
    namespace: `test-passkeys-${randomUUID()}`,
    logger: pino({ level: "info" }, log),
    authMode: "hybrid",
    trustedProxies: ["127.0.0.1", "::1"],
    webauthn: { rpId: "localhost" },
  });
  flows = new PasskeyRest(keycard, () => ({ "x-forwarded-for": freshIp() }));
});
afterAll(() => keycard?.close());

type Body = Record<string, unknown>;

/** A time as keycard's JSON writes it (RFC 3339, no fraction when there is none). */
const wireTime = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

/** A new account and a fresh password session of it. */
async function freshUser(): Promise<{
  id: string;
  email: string;
  password: string;
  token: string;
}> {
  const user = await createTestUser(keycard);
  const login = await flows.post("/auth/login", { email: user.email, password: user.password });
  expect(login.status, JSON.stringify(login.body)).toBe(200);
  return { ...user, token: String(login.body.session_token) };
}

/** A new account with a registered passkey on `authenticator`; answers the passkey's id too. */
async function passkeyHolder(authenticator = flows.authenticator()) {
  const user = await freshUser();
  const passkeyId = await flows.register(user.token, authenticator);
  return { ...user, authenticator, passkeyId };
}

function expectRefused(reply: { status: number; body: Body }, status: number, error: string) {
  expect(reply.status, JSON.stringify(reply.body)).toBe(status);
  expect(reply.body.error).toBe(error);
}

async function listOwn(token: string): Promise<Body[]> {
  const reply = await send(`${keycard.baseUrl}/auth/passkeys`, { headers: bearer(token) });
  expect(reply.status, reply.text).toBe(200);
  return reply.body.passkeys as Body[];
}

describe("registering a passkey", () => {
  it("hands out options for a discoverable passkey of the account, then lists the passkey", async () => {
    const user = await freshUser();
    const started = await flows.startRegistration(user.token);
    expect(started.status).toBe(200);
    const options = started.ceremony?.options ?? {};
    expect(options).toMatchObject({
      rp: { id: "localhost", name: "keycard" },
      user: { id: Buffer.from(user.id).toString("base64url"), name: user.email },
      attestation: "none",
      excludeCredentials: [],
      authenticatorSelection: { residentKey: "required", userVerification: "preferred" },
    });
    const authenticator = flows.authenticator();
    const response = authenticator.register(options);
    const ceremony = started.ceremony ?? ceremonyOf({});
    const finished = await flows.finishRegistration(
      user.token,
      ceremony,
      response,
      "  Work laptop ",
    );
    expect(finished.status, JSON.stringify(finished.body)).toBe(200);
    const passkey = finished.body.passkey as Body;
    expect(passkey).toMatchObject({
      name: "Work laptop",
      transports: ["internal", "hybrid"],
      backed_up: true,
      device_type: "multiDevice",
    });
    expect(passkey.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(passkey.created_at).toBe(wireTime(clock.now()));
    expect(passkey).not.toHaveProperty("last_used_at");
    expect(await listOwn(user.token)).toEqual([passkey]);
    const again = await flows.startRegistration(user.token);
    expect(again.ceremony?.options.excludeCredentials).toEqual([
      {
        id: (response as { id: string }).id,
        type: "public-key",
        transports: ["internal", "hybrid"],
      },
    ]);
    expect(log.audits("passkey.registered").at(-1)).toMatchObject({
      userId: user.id,
      passkeyId: passkey.id,
    });
  });

  it("names a passkey Passkey when given no name, and refuses a name too long", async () => {
    const user = await freshUser();
    const authenticator = flows.authenticator();
    const long = await flows.startRegistration(user.token);
    const ceremony = long.ceremony ?? ceremonyOf({});
    const response = authenticator.register(ceremony.options);
    const refused = await flows.finishRegistration(user.token, ceremony, response, "x".repeat(65));
    expectRefused(refused, 400, "INVALID_ARGUMENT");
    // The name is checked before the challenge is taken: the same answer still registers.
    const named = await flows.finishRegistration(user.token, ceremony, response, " ");
    expect(named.status, JSON.stringify(named.body)).toBe(200);
    expect((named.body.passkey as Body).name).toBe("Passkey");
  });

  it("asks a session proven within PRIVILEGED_SESSION_MAX_AGE, and a session rather than an API key", async () => {
    const user = await freshUser();
    const fresh = await flows.startRegistration(user.token);
    clock.advance(sixMinutes);
    expectRefused(await flows.startRegistration(user.token), 401, "STEP_UP_REQUIRED");
    const ceremony = fresh.ceremony ?? ceremonyOf({});
    const late = await flows.finishRegistration(
      user.token,
      ceremony,
      flows.authenticator().register(ceremony.options),
    );
    expectRefused(late, 401, "STEP_UP_REQUIRED");
    const stepped = await flows.post(
      "/auth/reauthenticate",
      { password: user.password },
      bearer(user.token),
    );
    expect(stepped.status).toBe(200);
    const token = String(stepped.body.session_token);
    await flows.register(token, flows.authenticator());

    const holder = await keyHolder(restClient(keycard.baseUrl), false);
    const byKey = await flows.post(
      "/auth/passkeys/registration-options",
      {},
      keyHeaders(holder.key),
    );
    expectRefused(byKey, 400, "SESSION_REQUIRED");
    const listed = await send(`${keycard.baseUrl}/auth/passkeys`, {
      headers: keyHeaders(holder.key),
    });
    expect(listed.status).toBe(200);
    expect(listed.body.passkeys).toEqual([]);
  });

  it("refuses an answer to a used, foreign or login challenge, or from another origin or RP id", async () => {
    const user = await freshUser();
    const other = await freshUser();
    const authenticator = flows.authenticator();
    const started = await flows.startRegistration(user.token);
    const ceremony = started.ceremony ?? ceremonyOf({});
    const wrongOrigin = authenticator.register(ceremony.options, {
      origin: "https://evil.example",
    });
    expectRefused(
      await flows.finishRegistration(user.token, ceremony, wrongOrigin),
      400,
      "INVALID_ARGUMENT",
    );
    // The challenge was used up by the refused answer.
    const right = authenticator.register(ceremony.options);
    expectRefused(
      await flows.finishRegistration(user.token, ceremony, right),
      400,
      "INVALID_ARGUMENT",
    );

    const theirs = (await flows.startRegistration(other.token)).ceremony ?? ceremonyOf({});
    const foreign = authenticator.register(theirs.options);
    expectRefused(
      await flows.finishRegistration(user.token, theirs, foreign),
      400,
      "INVALID_ARGUMENT",
    );

    const login = await flows.startLogin();
    const fromLogin = authenticator.register({
      ...login.options,
      rp: { id: "localhost" },
      user: { id: "x" },
    });
    expectRefused(
      await flows.finishRegistration(user.token, login, fromLogin),
      400,
      "INVALID_ARGUMENT",
    );

    const next = (await flows.startRegistration(user.token)).ceremony ?? ceremonyOf({});
    const wrongRp = authenticator.register(next.options, { rpId: "evil.example" });
    expectRefused(
      await flows.finishRegistration(user.token, next, wrongRp),
      400,
      "INVALID_ARGUMENT",
    );
    expect(await listOwn(user.token)).toEqual([]);
    expect(log.audits("passkey.registration_refused").length).toBeGreaterThanOrEqual(2);
  });

  it("refuses response_json that is not JSON, or not a credential, with 400", async () => {
    const user = await freshUser();
    for (const responseJson of ["not json", "{}", "[]", '{"id":"x","response":{}}']) {
      const ceremony = (await flows.startRegistration(user.token)).ceremony ?? ceremonyOf({});
      const reply = await flows.post(
        "/auth/passkeys",
        { challenge_id: ceremony.challengeId, response_json: responseJson },
        bearer(user.token),
      );
      expectRefused(reply, 400, "INVALID_ARGUMENT");
    }
  });
});

describe("signing in with a passkey alone", () => {
  it("opens a session with amr hwk at AAL2 when the authenticator verified the user", async () => {
    const holder = await passkeyHolder();
    const ceremony = await flows.startLogin();
    expect(ceremony.options).toMatchObject({
      rpId: "localhost",
      allowCredentials: [],
      userVerification: "preferred",
    });
    const login = await flows.post("/auth/login", {
      passkey: {
        challenge_id: ceremony.challengeId,
        response_json: JSON.stringify(holder.authenticator.assert(ceremony.options)),
      },
    });
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    const session = await flows.sessionOf(String(login.body.session_token));
    expect(session).toMatchObject({
      amr: ["hwk"],
      aal: 2,
      authentication_methods: ["AUTH_METHOD_PASSKEY_VERIFIED"],
      passkey_ids: [holder.passkeyId],
    });
    const [listed] = await listOwn(holder.token);
    expect(listed?.last_used_at).toBe(wireTime(clock.now()));
    expect(log.audits("login.succeeded").at(-1)).toMatchObject({
      credential: "passkey",
      userId: holder.id,
    });
  });

  it("opens an AAL1 session when the authenticator only saw the user present", async () => {
    const holder = await passkeyHolder(flows.authenticator({ userVerification: false }));
    const login = await flows.login(holder.authenticator);
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    expect(await flows.sessionOf(String(login.body.session_token))).toMatchObject({
      amr: ["hwk"],
      aal: 1,
      authentication_methods: ["AUTH_METHOD_PASSKEY"],
    });
  });

  it("signs in every time with an authenticator that keeps no counter", async () => {
    const holder = await passkeyHolder(flows.authenticator({ counts: false }));
    expect((await flows.login(holder.authenticator)).status).toBe(200);
    expect((await flows.login(holder.authenticator)).status).toBe(200);
  });

  it("refuses a replayed answer, another origin or RP id, and a counter that went backwards", async () => {
    const holder = await passkeyHolder();
    const passkey = await flows.assertion(holder.authenticator);
    expect((await flows.post("/auth/login", { passkey })).status).toBe(200);
    expectRefused(await flows.post("/auth/login", { passkey }), 401, "PASSKEY_INVALID");
    const origin = { origin: "https://evil.example" };
    expectRefused(await flows.login(holder.authenticator, origin), 401, "PASSKEY_INVALID");
    expectRefused(
      await flows.login(holder.authenticator, { rpId: "evil.example" }),
      401,
      "PASSKEY_INVALID",
    );
    expect((await flows.login(holder.authenticator, { counter: 10 })).status).toBe(200);
    expectRefused(await flows.login(holder.authenticator, { counter: 9 }), 401, "PASSKEY_INVALID");
    expectRefused(await flows.login(holder.authenticator, { counter: 10 }), 401, "PASSKEY_INVALID");
    expect((await flows.login(holder.authenticator, { counter: 11 })).status).toBe(200);
    const refusals = log.audits("passkey.refused").filter((line) => line.userId === holder.id);
    expect(refusals.map((line) => line.problem)).toEqual([
      "unknown, used, expired or registration challenge",
      expect.stringContaining("origin"),
      expect.stringContaining("RP ID"),
      expect.stringContaining("counter"),
      expect.stringContaining("counter"),
    ]);
    const failed = log.audits("login.failed").filter((line) => line.credential === "passkey");
    expect(failed.at(-1)).toMatchObject({ reason: "PASSKEY_INVALID", door: "login" });
  });

  it("refuses a registration challenge, an expired one, and an unregistered credential", async () => {
    const holder = await passkeyHolder();
    const registration = (await flows.startRegistration(holder.token)).ceremony ?? ceremonyOf({});
    const signed = holder.authenticator.assert(registration.options);
    const wrongKind = {
      challenge_id: registration.challengeId,
      response_json: JSON.stringify(signed),
    };
    expectRefused(await flows.post("/auth/login", { passkey: wrongKind }), 401, "PASSKEY_INVALID");

    const ceremony = await flows.startLogin();
    clock.advance(sixMinutes);
    const late = {
      challenge_id: ceremony.challengeId,
      response_json: JSON.stringify(holder.authenticator.assert(ceremony.options)),
    };
    expectRefused(await flows.post("/auth/login", { passkey: late }), 401, "PASSKEY_INVALID");

    const stranger = new SoftAuthenticator({ origin: `http://localhost:${keycard.port}` });
    stranger.register({
      rp: { id: "localhost" },
      user: { id: Buffer.from(holder.id).toString("base64url") },
      challenge: "x",
    });
    expectRefused(await flows.login(stranger), 401, "PASSKEY_INVALID");
  });

  it("refuses the passkey of a disabled account like a wrong one", async () => {
    const holder = await passkeyHolder();
    const disabled = await flows.post(`/admin/users/${holder.id}/disable`, {}, admin);
    expect(disabled.status).toBe(200);
    expectRefused(await flows.login(holder.authenticator), 401, "PASSKEY_INVALID");
  });

  it("answers malformed assertions with 400 and never a 5xx", async () => {
    const { challengeId: challenge_id } = await flows.startLogin();
    const bodies: Body[] = [
      { passkey: { challenge_id: "x", response_json: "not json" } },
      { passkey: { challenge_id: "x", response_json: "{}" } },
      { passkey: { challenge_id: "x", response_json: "" } },
      { passkey: { challenge_id: "", response_json: "{}" } },
      { passkey: { challenge_id: "x", response_json: "{}", extra: 1 } },
      { passkey: "text" },
    ];
    for (const body of bodies) {
      expectRefused(await flows.post("/auth/login", body), 400, "INVALID_ARGUMENT");
    }
    const garbage = JSON.stringify({ id: "AAAA", response: { userHandle: "!!", signature: 5 } });
    const odd = await flows.post("/auth/login", {
      passkey: { challenge_id, response_json: garbage },
    });
    expectRefused(odd, 401, "PASSKEY_INVALID");
  });
});

describe("a passkey as the second factor", () => {
  it("follows a password: amr pwd hwk at AAL2, for an account without TOTP and one with", async () => {
    const holder = await passkeyHolder(flows.authenticator({ userVerification: false }));
    const credentials = { email: holder.email, password: holder.password };
    const login = await flows.login(holder.authenticator, {}, credentials);
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    expect(await flows.sessionOf(String(login.body.session_token))).toMatchObject({
      amr: ["pwd", "hwk"],
      aal: 2,
      passkey_ids: [holder.passkeyId],
    });
    const enrolled = await flows.post(`/admin/users/${holder.id}/totp`, {}, admin);
    expect(enrolled.status).toBe(200);
    const withTotp = await flows.login(holder.authenticator, {}, credentials);
    expect(withTotp.status, JSON.stringify(withTotp.body)).toBe(200);
    expect(await flows.sessionOf(String(withTotp.body.session_token))).toMatchObject({
      amr: ["pwd", "hwk"],
      aal: 2,
    });
  });

  it("refuses another account's passkey, and a passkey beside a code or an API key", async () => {
    const holder = await passkeyHolder();
    const other = await passkeyHolder();
    const credentials = { email: holder.email, password: holder.password };
    const foreign = await flows.login(other.authenticator, {}, credentials);
    expectRefused(foreign, 401, "PASSKEY_INVALID");
    for (const extra of [{ totp_code: "123456" }, { recovery_code: "abcd-efgh-jkmn" }]) {
      const both = await flows.login(holder.authenticator, {}, { ...credentials, ...extra });
      expectRefused(both, 400, "INVALID_ARGUMENT");
    }
    const withKey = await flows.login(holder.authenticator, {}, { api_key: "kc_key_x" });
    expectRefused(withKey, 400, "INVALID_ARGUMENT");
    const withoutEmail = await flows.login(holder.authenticator, {}, { password: "x" });
    expectRefused(withoutEmail, 400, "INVALID_ARGUMENT");
    const wrongPassword = await flows.login(
      holder.authenticator,
      {},
      { ...credentials, password: "wrong password" },
    );
    expectRefused(wrongPassword, 401, "INVALID_CREDENTIALS");
  });
});

describe("stepping up with a passkey", () => {
  it("adds hwk to a password session, AAL2 with user verification, and records the passkey", async () => {
    const holder = await passkeyHolder();
    const passkey = await flows.assertion(holder.authenticator);
    const stepped = await flows.post("/auth/reauthenticate", { passkey }, bearer(holder.token));
    expect(stepped.status, JSON.stringify(stepped.body)).toBe(200);
    expect(stepped.body).toMatchObject({ amr: ["pwd", "hwk"], aal: 2 });
    const session = await flows.sessionOf(String(stepped.body.session_token));
    expect(session.passkey_ids).toEqual([holder.passkeyId]);
  });

  it("lifts an AAL1 passkey session to AAL2 with a verified passkey, and refuses another account's", async () => {
    const authenticator = flows.authenticator({ userVerification: false });
    const holder = await passkeyHolder(authenticator);
    const weak = await flows.login(authenticator);
    const token = String(weak.body.session_token);
    const verified = await flows.assertion(authenticator, { userVerified: true });
    const stepped = await flows.post("/auth/reauthenticate", { passkey: verified }, bearer(token));
    expect(stepped.body).toMatchObject({ amr: ["hwk"], aal: 2 });
    const other = await passkeyHolder();
    const foreign = await flows.assertion(other.authenticator);
    const next = String(stepped.body.session_token);
    const refused = await flows.post("/auth/reauthenticate", { passkey: foreign }, bearer(next));
    expectRefused(refused, 401, "PASSKEY_INVALID");
    expect(log.audits("login.failed").at(-1)).toMatchObject({
      credential: "passkey",
      door: "reauthenticate",
      reason: "PASSKEY_INVALID",
    });
    expect(holder.id).not.toBe(other.id);
  });
});

describe("removing a passkey", () => {
  it("ends exactly the sessions it opened or stepped up, and it no longer signs in", async () => {
    const first = flows.authenticator();
    const holder = await passkeyHolder(first);
    const second = flows.authenticator();
    const secondId = await flows.register(holder.token, second);
    const opened = String((await flows.login(first)).body.session_token);
    const byOther = String((await flows.login(second)).body.session_token);
    const password = String(
      (await flows.post("/auth/login", { email: holder.email, password: holder.password })).body
        .session_token,
    );
    const stepUp = async (token: string) => {
      const passkey = await flows.assertion(first);
      const reply = await flows.post("/auth/reauthenticate", { passkey }, bearer(token));
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      return String(reply.body.session_token);
    };
    const stepped = await stepUp(password);
    // Opened with the second passkey, then stepped up with the first: it ends too.
    const openedBySecond = String((await flows.login(second)).body.session_token);
    const mixed = await stepUp(openedBySecond);
    expect((await flows.sessionOf(mixed)).passkey_ids).toEqual([secondId, holder.passkeyId]);

    const removed = await send(`${keycard.baseUrl}/auth/passkeys/${holder.passkeyId}`, {
      method: "DELETE",
      headers: bearer(holder.token),
    });
    expect(removed.status, removed.text).toBe(200);
    expect(removed.body).toEqual({ revoked_sessions: 3 });
    for (const [token, live] of [
      [opened, false],
      [stepped, false],
      [mixed, false],
      [byOther, true],
      [holder.token, true],
    ] as const) {
      const validated = await flows.post("/auth/validate", { token });
      expect(validated.body.active, token).toBe(live);
    }
    expectRefused(await flows.login(first), 401, "PASSKEY_INVALID");
    expect((await listOwn(holder.token)).map((passkey) => passkey.id)).toEqual([secondId]);
    const metrics = await (await fetch(`${keycard.baseUrl}/metrics`)).text();
    const ended = { reason: "passkey_removed" };
    expect(sample(metrics, "keycard_session_lifetime_seconds_count", ended)).toBe(3);
    expect(log.audits("passkey.removed").at(-1)).toMatchObject({
      userId: holder.id,
      passkeyId: holder.passkeyId,
      revokedSessions: 3,
      by: "self",
    });
    const again = await send(`${keycard.baseUrl}/auth/passkeys/${holder.passkeyId}`, {
      method: "DELETE",
      headers: bearer(holder.token),
    });
    expect(again.status).toBe(404);
  });

  it("asks a fresh session", async () => {
    const holder = await passkeyHolder();
    clock.advance(sixMinutes);
    const removed = await send(`${keycard.baseUrl}/auth/passkeys/${holder.passkeyId}`, {
      method: "DELETE",
      headers: bearer(holder.token),
    });
    expect(removed.status).toBe(401);
    expect(removed.body.error).toBe("STEP_UP_REQUIRED");
  });

  it("lets the administrator list a user's passkeys and delete one, ending its sessions", async () => {
    const holder = await passkeyHolder();
    const session = String((await flows.login(holder.authenticator)).body.session_token);
    const listed = await send(`${keycard.baseUrl}/admin/users/${holder.id}/passkeys`, {
      headers: admin,
    });
    expect(listed.status).toBe(200);
    expect((listed.body.passkeys as Body[]).map((passkey) => passkey.id)).toEqual([
      holder.passkeyId,
    ]);
    const path = `/admin/users/${holder.id}/passkeys/${holder.passkeyId}`;
    const deleted = await send(`${keycard.baseUrl}${path}`, { method: "DELETE", headers: admin });
    expect(deleted.body).toEqual({ revoked_sessions: 1 });
    expect((await flows.post("/auth/validate", { token: session })).body.active).toBe(false);
    expect(log.audits("passkey.removed").at(-1)).toMatchObject({
      by: "admin",
      credential: "admin_token",
    });
    const gone = await send(`${keycard.baseUrl}${path}`, { method: "DELETE", headers: admin });
    expect(gone.status).toBe(404);
    const nobody = await send(`${keycard.baseUrl}/admin/users/nobody/passkeys`, { headers: admin });
    expect(nobody.status).toBe(404);
    const asUser = await send(`${keycard.baseUrl}/admin/users/${holder.id}/passkeys`, {
      headers: bearer(holder.token),
    });
    expect(asUser.status).toBe(403);
  });
});

describe("the log", () => {
  it("holds no session token, assertion, signature or public key", async () => {
    const holder = await passkeyHolder();
    const passkey = await flows.assertion(holder.authenticator);
    const login = await flows.post("/auth/login", { passkey });
    const response = JSON.parse(passkey.response_json) as { response: Record<string, string> };
    const text = log.text;
    expect(text).not.toContain(String(login.body.session_token));
    expect(text).not.toContain(holder.token);
    expect(text).not.toContain(response.response.signature);
    expect(text).not.toContain(response.response.clientDataJSON);
    expect(text).not.toContain(response.response.authenticatorData);
    expect(text).not.toMatch(/"level":50/);
  });
});
