import { Metadata } from "@grpc/grpc-js";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestUser,
  postJson,
  requestJson,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import { LogLines } from "../helpers/log-lines.js";
import { enrollTotpOverRest, totpCodeAtStep } from "../helpers/totp-codes.js";
import { createGrpcClients } from "./grpc-client.js";

const admin = { authorization: `Bearer ${testAdminToken}` };
const client = { "user-agent": "audit-test/2.0" };

describe("the audit log", () => {
  const log = new LogLines();
  let keycard: TestKeycard;

  beforeAll(async () => {
    keycard = await startKeycard({ logger: pino({ level: "info" }, log) });
  });
  afterAll(() => keycard.close());

  it("records API keys, TOTP replays and failed logins with their context and no secret", async () => {
    const user = await createTestUser(keycard);
    const { secret } = await enrollTotpOverRest(keycard.baseUrl, user.id, testAdminToken);
    const created = await postJson(
      `${keycard.baseUrl}/admin/users/${user.id}/api-keys`,
      { name: "ci" },
      admin,
    );
    expect(created.status).toBe(200);
    const key = String(created.body.key);
    const keyId = String((created.body.api_key as Record<string, unknown>).id);

    const code = await totpCodeAtStep(secret, 0);
    const login = await postJson(
      `${keycard.baseUrl}/auth/login`,
      { api_key: key, totp_code: code },
      client,
    );
    expect(login.status).toBe(200);
    const replay = await postJson(
      `${keycard.baseUrl}/auth/login`,
      { api_key: key, totp_code: code },
      client,
    );
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe("TOTP_INVALID");
    const wrong = await postJson(
      `${keycard.baseUrl}/auth/login`,
      { email: user.email, password: "not the password at all" },
      client,
    );
    expect(wrong.status).toBe(401);
    const revoked = await requestJson(`${keycard.baseUrl}/admin/api-keys/${keyId}`, {
      method: "DELETE",
      headers: admin,
    });
    expect(revoked.status).toBe(200);

    expect(log.audits("apikey.created")).toEqual([
      expect.objectContaining({ userId: user.id, apiKeyId: keyId, time: expect.any(Number) }),
    ]);
    expect(log.audits("totp.replayed")).toEqual([expect.objectContaining({ userId: user.id })]);
    expect(log.audits("login.failed")).toEqual([
      expect.objectContaining({
        credential: "api_key",
        reason: "TOTP_INVALID",
        ip: "127.0.0.1",
        userAgent: "audit-test/2.0",
      }),
      expect.objectContaining({ credential: "password", reason: "INVALID_CREDENTIALS" }),
    ]);
    expect(log.audits("apikey.revoked")).toEqual([
      expect.objectContaining({ userId: user.id, apiKeyId: keyId }),
    ]);
    expect(log.audits("session.created")[0]).toMatchObject({
      userId: user.id,
      sessionId: login.body.session_id,
      userAgent: "audit-test/2.0",
    });
    for (const secretText of [key, secret, user.password, String(login.body.session_token)]) {
      expect(log.text).not.toContain(secretText);
    }
  });

  it("names the call's request id on its audit lines and its call log line, at every door", async () => {
    const user = await createTestUser(keycard);
    const credentials = { email: user.email, password: user.password };
    const rest = await postJson(`${keycard.baseUrl}/auth/login`, credentials, {
      "x-request-id": "audit-rest-1",
    });
    expect(rest.status).toBe(200);
    const connect = await fetch(`${keycard.baseUrl}/keycard.v1.AuthService/Login`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "audit-connect-1" },
      body: JSON.stringify(credentials),
    });
    expect(connect.status).toBe(200);
    const grpc = createGrpcClients(keycard.port);
    try {
      const metadata = new Metadata();
      metadata.set("x-request-id", "audit-grpc-1");
      await grpc.call("Login", credentials, metadata);
    } finally {
      grpc.close();
    }
    const unnamed = await postJson(`${keycard.baseUrl}/auth/login`, credentials);
    const generated = unnamed.headers.get("x-request-id") ?? "";
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);

    for (const requestId of ["audit-rest-1", "audit-connect-1", "audit-grpc-1", generated]) {
      const ofCall = log.lines.filter((line) => line.requestId === requestId);
      expect(ofCall.map((line) => line.audit ?? line.msg)).toEqual(
        expect.arrayContaining(["login.succeeded", "session.created"]),
      );
    }
    const refused = await postJson(
      `${keycard.baseUrl}/auth/login`,
      { email: user.email, password: "not the password" },
      { "x-request-id": "audit-refused-1" },
    );
    expect(refused.status).toBe(401);
    const ofRefusal = log.lines.filter((line) => line.requestId === "audit-refused-1");
    expect(ofRefusal.map((line) => line.audit ?? line.msg)).toEqual(
      expect.arrayContaining(["login.failed", "rpc refused"]),
    );
  });
});
