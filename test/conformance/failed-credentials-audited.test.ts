import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyHeaders, keyHolder } from "../helpers/api-key-holder.js";
import { startKeycard, type TestKeycard, testAdminToken } from "../helpers/keycard.js";
import { LogLines } from "../helpers/log-lines.js";
import { type Rest, restClient } from "../helpers/rest.js";
import { totpCode } from "../helpers/totp-codes.js";

const introspectionSecret = "introspection-secret-for-the-audit-0123456789";

describe("ASVS 5.0 16.3.1: every failed credential is audited, at every door, without the secret", () => {
  const log = new LogLines();
  let keycard: TestKeycard;
  let rest: Rest;

  beforeAll(async () => {
    keycard = await startKeycard({
      authMode: "hybrid",
      introspectionSecret,
      logger: pino({ level: "info" }, log),
    });
    rest = restClient(keycard.baseUrl);
  });
  afterAll(() => keycard.close());

  it("audits login.failed with the door, the credential kind and the reason", async () => {
    const holder = await keyHolder(rest, true);
    const good = await totpCode(holder.secret);
    const wrong = String((Number(good) + 1) % 1_000_000).padStart(6, "0");
    await rest.post("/auth/login", { email: holder.email, password: "not the password" });
    await rest.post("/auth/validate", { token: holder.key, totp_code: wrong });
    await rest.get("/auth/verify", keyHeaders(holder.key, wrong));
    await rest.get("/auth/me", keyHeaders(holder.key, wrong));
    await rest.get("/admin/users", { authorization: `Bearer ${testAdminToken}-wrong` });
    await fetch(`${keycard.baseUrl}/oauth2/introspect`, {
      method: "POST",
      headers: {
        authorization: "Bearer wrong-introspection-secret",
        "content-type": "application/x-www-form-urlencoded",
      },
      body: "token=x",
    });
    const failed = log.audits("login.failed");
    expect(failed.map(({ door, credential, reason }) => ({ door, credential, reason }))).toEqual([
      { door: "login", credential: "password", reason: "INVALID_CREDENTIALS" },
      { door: "validate", credential: "api_key", reason: "TOTP_INVALID" },
      { door: "validate", credential: "api_key", reason: "TOTP_INVALID" },
      { door: "api_key_header", credential: "api_key", reason: "TOTP_INVALID" },
      { door: "admin", credential: "admin_token", reason: "INVALID_CREDENTIALS" },
      { door: "introspection", credential: "introspection_secret", reason: "INVALID_CREDENTIALS" },
    ]);
    const text = JSON.stringify(log.lines);
    for (const secret of [holder.key, wrong, "not the password", "wrong-introspection-secret"]) {
      expect(text).not.toContain(secret);
    }
    const metrics = await (await fetch(`${keycard.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/keycard_logins_total\{outcome="failure",credential="api_key"\} 3/);
  });

  it("counts every unknown token and leaves a bounded trace of a burst", async () => {
    const sent = 200;
    await Promise.all(
      Array.from({ length: sent }, (_, index) =>
        rest.post("/auth/validate", { token: `kc_sess_${String(index).padStart(43, "A")}` }),
      ),
    );
    const metrics = await (await fetch(`${keycard.baseUrl}/metrics`)).text();
    const counted = Number(/keycard_unknown_tokens_total (\d+)/.exec(metrics)?.[1]);
    expect(counted).toBeGreaterThanOrEqual(sent);
    const lines = log.audits("session.unknown_token");
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeLessThanOrEqual(2);
  });
});
