import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultLoginThrottle } from "../../src/domain/login-throttle.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { startKeycard, type TestKeycard, testAdminToken } from "../helpers/keycard.js";
import { LogLines } from "../helpers/log-lines.js";

const introspectionSecret = "introspection-secret-for-guessing-0123456789";

let ipCounter = 0;
/** A client address no other test uses. */
function freshIp(): string {
  ipCounter += 1;
  return `192.0.2.${ipCounter}`;
}

/** A door that checks a configured secret, and what it answers for `secret` from `ip`. */
type SecretDoor = (keycard: TestKeycard, secret: string, ip: string) => Promise<number>;

const doors: Record<string, { readonly right: string; readonly call: SecretDoor }> = {
  "the admin token (GET /admin/users)": {
    right: testAdminToken,
    call: async (keycard, secret, ip) => {
      const reply = await fetch(`${keycard.baseUrl}/admin/users`, {
        headers: { authorization: `Bearer ${secret}`, "x-forwarded-for": ip },
      });
      await reply.arrayBuffer();
      return reply.status;
    },
  },
  "the introspection secret (POST /oauth2/introspect)": {
    right: introspectionSecret,
    call: async (keycard, secret, ip) => {
      const reply = await fetch(`${keycard.baseUrl}/oauth2/introspect`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${secret}`,
          "content-type": "application/x-www-form-urlencoded",
          "x-forwarded-for": ip,
        },
        body: "token=kc_sess_unknown",
      });
      await reply.arrayBuffer();
      return reply.status;
    },
  },
};

describe("configured secrets are guessed no faster than logins, on a fake clock", () => {
  const clock = new FakeClock();
  const log = new LogLines();
  let keycard: TestKeycard;

  beforeAll(async () => {
    keycard = await startKeycard({
      clock,
      trustedProxies: ["127.0.0.1", "::1"],
      loginThrottle: defaultLoginThrottle,
      introspectionSecret,
      logger: pino({ level: "info" }, log),
    });
  });
  afterAll(() => keycard.close());

  for (const [name, { right, call }] of Object.entries(doors)) {
    it(`${name}: 5 wrong guesses from an address, then it waits even with the right one; others go on`, async () => {
      const attacker = freshIp();
      const statuses: number[] = [];
      for (let guess = 0; guess < 8; guess += 1) {
        statuses.push(await call(keycard, `wrong-guess-${guess}-0123456789abcdef`, attacker));
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
      expect(await call(keycard, right, attacker)).toBe(429);
      expect(await call(keycard, right, freshIp())).toBe(200);
      clock.advance(2_000);
      expect(await call(keycard, right, attacker)).toBe(200);
    });
  }

  it("takes the admin token only as Authorization: Bearer", async () => {
    const reply = await fetch(`${keycard.baseUrl}/admin/users`, {
      headers: { "x-session-token": testAdminToken, "x-forwarded-for": freshIp() },
    });
    expect(reply.status).toBe(401);
    expect(((await reply.json()) as { error: string }).error).toBe("ADMIN_TOKEN_REQUIRED");
  });

  it("audits each address it locks out, without the secret", () => {
    const locked = log.audits("login.locked");
    expect(locked.map((line) => line.credential)).toEqual(
      expect.arrayContaining(["admin_token", "introspection_secret"]),
    );
    expect(JSON.stringify(log.lines)).not.toContain("wrong-guess-");
  });
});
