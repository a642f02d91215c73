import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import {
  createTestUser,
  loginRest,
  postJson,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import { LogLines } from "../helpers/log-lines.js";
import { bearer, expectJsonError, send } from "../helpers/rest.js";
import { pythonWith } from "../helpers/tools.js";
import { enrollTotpOverRest, totpCode } from "../helpers/totp-codes.js";
import { createGrpcClients, bearer as grpcBearer } from "./grpc-client.js";

/**
 * IssueJwt end to end on Redis (issue 16): a session holder gets a short-lived JWT that a
 * service verifies offline against the JWKS, with jose and with PyJWT, through every door.
 */
const run = promisify(execFile);
const python = pythonWith(["jwt", "cryptography"]);
const verifyScript = fileURLToPath(new URL("../fixtures/jwt/verify_pyjwt.py", import.meta.url));
const log = new LogLines();
let keycard: TestKeycard;

beforeAll(async () => {
  keycard = await startKeycard({
    logger: pino({ level: "info" }, log),
    jwt: {
      algorithm: "EdDSA",
      issuer: "keycard",
      audiences: ["orders", "billing"],
      maxTtlMs: 600_000,
      rotationMs: 30 * 86_400_000,
    },
  });
});
afterAll(() => keycard?.close());

const jwks = () => createRemoteJWKSet(new URL(`${keycard.baseUrl}/.well-known/jwks.json`));

async function issued(token: string, body: Record<string, unknown> = {}) {
  const reply = await postJson(`${keycard.baseUrl}/auth/jwt`, body, bearer(token));
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body as { token: string; expires_in: number; expires_at: string };
}

describe("IssueJwt over REST", () => {
  it("signs a JWT that jose verifies against the JWKS, carrying the session's identity and assurance", async () => {
    const user = await createTestUser(keycard, { roles: ["user", "editor"] });
    const login = await loginRest(keycard, user);
    const jwt = await issued(login.session_token);
    expect(jwt.expires_in).toBe(300);

    const { payload, protectedHeader } = await jwtVerify(jwt.token, jwks(), {
      issuer: "keycard",
      audience: "orders",
    });
    expect(protectedHeader).toMatchObject({ alg: "EdDSA", typ: "JWT" });
    expect(payload).toMatchObject({
      sub: user.id,
      sid: login.session_id,
      aud: "orders",
      amr: ["pwd"],
      acr: "aal1",
      roles: ["user", "editor"],
      email: user.email,
    });
    expect(payload.exp).toBe(Number(payload.iat) + 300);
    expect(payload.nbf).toBe(payload.iat);
    expect(payload.jti).toMatch(/^[\w-]{22}$/);
    expect(Math.abs(Number(payload.auth_time) - Date.now() / 1000)).toBeLessThan(30);
    expect(Date.parse(jwt.expires_at)).toBe(Number(payload.exp) * 1000);
  });

  it("says aal2 and both methods for a password + TOTP login", async () => {
    const user = await createTestUser(keycard);
    const { secret } = await enrollTotpOverRest(keycard.baseUrl, user.id, testAdminToken);
    const login = await loginRest(keycard, user, { totp_code: await totpCode(secret) });
    const { payload } = await jwtVerify((await issued(login.session_token)).token, jwks());
    expect(payload).toMatchObject({ amr: ["pwd", "otp"], acr: "aal2" });
  });

  it("names the audience asked for, and caps the lifetime at JWT_MAX_TTL and at the session's end", async () => {
    const user = await createTestUser(keycard);
    const login = await loginRest(keycard, user);
    const long = await issued(login.session_token, { audience: "billing", ttl_seconds: 86_400 });
    expect(long.expires_in).toBe(600);
    expect((await jwtVerify(long.token, jwks(), { audience: "billing" })).payload.aud).toBe(
      "billing",
    );

    const brief = await loginRest(keycard, user, { duration_seconds: 60 });
    const capped = await issued(brief.session_token, { ttl_seconds: 600 });
    expect(Date.parse(capped.expires_at)).toBe(
      Math.floor(Date.parse(brief.expires_at) / 1000) * 1000,
    );
    expect(capped.expires_in).toBeLessThanOrEqual(60);
  });

  it("verifies with PyJWT fetching the JWKS, as a Python service would", async () => {
    expect(python, "python3 with PyJWT (apt-get install -y python3-jwt)").toBeDefined();
    const user = await createTestUser(keycard);
    const login = await loginRest(keycard, user);
    const { token } = await issued(login.session_token, { audience: "billing" });
    const jwksUrl = `${keycard.baseUrl}/.well-known/jwks.json`;
    const { stdout } = await run(python ?? "", [
      verifyScript,
      jwksUrl,
      token,
      "keycard",
      "billing",
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ sub: user.id, sid: login.session_id, acr: "aal1" });

    const tampered = `${token.slice(0, -4)}${token.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
    const refused = run(python ?? "", [verifyScript, jwksUrl, tampered, "keycard", "billing"]);
    await expect(refused).rejects.toMatchObject({ stdout: "refused: InvalidSignatureError\n" });
    const elsewhere = run(python ?? "", [verifyScript, jwksUrl, token, "keycard", "orders"]);
    await expect(elsewhere).rejects.toMatchObject({ stdout: "refused: InvalidAudienceError\n" });
  });

  it("refuses an audience outside JWT_AUDIENCES, a negative lifetime, and callers without a live session", async () => {
    const user = await createTestUser(keycard);
    const login = await loginRest(keycard, user);
    const url = `${keycard.baseUrl}/auth/jwt`;
    const foreign = await send(url, {
      method: "POST",
      headers: { ...bearer(login.session_token), "content-type": "application/json" },
      body: JSON.stringify({ audience: "payroll" }),
    });
    expectJsonError(
      foreign,
      400,
      "INVALID_ARGUMENT",
      "audience must be one of JWT_AUDIENCES: orders, billing",
    );
    const negative = await postJson(url, { ttl_seconds: -1 }, bearer(login.session_token));
    expect(negative).toMatchObject({ status: 400, body: { error: "INVALID_ARGUMENT" } });
    expect((await postJson(url, {})).status).toBe(401);

    await postJson(`${keycard.baseUrl}/auth/logout`, {}, bearer(login.session_token));
    const revoked = await postJson(url, {}, bearer(login.session_token));
    expect(revoked).toMatchObject({ status: 401, body: { error: "SESSION_REVOKED" } });
  });

  it("rejects a tampered JWT, and a JWT is never a session token", async () => {
    const user = await createTestUser(keycard);
    const login = await loginRest(keycard, user);
    const { token } = await issued(login.session_token);
    const [header, payload, signature] = token.split(".");
    const forged = Buffer.from(payload ?? "", "base64url")
      .toString()
      .replace(/"roles":\[[^\]]*\]/, '"roles":["admin"]');
    const tampered = `${header}.${Buffer.from(forged).toString("base64url")}.${signature}`;
    await expect(jwtVerify(tampered, jwks())).rejects.toMatchObject({
      code: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
    });
    const asSession = await postJson(`${keycard.baseUrl}/auth/validate`, { token });
    expect(asSession.body).toMatchObject({ active: false });
    expect((await send(`${keycard.baseUrl}/auth/me`, { headers: bearer(token) })).status).toBe(401);
  });

  it("audits each JWT issued and never logs a token", async () => {
    const user = await createTestUser(keycard);
    const login = await loginRest(keycard, user);
    const { token } = await issued(login.session_token, { audience: "orders" });
    const { payload } = await jwtVerify(token, jwks());
    expect(log.audits("jwt.issued")).toContainEqual(
      expect.objectContaining({
        userId: user.id,
        sessionId: login.session_id,
        jti: payload.jti,
        kid: decodeProtectedHeader(token).kid,
        audience: "orders",
      }),
    );
    expect(log.text).not.toContain(token.split(".")[2]);
    expect(log.text).not.toContain(login.session_token);
  });
});

describe("IssueJwt over Connect and gRPC", () => {
  it("answers the same JWT contract over Connect", async () => {
    const user = await createTestUser(keycard);
    const login = await loginRest(keycard, user);
    const auth = createClient(
      AuthService,
      createConnectTransport({ baseUrl: keycard.baseUrl, httpVersion: "2" }),
    );
    const answer = await auth.issueJwt(
      { ttlSeconds: 60 },
      { headers: { authorization: `Bearer ${login.session_token}` } },
    );
    expect(answer.expiresIn).toBe(60);
    const { payload } = await jwtVerify(answer.token, jwks());
    expect(payload).toMatchObject({ sub: user.id, sid: login.session_id });
  });

  it("answers the same JWT contract over gRPC", async () => {
    const user = await createTestUser(keycard);
    const login = await loginRest(keycard, user);
    const grpc = createGrpcClients(keycard.port);
    try {
      const answer = await grpc.call(
        "IssueJwt",
        { audience: "billing" },
        grpcBearer(login.session_token),
      );
      const { payload } = await jwtVerify(answer.token, jwks(), { audience: "billing" });
      expect(payload).toMatchObject({ sub: user.id, sid: login.session_id });
      await expect(
        grpc.call("IssueJwt", { audience: "payroll" }, grpcBearer(login.session_token)),
      ).rejects.toMatchObject({ code: 3 });
    } finally {
      grpc.close();
    }
  });
});
