import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isActive, userWithTotpLogin } from "../helpers/conformance.js";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  createTestUser,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import { type Rest, restClient } from "../helpers/rest.js";

const admin = { authorization: `Bearer ${testAdminToken}` };

/** The session token an `/api/v1/auth/login` reply sets in its `auth-token` cookie. */
function cookieToken(headers: Headers): string {
  const match = /auth-token=([^;]*)/.exec(headers.get("set-cookie") ?? "");
  return match?.[1] ?? "";
}

describe("factor changes and cookie logins end the sessions they replace", () => {
  const clock = new FakeClock();
  let keycard: TestKeycard;
  let rest: Rest;

  beforeAll(async () => {
    keycard = await startKeycard({ clock, allowedOrigins: [], cookieSecure: false });
    rest = restClient(keycard.baseUrl);
  });
  afterAll(() => keycard.close());

  const active = (token: string): Promise<boolean> => isActive(rest, token);

  it("ASVS 5.0 7.4.3: removing a user's TOTP ends every session of the user", async () => {
    const { user, loginBody } = await userWithTotpLogin(keycard, clock);
    const login = await rest.post("/auth/login", loginBody);
    expect(login.status).toBe(200);
    const token = String(login.body.session_token);
    expect(await active(token)).toBe(true);
    const reset = await rest.del(`/admin/users/${user.id}/totp`, admin);
    expect(reset.status).toBe(200);
    expect(reset.body.revoked_sessions).toBe(1);
    expect(await active(token)).toBe(false);
  });

  it("ASVS 5.0 7.2.4: a cookie login that replaces a session cookie ends that session", async () => {
    const user = await createTestUser(keycard);
    const credentials = JSON.stringify({ email: user.email, password: user.password });
    const first = await fetch(`${keycard.baseUrl}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: credentials,
    });
    const old = cookieToken(first.headers);
    expect(await active(old)).toBe(true);
    const second = await fetch(`${keycard.baseUrl}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: `auth-token=${old}` },
      body: credentials,
    });
    expect(second.status).toBe(200);
    const replacement = cookieToken(second.headers);
    expect(replacement).not.toBe(old);
    expect(await active(replacement)).toBe(true);
    expect(await active(old)).toBe(false);
  });
});
