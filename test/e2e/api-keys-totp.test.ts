import { createHash, randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createKeycardServer } from "../../src/app/wiring.js";
import { systemClock } from "../../src/domain/clock.js";
import { SecretKeeper } from "../../src/service/secret-keeper.js";
import { createArgon2Hasher } from "../../src/store/infra/password-hasher.js";
import { waitUntilReachable } from "../../src/store/reachable.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  createUserOverRest,
  type RestUser,
  restKeycardForSuite,
  startKeycard,
  type TestKeycard,
  testAdminToken,
  testEncryptionKey,
  testSettings,
} from "../helpers/keycard.js";
import { dumpNamespace, scanKeys } from "../helpers/redis-scan.js";
import {
  bearer,
  expectJsonError,
  type Json,
  loginReplyFields,
  type Rest,
  restClient,
  rfc3339,
  stackTrace,
} from "../helpers/rest.js";
import {
  clearOfStepEdge,
  enrollTotpOverRest,
  totpCode,
  totpCodeAtStep,
  totpStepSeconds,
} from "../helpers/totp-codes.js";

const admin = { authorization: `Bearer ${testAdminToken}` };
const apiKeyPattern = /^kc_key_[A-Za-z0-9_-]{43}$/;
const sessionTokenPattern = /^kc_sess_[A-Za-z0-9_-]{43}$/;
/** The stored form of an encrypted secret: `v2.<key id>.<iv>.<tag>.<ciphertext>`, base64url. */
const encryptedForm = /^v2\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Issues an API key through POST /admin/users/{id}/api-keys; returns its id and the key. */
async function createKey(
  rest: Rest,
  userId: string,
  fields: Json = {},
): Promise<{ id: string; key: string; apiKey: Json }> {
  const reply = await rest.post(
    `/admin/users/${userId}/api-keys`,
    { name: "laptop", ...fields },
    admin,
  );
  expect(reply.status).toBe(200);
  const apiKey = reply.body.api_key as Json;
  return { id: String(apiKey.id), key: String(reply.body.key), apiKey };
}

/** A user with confirmed TOTP and a key that needs its code; the next two steps are unspent. */
async function totpKeyHolder(
  rest: Rest,
  displayName = "Alice",
): Promise<RestUser & { secret: string; key: string; keyId: string }> {
  const user = await createUserOverRest(rest, displayName);
  const { secret } = await enrollTotpOverRest(rest.baseUrl, user.id, testAdminToken);
  const { id, key } = await createKey(rest, user.id);
  return { ...user, secret, key, keyId: id };
}

function sessionHeader(token: string): Record<string, string> {
  return { "x-session-token": token };
}

describe("API keys and TOTP over REST", () => {
  const rest = restKeycardForSuite();

  describe("the reference 000 flow", () => {
    it("runs end to end: admin setup, login with api_key + an oathtool code, both headers, refresh, logout", async () => {
      // An administrator creates the user...
      const created = await rest.post(
        "/admin/users",
        {
          email: `alice-${randomUUID().slice(0, 8)}@example.com`,
          display_name: "Alice",
          password: "correct horse battery staple",
        },
        admin,
      );
      expect(created.status).toBe(200);
      const user = created.body.user as Json;
      expect(user).toMatchObject({ display_name: "Alice", totp_enabled: false });
      const userId = String(user.id);

      // ...enrolls TOTP: the secret in the three forms people need...
      const enrolled = await rest.post(`/admin/users/${userId}/totp`, {}, admin);
      expect(enrolled.status).toBe(200);
      const secret = String(enrolled.body.secret);
      expect(secret).toMatch(/^[A-Z2-7]{16,}=*$/);
      const uri = String(enrolled.body.otpauth_uri);
      expect(uri.startsWith("otpauth://totp/")).toBe(true);
      const parsedUri = new URL(uri);
      expect(parsedUri.searchParams.get("secret")).toBe(secret);
      expect(parsedUri.searchParams.get("issuer")).toBe("keycard");
      expect(parsedUri.searchParams.get("algorithm") ?? "SHA1").toBe("SHA1");
      expect(parsedUri.searchParams.get("digits") ?? "6").toBe("6");
      expect(parsedUri.searchParams.get("period") ?? "30").toBe("30");
      expect(decodeURIComponent(parsedUri.pathname)).toContain(String(user.email));
      const svg = String(enrolled.body.qr_code_svg);
      expect(svg).toMatch(/^(<svg|<\?xml)/);
      expect(svg).toContain("</svg>");

      // ...confirms it with a code from the authenticator (one step old: clock drift)...
      await clearOfStepEdge();
      const confirmed = await rest.post(
        `/admin/users/${userId}/totp/confirm`,
        { code: await totpCodeAtStep(secret, -1) },
        admin,
      );
      expect(confirmed.status).toBe(200);
      expect(confirmed.body.user).toMatchObject({ id: userId, totp_enabled: true });

      // ...and issues an API key, shown this once.
      const issued = await rest.post(`/admin/users/${userId}/api-keys`, { name: "laptop" }, admin);
      expect(issued.status).toBe(200);
      const apiKey = String(issued.body.key);
      expect(apiKey).toMatch(apiKeyPattern);
      const keyRecord = issued.body.api_key as Json;
      expect(keyRecord).toMatchObject({
        user_id: userId,
        name: "laptop",
        revoked: false,
        skip_totp: false,
      });
      const hint = String(keyRecord.hint);
      expect(hint.startsWith("kc_key_")).toBe(true);
      expect(apiKey.startsWith(hint)).toBe(true);
      expect(hint.length).toBeLessThan(apiKey.length - 32);
      const listed = await rest.get(`/admin/users/${userId}/api-keys`, admin);
      expect(listed.status).toBe(200);
      expect(listed.body.api_keys).toEqual([expect.objectContaining({ id: keyRecord.id, hint })]);
      expect(listed.text).not.toContain(apiKey);
      expect(listed.text).not.toContain(apiKey.slice(hint.length));

      // Step 1: login with API key + TOTP code, exactly as the reference's curl does.
      const code = await totpCode(secret);
      const login = await rest.post("/auth/login", { api_key: apiKey, totp_code: code });
      expect(login.status).toBe(200);
      expect(Object.keys(login.body).sort()).toEqual(loginReplyFields);
      expect(login.body).toEqual({
        session_token: expect.stringMatching(sessionTokenPattern),
        session_id: expect.any(String),
        expires_at: expect.stringMatching(rfc3339),
        expires_in: 43_200,
        user: "Alice",
        message: "Authenticated successfully. Use this token for 12 hours.",
      });
      const left = (Date.parse(String(login.body.expires_at)) - Date.now()) / 1000;
      expect(left).toBeGreaterThan(43_190);
      expect(left).toBeLessThanOrEqual(43_200);
      const token = String(login.body.session_token);
      const sessionId = String(login.body.session_id);

      // Step 3: the token works with both headers, no TOTP needed.
      for (const headers of [sessionHeader(token), bearer(token)]) {
        const health = await rest.get("/health", headers);
        expect(health.status).toBe(200);
        expect(health.body).toMatchObject({ status: "ok", user: "Alice", session_id: sessionId });

        const sessions = await rest.get("/auth/sessions", headers);
        expect(sessions.status).toBe(200);
        expect(sessions.body.sessions).toEqual([
          expect.objectContaining({
            id: sessionId,
            current: true,
            auth_methods: ["api_key", "totp"],
            authentication_methods: ["AUTH_METHOD_API_KEY", "AUTH_METHOD_TOTP"],
            api_key_id: keyRecord.id,
          }),
        ]);
      }

      // Refresh: a new token with an extended expiry; the session stays the same.
      const refreshed = await rest.post("/auth/refresh", undefined, sessionHeader(token));
      expect(refreshed.status).toBe(200);
      expect(refreshed.body).toMatchObject({
        session_token: expect.stringMatching(sessionTokenPattern),
        session_id: sessionId,
        expires_at: expect.stringMatching(rfc3339),
        expires_in: 43_200,
      });
      const newToken = String(refreshed.body.session_token);
      expect(newToken).not.toBe(token);
      await expect(rest.get("/health", sessionHeader(newToken))).resolves.toMatchObject({
        status: 200,
      });

      // Logout: the token is revoked.
      const logout = await rest.post("/auth/logout", undefined, sessionHeader(newToken));
      expect(logout.status).toBe(200);
      expect(logout.body).toEqual({ message: "Logged out successfully" });
      expectJsonError(await rest.get("/health", sessionHeader(newToken)), 401, "SESSION_REVOKED");
    });
  });

  describe("TOTP codes", () => {
    it("accepts a code once: the same code again answers 401 TOTP_INVALID", async () => {
      const holder = await totpKeyHolder(rest);
      const code = await totpCode(holder.secret);

      const first = await rest.post("/auth/login", { api_key: holder.key, totp_code: code });
      expect(first.status).toBe(200);
      const replay = await rest.post("/auth/login", { api_key: holder.key, totp_code: code });
      expectJsonError(replay, 401, "TOTP_INVALID", "Invalid or already used TOTP code");

      // The key itself is fine: the next step's code still logs in.
      const next = await rest.post("/auth/login", {
        api_key: holder.key,
        totp_code: await totpCodeAtStep(holder.secret, 1),
      });
      expect(next.status).toBe(200);
    });

    it("refuses a password login that replays a code already spent on an API key login", async () => {
      const holder = await totpKeyHolder(rest);
      const code = await totpCode(holder.secret);
      const byKey = await rest.post("/auth/login", { api_key: holder.key, totp_code: code });
      expect(byKey.status).toBe(200);

      const byPassword = await rest.post("/auth/login", {
        email: holder.email,
        password: holder.password,
        totp_code: code,
      });
      expectJsonError(byPassword, 401, "TOTP_INVALID");
    });

    it("refuses codes two steps ahead or behind with 401 TOTP_INVALID and accepts the current one", async () => {
      const holder = await totpKeyHolder(rest);
      await clearOfStepEdge();
      const now = Date.now();
      const ahead = await totpCodeAtStep(holder.secret, 2, now);
      const behind = await totpCodeAtStep(holder.secret, -2, now);

      const aheadReply = await rest.post("/auth/login", { api_key: holder.key, totp_code: ahead });
      expectJsonError(aheadReply, 401, "TOTP_INVALID");
      const behindReply = await rest.post("/auth/login", {
        api_key: holder.key,
        totp_code: behind,
      });
      expectJsonError(behindReply, 401, "TOTP_INVALID");

      const current = await rest.post("/auth/login", {
        api_key: holder.key,
        totp_code: await totpCode(holder.secret),
      });
      expect(current.status).toBe(200);
    });

    it("answers malformed codes with 401 (TOTP_REQUIRED when empty, TOTP_INVALID otherwise), never 500, and spends nothing", async () => {
      const holder = await totpKeyHolder(rest);
      const attempts: { code: unknown; status: number; error: unknown }[] = [];
      const malformed: unknown[] = [
        "12345",
        "abcdef",
        "1234567",
        "",
        null,
        "12345a",
        " 12345",
        "123 456",
        "١٢٣٤٥٦",
        "0".repeat(10_000),
      ];
      for (const code of malformed) {
        for (const credentials of [
          { api_key: holder.key },
          { email: holder.email, password: holder.password },
        ]) {
          const reply = await rest.post("/auth/login", { ...credentials, totp_code: code });
          expect(reply.text).not.toMatch(stackTrace);
          attempts.push({ code, status: reply.status, error: reply.body.error });
        }
      }
      expect(attempts).toEqual(
        malformed.flatMap((code) => {
          const error = code === "" || code === null ? "TOTP_REQUIRED" : "TOTP_INVALID";
          return [
            { code, status: 401, error },
            { code, status: 401, error },
          ];
        }),
      );

      // A code of the wrong JSON type is a malformed request, not a server error.
      const numeric = await rest.post("/auth/login", { api_key: holder.key, totp_code: 123456 });
      expectJsonError(numeric, 400, "INVALID_ARGUMENT");

      // None of that spent a step: the current code still logs in.
      const good = await rest.post("/auth/login", {
        api_key: holder.key,
        totp_code: await totpCode(holder.secret),
      });
      expect(good.status).toBe(200);
    });

    it("asks a password user with TOTP for a code: TOTP_REQUIRED without one, INVALID_CREDENTIALS for a wrong password, 200 with a good code", async () => {
      const user = await createUserOverRest(rest, "Bob");
      const { secret } = await enrollTotpOverRest(rest.baseUrl, user.id, testAdminToken);

      const noCode = await rest.post("/auth/login", { email: user.email, password: user.password });
      expect(noCode.status).toBe(401);
      expect(noCode.body).toEqual({ error: "TOTP_REQUIRED", message: "TOTP code required" });

      const wrongPassword = await rest.post("/auth/login", {
        email: user.email,
        password: "not the password",
      });
      expectJsonError(wrongPassword, 401, "INVALID_CREDENTIALS");
      expect(wrongPassword.body.message).not.toBe(noCode.body.message);

      // A wrong password with a good code is refused before the code is looked at...
      const code = await totpCode(secret);
      const wrongPasswordGoodCode = await rest.post("/auth/login", {
        email: user.email,
        password: "not the password",
        totp_code: code,
      });
      expectJsonError(wrongPasswordGoodCode, 401, "INVALID_CREDENTIALS");

      // ...so the same code still works with the right password.
      const good = await rest.post("/auth/login", {
        email: user.email,
        password: user.password,
        totp_code: code,
      });
      expect(good.status).toBe(200);
      expect(good.body.user).toBe("Bob");
      const sessions = await rest.get("/auth/sessions", bearer(String(good.body.session_token)));
      expect(sessions.body.sessions).toEqual([
        expect.objectContaining({
          auth_methods: ["password", "totp"],
          authentication_methods: ["AUTH_METHOD_PASSWORD", "AUTH_METHOD_TOTP"],
          api_key_id: "",
        }),
      ]);
    });

    it("confirms enrollment only with a valid code: a wrong one answers 400 and leaves TOTP off", async () => {
      const user = await createUserOverRest(rest);
      const pendingConfirm = await rest.post(
        `/admin/users/${user.id}/totp/confirm`,
        { code: "123456" },
        admin,
      );
      expectJsonError(pendingConfirm, 400, "INVALID_ARGUMENT");

      const enrolled = await rest.post(`/admin/users/${user.id}/totp`, {}, admin);
      const secret = String(enrolled.body.secret);
      const wrong = await rest.post(
        `/admin/users/${user.id}/totp/confirm`,
        { code: await totpCodeAtStep(secret, 10) },
        admin,
      );
      expectJsonError(wrong, 400, "INVALID_ARGUMENT");

      // Still pending: a password login needs no code yet.
      const before = await rest.post("/auth/login", { email: user.email, password: user.password });
      expect(before.status).toBe(200);

      await clearOfStepEdge();
      const right = await rest.post(
        `/admin/users/${user.id}/totp/confirm`,
        { code: await totpCodeAtStep(secret, -1) },
        admin,
      );
      expect(right.status).toBe(200);
      expect(right.body.user).toMatchObject({ totp_enabled: true });
      const after = await rest.post("/auth/login", { email: user.email, password: user.password });
      expectJsonError(after, 401, "TOTP_REQUIRED", "TOTP code required");
    });
    it("spends the code that confirmed enrollment: logging in with it answers TOTP_INVALID", async () => {
      const user = await createUserOverRest(rest);
      const enrolled = await rest.post(`/admin/users/${user.id}/totp`, {}, admin);
      const secret = String(enrolled.body.secret);
      const code = await totpCode(secret);
      const confirmed = await rest.post(`/admin/users/${user.id}/totp/confirm`, { code }, admin);
      expect(confirmed.status).toBe(200);
      const { key } = await createKey(rest, user.id);

      const login = await rest.post("/auth/login", { api_key: key, totp_code: code });
      expectJsonError(login, 401, "TOTP_INVALID");
      const byPassword = await rest.post("/auth/login", {
        email: user.email,
        password: user.password,
        totp_code: code,
      });
      expectJsonError(byPassword, 401, "TOTP_INVALID");
    });
  });

  describe("API keys", () => {
    it("logs in with a skip_totp key and no code; the session's only method is api_key", async () => {
      const user = await createUserOverRest(rest);
      const { id, key, apiKey } = await createKey(rest, user.id, { skip_totp: true });
      expect(apiKey.skip_totp).toBe(true);

      const login = await rest.post("/auth/login", { api_key: key });
      expect(login.status).toBe(200);
      expect(login.body.user).toBe(user.displayName);
      const sessions = await rest.get("/auth/sessions", bearer(String(login.body.session_token)));
      expect(sessions.body.sessions).toEqual([
        expect.objectContaining({
          auth_methods: ["api_key"],
          authentication_methods: ["AUTH_METHOD_API_KEY"],
          api_key_id: id,
        }),
      ]);
    });

    it("refuses a TOTP key of a user who never enrolled TOTP with 400 TOTP_NOT_ENROLLED", async () => {
      const user = await createUserOverRest(rest);
      const { key } = await createKey(rest, user.id);

      const login = await rest.post("/auth/login", { api_key: key, totp_code: "123456" });
      expectJsonError(login, 400, "TOTP_NOT_ENROLLED");
      const noCode = await rest.post("/auth/login", { api_key: key });
      expectJsonError(noCode, 400, "TOTP_NOT_ENROLLED");
    });

    it("refuses creating a key that has already expired or has no name with 400", async () => {
      const user = await createUserOverRest(rest);
      const past = await rest.post(
        `/admin/users/${user.id}/api-keys`,
        { name: "old", expires_at: new Date(Date.now() - 1_000).toISOString() },
        admin,
      );
      expectJsonError(past, 400, "INVALID_ARGUMENT");
      const unnamed = await rest.post(`/admin/users/${user.id}/api-keys`, { name: " " }, admin);
      expectJsonError(unnamed, 400, "INVALID_ARGUMENT");
      const nobody = await rest.post("/admin/users/nobody/api-keys", { name: "x" }, admin);
      expectJsonError(nobody, 404, "NOT_FOUND");
    });

    it("revokes the sessions a key opened when the key is revoked, not the user's other sessions", async () => {
      const user = await createUserOverRest(rest);
      const revoked = await createKey(rest, user.id, { name: "stolen", skip_totp: true });
      const kept = await createKey(rest, user.id, { name: "kept", skip_totp: true });
      const tokensOf = async (key: string, count: number): Promise<string[]> => {
        const tokens: string[] = [];
        for (let i = 0; i < count; i += 1) {
          const login = await rest.post("/auth/login", { api_key: key });
          expect(login.status).toBe(200);
          tokens.push(String(login.body.session_token));
        }
        return tokens;
      };
      const revokedTokens = await tokensOf(revoked.key, 2);
      const [keptToken] = await tokensOf(kept.key, 1);
      const passwordLogin = await rest.post("/auth/login", {
        email: user.email,
        password: user.password,
      });
      expect(passwordLogin.status).toBe(200);
      const passwordToken = String(passwordLogin.body.session_token);

      const revoke = await rest.del(`/admin/api-keys/${revoked.id}`, admin);
      expect(revoke.status).toBe(200);
      expect(revoke.body).toEqual({
        api_key: expect.objectContaining({ id: revoked.id, revoked: true }),
        revoked_sessions: 2,
      });

      for (const token of revokedTokens) {
        expectJsonError(await rest.get("/auth/me", bearer(token)), 401, "SESSION_REVOKED");
      }
      for (const token of [String(keptToken), passwordToken]) {
        await expect(rest.get("/auth/me", bearer(token))).resolves.toMatchObject({ status: 200 });
      }

      const again = await rest.post("/auth/login", { api_key: revoked.key });
      expectJsonError(again, 401, "INVALID_CREDENTIALS", "Invalid API key");
      const listed = await rest.get(`/admin/users/${user.id}/api-keys`, admin);
      expect(listed.body.api_keys).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ id: revoked.id, revoked: true }),
          expect.objectContaining({ id: kept.id, revoked: false }),
        ]),
      );
    });

    it("revokes a key's session even after it was refreshed", async () => {
      const user = await createUserOverRest(rest);
      const { id, key } = await createKey(rest, user.id, { skip_totp: true });
      const login = await rest.post("/auth/login", { api_key: key });
      const refreshed = await rest.post(
        "/auth/refresh",
        undefined,
        sessionHeader(String(login.body.session_token)),
      );
      expect(refreshed.status).toBe(200);

      const revoke = await rest.del(`/admin/api-keys/${id}`, admin);
      expect(revoke.body.revoked_sessions).toBe(1);
      for (const token of [login.body.session_token, refreshed.body.session_token]) {
        expectJsonError(await rest.get("/auth/me", bearer(String(token))), 401, "SESSION_REVOKED");
      }
    });

    it("refuses unknown and garbage keys alike with 401 INVALID_CREDENTIALS", async () => {
      const unknown = `kc_key_${"A".repeat(43)}`;
      for (const key of [unknown, "kc_key_short", "bdrk_abc123", "x".repeat(5_000)]) {
        const reply = await rest.post("/auth/login", { api_key: key, totp_code: "123456" });
        expectJsonError(reply, 401, "INVALID_CREDENTIALS", "Invalid API key");
      }
      expectJsonError(await rest.del("/admin/api-keys/no-such-key", admin), 404, "NOT_FOUND");
    });

    it("refuses the key of a disabled user", async () => {
      const user = await createUserOverRest(rest);
      const { key } = await createKey(rest, user.id, { skip_totp: true });
      const login = await rest.post("/auth/login", { api_key: key });
      expect(login.status).toBe(200);

      const disabled = await rest.post(`/admin/users/${user.id}/disable`, {}, admin);
      expect(disabled.status).toBe(200);
      expect(disabled.body.revoked_sessions).toBe(1);
      expectJsonError(await rest.post("/auth/login", { api_key: key }), 401, "INVALID_CREDENTIALS");
    });
  });

  describe("encryption at rest", () => {
    it("stores the TOTP secret only encrypted and the API key only as a keyed hash", async () => {
      const user = await createUserOverRest(rest);
      const enrolled = await rest.post(`/admin/users/${user.id}/totp`, {}, admin);
      const secret = String(enrolled.body.secret);
      const { key } = await createKey(rest, user.id);
      const keeper = new SecretKeeper(testEncryptionKey);

      const redis = new Redis(inject("redisUrl"), { lazyConnect: true });
      try {
        await redis.connect();
        const [userKey] = await scanKeys(redis, `*:{u:${user.id}}:user`);
        expect(userKey).toBeDefined();
        const namespace = String(userKey).slice(0, String(userKey).indexOf(":{u:"));
        expect(namespace).not.toBe("");

        // Pending enrollment: the secret waits encrypted.
        const pending = await redis.hgetall(String(userKey));
        const pendingValues = Object.values(pending).filter((value) => encryptedForm.test(value));
        expect(pendingValues).toHaveLength(1);
        expect(keeper.decrypt(String(pendingValues[0]))).toBe(secret);
        await expectAbsent(redis, namespace, secret, key);

        await clearOfStepEdge();
        const confirmed = await rest.post(
          `/admin/users/${user.id}/totp/confirm`,
          { code: await totpCodeAtStep(secret, -1) },
          admin,
        );
        expect(confirmed.status).toBe(200);
        const login = await rest.post("/auth/login", {
          api_key: key,
          totp_code: await totpCode(secret),
        });
        expect(login.status).toBe(200);

        // Confirmed: still only the encrypted form, which really is the secret.
        const stored = await redis.hgetall(String(userKey));
        const encrypted = Object.values(stored).filter((value) => encryptedForm.test(value));
        expect(encrypted).toHaveLength(1);
        expect(keeper.decrypt(String(encrypted[0]))).toBe(secret);
        expect(() => new SecretKeeper(Buffer.alloc(32, 8)).decrypt(String(encrypted[0]))).toThrow();
        const text = await expectAbsent(redis, namespace, secret, key);
        expect(text).toContain(String(encrypted[0]));
        expect(text).not.toContain(String(login.body.session_token));
      } finally {
        redis.disconnect();
      }
    });
  });

  describe("with two keycard servers on one Redis namespace", () => {
    let first: TwinServer;
    let second: TwinServer;

    beforeAll(async () => {
      const namespace = `test-twins-${randomUUID()}`;
      first = await startTwin(namespace);
      second = await startTwin(namespace);
    });
    afterAll(async () => {
      await first?.close();
      await second?.close();
    });

    it("refuses on the second server a code the first one accepted", async () => {
      const one = restClient(first.baseUrl);
      const two = restClient(second.baseUrl);
      const holder = await totpKeyHolder(one);
      const code = await totpCode(holder.secret);

      const accepted = await one.post("/auth/login", { api_key: holder.key, totp_code: code });
      expect(accepted.status).toBe(200);
      const replayed = await two.post("/auth/login", { api_key: holder.key, totp_code: code });
      expectJsonError(replayed, 401, "TOTP_INVALID");

      // The second server knows this user and key: a fresh code logs in there.
      const fresh = await two.post("/auth/login", {
        api_key: holder.key,
        totp_code: await totpCodeAtStep(holder.secret, 1),
      });
      expect(fresh.status).toBe(200);
      const health = await one.get("/health", bearer(String(fresh.body.session_token)));
      expect(health.status).toBe(200);
    });

    it("accepts exactly one of several simultaneous logins with one code spread over both servers", async () => {
      const one = restClient(first.baseUrl);
      const two = restClient(second.baseUrl);
      const holder = await totpKeyHolder(one);
      const code = await totpCode(holder.secret);

      const replies = await Promise.all(
        [one, two, one, two, one, two].map((server) =>
          server.post("/auth/login", { api_key: holder.key, totp_code: code }),
        ),
      );
      const outcomes = replies.map((reply) => `${reply.status} ${String(reply.body.error ?? "")}`);
      expect(outcomes.filter((outcome) => outcome === "200 ")).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome === "401 TOTP_INVALID")).toHaveLength(5);
    });
  });

  describe("on a server without KEYCARD_ENCRYPTION_KEY", () => {
    let bare: TwinServer;
    beforeAll(async () => {
      bare = await startTwin(`test-bare-${randomUUID()}`, { encryptionKey: undefined });
    });
    afterAll(() => bare?.close());

    it("refuses API keys and TOTP with 400 ENCRYPTION_KEY_MISSING but still logs in with a password", async () => {
      const bareRest = restClient(bare.baseUrl);
      const user = await createUserOverRest(bareRest);

      expectJsonError(
        await bareRest.post(`/admin/users/${user.id}/api-keys`, { name: "k" }, admin),
        400,
        "ENCRYPTION_KEY_MISSING",
      );
      expectJsonError(
        await bareRest.post(`/admin/users/${user.id}/totp`, {}, admin),
        400,
        "ENCRYPTION_KEY_MISSING",
      );
      expectJsonError(
        await bareRest.post("/auth/login", { api_key: `kc_key_${"D".repeat(43)}` }),
        400,
        "ENCRYPTION_KEY_MISSING",
      );
      const login = await bareRest.post("/auth/login", {
        email: user.email,
        password: user.password,
      });
      expect(login.status).toBe(200);
    });
  });

  describe("on a fake clock", () => {
    const clock = new FakeClock(Date.UTC(2030, 0, 1, 12));
    const stepMs = totpStepSeconds * 1000;
    let fake: TestKeycard;
    let fakeRest: Rest;

    beforeAll(async () => {
      fake = await startKeycard({ clock });
      fakeRest = restClient(fake.baseUrl);
    });
    afterAll(() => fake.close());

    /** Moves the clock ten steps on, to `offsetMs` into a step: no step there was ever used. */
    function moveClock(offsetMs: number): void {
      const target = (Math.floor(clock.now() / stepMs) + 10) * stepMs + offsetMs;
      clock.advance(target - clock.now());
    }

    async function fakeHolder(): Promise<{ secret: string; key: string }> {
      const user = await createUserOverRest(fakeRest);
      const { secret } = await enrollTotpOverRest(
        fake.baseUrl,
        user.id,
        testAdminToken,
        clock.now(),
      );
      const { key } = await createKey(fakeRest, user.id);
      return { secret, key };
    }

    it.each([
      { where: "first millisecond", offsetMs: 0 },
      { where: "middle", offsetMs: 15_000 },
      { where: "last millisecond", offsetMs: stepMs - 1 },
    ])(
      "at the $where of a step refuses codes two steps away and accepts one step of drift either way",
      async ({ offsetMs }) => {
        moveClock(0);
        const holder = await fakeHolder();
        moveClock(offsetMs);
        const loginAt = (steps: number) =>
          totpCodeAtStep(holder.secret, steps, clock.now()).then((code) =>
            fakeRest.post("/auth/login", { api_key: holder.key, totp_code: code }),
          );

        expectJsonError(await loginAt(-2), 401, "TOTP_INVALID");
        expectJsonError(await loginAt(2), 401, "TOTP_INVALID");
        expect((await loginAt(-1)).status).toBe(200);
        expect((await loginAt(0)).status).toBe(200);
        expect((await loginAt(1)).status).toBe(200);
      },
    );

    it("refuses an expired key with 401, answering exactly as for a key that never existed", async () => {
      const user = await createUserOverRest(fakeRest);
      const expiresAt = new Date(clock.now() + 1_500).toISOString();
      const { key, apiKey } = await createKey(fakeRest, user.id, {
        skip_totp: true,
        expires_at: expiresAt,
      });
      expect(Date.parse(String(apiKey.expires_at))).toBe(Date.parse(expiresAt));

      clock.advance(1_499);
      const before = await fakeRest.post("/auth/login", { api_key: key });
      expect(before.status).toBe(200);

      clock.advance(1);
      const after = await fakeRest.post("/auth/login", { api_key: key });
      expectJsonError(after, 401, "INVALID_CREDENTIALS", "Invalid API key");
      const unknown = await fakeRest.post("/auth/login", { api_key: `${key.slice(0, -4)}AAAA` });
      expect(unknown.body).toEqual(after.body);
    });

    it("refuses an unused code of a step older than the last one accepted", async () => {
      moveClock(15_000);
      const holder = await fakeHolder();
      moveClock(15_000);
      const current = await totpCode(holder.secret, clock.now());
      const previous = await totpCodeAtStep(holder.secret, -1, clock.now());

      const first = await fakeRest.post("/auth/login", { api_key: holder.key, totp_code: current });
      expect(first.status).toBe(200);
      const older = await fakeRest.post("/auth/login", {
        api_key: holder.key,
        totp_code: previous,
      });
      expectJsonError(older, 401, "TOTP_INVALID");
    });

    it("keeps the old TOTP secret working until a new enrollment is confirmed, then only the new one", async () => {
      moveClock(15_000);
      const user = await createUserOverRest(fakeRest);
      const old = await enrollTotpOverRest(fake.baseUrl, user.id, testAdminToken, clock.now());
      const { key } = await createKey(fakeRest, user.id);

      moveClock(15_000);
      const reEnrolled = await fakeRest.post(`/admin/users/${user.id}/totp`, {}, admin);
      expect(reEnrolled.status).toBe(200);
      const newSecret = String(reEnrolled.body.secret);
      expect(newSecret).not.toBe(old.secret);
      const withOld = await fakeRest.post("/auth/login", {
        api_key: key,
        totp_code: await totpCode(old.secret, clock.now()),
      });
      expect(withOld.status).toBe(200);

      moveClock(15_000);
      const confirmed = await fakeRest.post(
        `/admin/users/${user.id}/totp/confirm`,
        { code: await totpCode(newSecret, clock.now()) },
        admin,
      );
      expect(confirmed.status).toBe(200);

      moveClock(15_000);
      const oldAfter = await fakeRest.post("/auth/login", {
        api_key: key,
        totp_code: await totpCode(old.secret, clock.now()),
      });
      expectJsonError(oldAfter, 401, "TOTP_INVALID");
      const newAfter = await fakeRest.post("/auth/login", {
        api_key: key,
        totp_code: await totpCode(newSecret, clock.now()),
      });
      expect(newAfter.status).toBe(200);
    });
  });
});

/** A keycard server built by hand on a given Redis namespace, as a second replica would be. */
interface TwinServer {
  readonly baseUrl: string;
  close(): Promise<void>;
}

async function startTwin(
  namespace: string,
  options: { encryptionKey?: Buffer | undefined } = { encryptionKey: testEncryptionKey },
): Promise<TwinServer> {
  const store = createRedisStore({ url: inject("redisUrl"), namespace, commandTimeoutMs: 500 });
  if (!(await waitUntilReachable(store, 10_000))) {
    throw new Error("the test store did not become reachable");
  }
  const server = createKeycardServer({
    store,
    hasher: createArgon2Hasher(),
    clock: systemClock,
    logger: pino({ level: "silent" }),
    settings: testSettings(
      options.encryptionKey === undefined ? {} : { encryptionKey: options.encryptionKey },
    ),
  });
  const port = await server.listen(0, "127.0.0.1");
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: async () => {
      await server.close();
      await store.close();
    },
  };
}

/**
 * Dumps every key and value of the namespace and checks that neither the TOTP secret (in
 * any letter case) nor the API key (whole, its random part, or its unkeyed SHA-256) is in
 * it. Returns the dump.
 */
async function expectAbsent(
  redis: Redis,
  namespace: string,
  secret: string,
  key: string,
): Promise<string> {
  const { text } = await dumpNamespace(redis, namespace);
  // The dump really holds the records: the key's hint is stored next to its hash.
  expect(text).toContain(key.slice(0, "kc_key_".length + 4));
  expect(text.toUpperCase()).not.toContain(secret.toUpperCase());
  expect(text).not.toContain(key);
  expect(text).not.toContain(key.slice("kc_key_".length));
  for (const encoding of ["hex", "base64", "base64url"] as const) {
    expect(text).not.toContain(createHash("sha256").update(key).digest(encoding));
  }
  return text;
}
