import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyHeaders, keyHolder } from "../helpers/api-key-holder.js";
import {
  restKeycardForSuite,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import { LogLines } from "../helpers/log-lines.js";
import { expectError, type Json, type Rest, restClient } from "../helpers/rest.js";
import { clearOfStepEdge, totpCode, totpCodeAtStep } from "../helpers/totp-codes.js";

const admin = { authorization: `Bearer ${testAdminToken}` };

describe("hybrid mode (AUTH_MODE=hybrid)", () => {
  const log = new LogLines();
  const logLines = log.lines;
  let keycard: TestKeycard;
  let rest: Rest;

  beforeAll(async () => {
    keycard = await startKeycard({ authMode: "hybrid", logger: pino({ level: "info" }, log) });
    rest = restClient(keycard.baseUrl);
  });
  afterAll(() => keycard.close());

  it("authenticates GET /auth/me with X-API-Key and X-TOTP-Code, accepting each code once", async () => {
    const holder = await keyHolder(rest, true);
    const code = await totpCode(holder.secret);

    const me = await rest.get("/auth/me", keyHeaders(holder.key, code));
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({
      id: holder.id,
      email: holder.email,
      display_name: "Alice",
      totp_enabled: true,
    });
    expect(me.body.session).toBeUndefined();

    const replay = await rest.get("/auth/me", keyHeaders(holder.key, code));
    expectError(replay, 401, "TOTP_INVALID", "Invalid or already used TOTP code");

    const next = await rest.get(
      "/auth/me",
      keyHeaders(holder.key, await totpCodeAtStep(holder.secret, 1)),
    );
    expect(next.status).toBe(200);
  });

  it("authenticates GET /health with X-API-Key and X-TOTP-Code, accepting each code once", async () => {
    const holder = await keyHolder(rest, true, "Carol");
    const code = await totpCode(holder.secret);

    const health = await rest.get("/health", keyHeaders(holder.key, code));
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: "ok", user: "Carol", session_id: "", expires_at: null });

    const replay = await rest.get("/health", keyHeaders(holder.key, code));
    expectError(replay, 401, "TOTP_INVALID");
  });

  it("asks for the code when X-API-Key comes without X-TOTP-Code, and refuses a wrong one", async () => {
    const holder = await keyHolder(rest, true);

    expectError(
      await rest.get("/auth/me", keyHeaders(holder.key)),
      401,
      "TOTP_REQUIRED",
      "TOTP code required",
    );
    expectError(await rest.get("/auth/me", keyHeaders(holder.key, "")), 401, "TOTP_REQUIRED");
    await clearOfStepEdge();
    for (const code of ["12345", "abcdef", "1234567", await totpCodeAtStep(holder.secret, 2)]) {
      expectError(await rest.get("/auth/me", keyHeaders(holder.key, code)), 401, "TOTP_INVALID");
    }
  });

  it("refuses an unknown, a malformed or a revoked X-API-Key with 401 INVALID_CREDENTIALS", async () => {
    const holder = await keyHolder(rest, false);
    expectError(
      await rest.get("/auth/me", keyHeaders(`kc_key_${"B".repeat(43)}`, "123456")),
      401,
      "INVALID_CREDENTIALS",
      "Invalid API key",
    );
    expectError(
      await rest.get("/auth/me", keyHeaders("bdrk_abc123", "123456")),
      401,
      "INVALID_CREDENTIALS",
    );

    const revoked = await rest.del(`/admin/api-keys/${holder.keyId}`, admin);
    expect(revoked.status).toBe(200);
    expectError(
      await rest.get("/health", keyHeaders(holder.key)),
      401,
      "INVALID_CREDENTIALS",
      "Invalid API key",
    );
  });

  it("lets a skip_totp key alone authenticate each request and list the user's sessions", async () => {
    const holder = await keyHolder(rest, false);
    const login = await rest.post("/auth/login", { api_key: holder.key });
    expect(login.status).toBe(200);

    for (let i = 0; i < 2; i += 1) {
      const me = await rest.get("/auth/me", keyHeaders(holder.key));
      expect(me.status).toBe(200);
      expect(me.body.user).toMatchObject({ id: holder.id });
    }
    const sessions = await rest.get("/auth/sessions", keyHeaders(holder.key));
    expect(sessions.status).toBe(200);
    expect(sessions.body.sessions).toEqual([
      expect.objectContaining({
        id: login.body.session_id,
        current: false,
        api_key_id: holder.keyId,
      }),
    ]);
  });

  it("introspects an API key with its code in POST /auth/validate as CREDENTIAL_KIND_API_KEY, spending the code", async () => {
    const holder = await keyHolder(rest, true);
    const code = await totpCode(holder.secret);

    const valid = await rest.post("/auth/validate", { token: holder.key, totp_code: code });
    expect(valid.status).toBe(200);
    expect(valid.body).toMatchObject({
      active: true,
      reason: "INACTIVE_REASON_UNSPECIFIED",
      kind: "CREDENTIAL_KIND_API_KEY",
      subject: holder.id,
      session_id: "",
      email: holder.email,
      display_name: "Alice",
      roles: ["reader"],
    });

    const replay = await rest.post("/auth/validate", { token: holder.key, totp_code: code });
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({
      active: false,
      reason: "INACTIVE_REASON_TOTP_INVALID",
      subject: "",
    });
  });

  it("introspects the X-API-Key and X-TOTP-Code headers in POST /auth/validate when the body names no token", async () => {
    const holder = await keyHolder(rest, true);
    const code = await totpCode(holder.secret);

    const reply = await rest.post("/auth/validate", {}, keyHeaders(holder.key, code));
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      active: true,
      kind: "CREDENTIAL_KIND_API_KEY",
      subject: holder.id,
    });
  });

  it("answers Validate of an API key without a code, with a wrong one, unknown or revoked, with active false and the reason", async () => {
    const holder = await keyHolder(rest, true);
    const answers: Json[] = [];
    const validate = async (body: Json): Promise<void> => {
      const reply = await rest.post("/auth/validate", body);
      expect(reply.status).toBe(200);
      answers.push({ active: reply.body.active, reason: reply.body.reason });
    };

    await validate({ token: holder.key });
    await validate({ token: holder.key, totp_code: "abcdef" });
    await clearOfStepEdge();
    await validate({ token: holder.key, totp_code: await totpCodeAtStep(holder.secret, 2) });
    await validate({ token: `kc_key_${"C".repeat(43)}`, totp_code: "123456" });
    expect((await rest.del(`/admin/api-keys/${holder.keyId}`, admin)).status).toBe(200);
    await validate({ token: holder.key, totp_code: await totpCode(holder.secret) });

    expect(answers).toEqual([
      { active: false, reason: "INACTIVE_REASON_TOTP_REQUIRED" },
      { active: false, reason: "INACTIVE_REASON_TOTP_INVALID" },
      { active: false, reason: "INACTIVE_REASON_TOTP_INVALID" },
      { active: false, reason: "INACTIVE_REASON_UNKNOWN" },
      { active: false, reason: "INACTIVE_REASON_REVOKED" },
    ]);
  });

  it("still authenticates session tokens and introspects them as CREDENTIAL_KIND_SESSION", async () => {
    const holder = await keyHolder(rest, true);
    const login = await rest.post("/auth/login", {
      api_key: holder.key,
      totp_code: await totpCode(holder.secret),
    });
    expect(login.status).toBe(200);
    const token = String(login.body.session_token);

    const valid = await rest.post("/auth/validate", { token });
    expect(valid.body).toMatchObject({
      active: true,
      kind: "CREDENTIAL_KIND_SESSION",
      subject: holder.id,
      session_id: login.body.session_id,
    });
    const me = await rest.get("/auth/me", { "x-session-token": token });
    expect(me.status).toBe(200);
    expect(me.body.session).toMatchObject({ id: login.body.session_id, current: true });
  });

  it("refuses POST /auth/refresh and /auth/logout with only an API key: 400 SESSION_REQUIRED", async () => {
    const holder = await keyHolder(rest, true);

    const refresh = await rest.post(
      "/auth/refresh",
      undefined,
      keyHeaders(holder.key, await totpCode(holder.secret)),
    );
    expectError(refresh, 400, "SESSION_REQUIRED");
    const logout = await rest.post(
      "/auth/logout",
      undefined,
      keyHeaders(holder.key, await totpCodeAtStep(holder.secret, 1)),
    );
    expectError(logout, 400, "SESSION_REQUIRED");
  });

  it("prefers the session token when a request carries both, and spends no code", async () => {
    const holder = await keyHolder(rest, true);
    const login = await rest.post("/auth/login", {
      api_key: holder.key,
      totp_code: await totpCode(holder.secret),
    });
    const token = String(login.body.session_token);
    const next = await totpCodeAtStep(holder.secret, 1);

    const me = await rest.get("/auth/me", {
      authorization: `Bearer ${token}`,
      ...keyHeaders(holder.key, next),
    });
    expect(me.status).toBe(200);
    expect(me.body.session).toMatchObject({ id: login.body.session_id });
    const withNext = await rest.post("/auth/login", { api_key: holder.key, totp_code: next });
    expect(withNext.status).toBe(200);
  });

  it("audits per-request API key use and API key logins with the credential kind", async () => {
    const holder = await keyHolder(rest, false);
    const login = await rest.post("/auth/login", { api_key: holder.key });
    expect(login.status).toBe(200);
    expect((await rest.get("/auth/me", keyHeaders(holder.key))).status).toBe(200);

    expect(logLines).toContainEqual(
      expect.objectContaining({
        audit: "login.succeeded",
        credential: "api_key",
        userId: holder.id,
      }),
    );
    expect(logLines).toContainEqual(
      expect.objectContaining({
        audit: "credential.used",
        credential: "api_key",
        userId: holder.id,
      }),
    );
    const text = JSON.stringify(logLines);
    expect(text).not.toContain(holder.key);
    expect(text).not.toContain(String(login.body.session_token));
  });
});

describe("session mode (AUTH_MODE=session)", () => {
  const rest = restKeycardForSuite({ authMode: "session" });

  it("does not accept X-API-Key and X-TOTP-Code on /auth/me or /health, and spends no code", async () => {
    const holder = await keyHolder(rest, true);
    const code = await totpCode(holder.secret);

    expectError(await rest.get("/auth/me", keyHeaders(holder.key, code)), 401, "SESSION_INVALID");
    expectError(await rest.get("/health", keyHeaders(holder.key, code)), 401, "SESSION_INVALID");
    const skipKey = await keyHolder(rest, false);
    expectError(await rest.get("/auth/me", keyHeaders(skipKey.key)), 401, "SESSION_INVALID");

    // Logging in with the key is how session mode works; the code was never looked at.
    const login = await rest.post("/auth/login", { api_key: holder.key, totp_code: code });
    expect(login.status).toBe(200);
  });

  it("answers Validate of an API key with active false and INACTIVE_REASON_MALFORMED, spending no code", async () => {
    const holder = await keyHolder(rest, true);
    const code = await totpCode(holder.secret);

    const reply = await rest.post("/auth/validate", { token: holder.key, totp_code: code });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      active: false,
      reason: "INACTIVE_REASON_MALFORMED",
      subject: "",
      kind: "CREDENTIAL_KIND_UNSPECIFIED",
    });
    const login = await rest.post("/auth/login", { api_key: holder.key, totp_code: code });
    expect(login.status).toBe(200);
  });
});
