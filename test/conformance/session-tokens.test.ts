import { describe, expect, it } from "vitest";
import { keyHeaders, keyHolder } from "../helpers/api-key-holder.js";
import { userWithTotpLogin } from "../helpers/conformance.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { createTestUser, keycardForSuite } from "../helpers/keycard.js";
import { bearer } from "../helpers/rest.js";

describe("session tokens and cookies", () => {
  const clock = new FakeClock();
  const suite = keycardForSuite({ clock });
  const rest = suite.rest;

  const validate = async (token: string) => (await rest.post("/auth/validate", { token })).body;

  it("ASVS 4.0.3 3.2.1, 3.2.2: every login gets a new token of 256 random bits", async () => {
    const user = await createTestUser(suite.keycard);
    const tokens = new Set<string>();
    for (let login = 0; login < 20; login += 1) {
      const reply = await rest.post("/auth/login", { email: user.email, password: user.password });
      const token = String(reply.body.session_token);
      expect(token).toMatch(/^kc_sess_[A-Za-z0-9_-]{43}$/);
      tokens.add(token);
    }
    expect(tokens.size).toBe(20);
  });

  it("ASVS 4.0.3 3.3.1: logout ends the session at once", async () => {
    const user = await createTestUser(suite.keycard);
    const login = await rest.post("/auth/login", { email: user.email, password: user.password });
    const token = String(login.body.session_token);
    expect((await validate(token)).active).toBe(true);
    const out = await rest.post("/auth/logout", {}, { authorization: `Bearer ${token}` });
    expect(out.status).toBe(200);
    expect(await validate(token)).toMatchObject({
      active: false,
      reason: "INACTIVE_REASON_REVOKED",
    });
  });

  it("ASVS 4.0.3 3.4.1, 3.4.2, 3.4.3: the session cookie is Secure, HttpOnly and SameSite", async () => {
    const user = await createTestUser(suite.keycard);
    const reply = await fetch(`${rest.baseUrl}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: user.email, password: user.password }),
    });
    const cookie = reply.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^auth-token=/);
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; Secure/i);
    expect(cookie).toMatch(/; SameSite=Lax/i);
  });

  it("RFC 6238 5.2, ASVS 4.0.3 2.8.4: a TOTP code is accepted once", async () => {
    const { loginBody: body } = await userWithTotpLogin(suite.keycard, clock);
    expect((await rest.post("/auth/login", body)).status).toBe(200);
    const replay = await rest.post("/auth/login", body);
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe("TOTP_INVALID");
  });

  it("ASVS 4.0.3 3.5.2: an API key opens a session; outside hybrid mode it is never accepted per request", async () => {
    const holder = await keyHolder(rest, false);
    expect((await rest.get("/auth/me", keyHeaders(holder.key))).status).toBe(401);
    const login = await rest.post("/auth/login", { api_key: holder.key });
    expect(login.status).toBe(200);
    const me = await rest.get("/auth/me", bearer(String(login.body.session_token)));
    expect(me.status).toBe(200);
  });
});
