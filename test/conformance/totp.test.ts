import pino from "pino";
import { describe, expect, it } from "vitest";
import { FakeClock } from "../helpers/fake-clock.js";
import { createTestUser, keycardForSuite, testAdminToken } from "../helpers/keycard.js";
import { LogLines } from "../helpers/log-lines.js";
import { enrollTotpOverRest, totpCodeAtStep, totpStepSeconds } from "../helpers/totp-codes.js";

const admin = { authorization: `Bearer ${testAdminToken}` };

describe("TOTP (RFC 6238, ASVS 4.0.3 V2.8), on a fake clock", () => {
  const clock = new FakeClock();
  const log = new LogLines();
  const suite = keycardForSuite({ clock, logger: pino({ level: "info" }, log) });
  const rest = suite.rest;

  /** A user with TOTP confirmed, the clock moved one step on so the current code is unspent. */
  async function enrolledUser() {
    const user = await createTestUser(suite.keycard);
    const { secret, otpauthUri } = await enrollTotpOverRest(
      rest.baseUrl,
      user.id,
      testAdminToken,
      clock.now(),
    );
    clock.advance(totpStepSeconds * 1000);
    return { user, secret, otpauthUri };
  }

  async function loginWithCodeAt(
    user: { email: string; password: string },
    secret: string,
    offset: number,
  ): Promise<number> {
    const totp_code = await totpCodeAtStep(secret, offset, clock.now());
    return (
      await rest.post("/auth/login", { email: user.email, password: user.password, totp_code })
    ).status;
  }

  it("RFC 6238, ASVS 4.0.3 2.8.3: codes are HMAC-SHA1, 6 digits, 30 s steps, as the key URI says and oathtool computes them", async () => {
    const { user, secret, otpauthUri } = await enrolledUser();
    const parameters = new URL(otpauthUri).searchParams;
    const defaults = { algorithm: "SHA1", digits: "6", period: "30" };
    for (const [name, value] of Object.entries(defaults)) {
      expect(parameters.get(name) ?? value).toBe(value);
    }
    expect(secret).toMatch(/^[A-Z2-7]{32,}$/);
    expect(await loginWithCodeAt(user, secret, 0)).toBe(200);
  });

  it("ASVS 4.0.3 2.8.1: a code is good for its own 30 s step and one either side, never longer", async () => {
    const { user, secret } = await enrolledUser();
    expect(await loginWithCodeAt(user, secret, -2)).toBe(401);
    expect(await loginWithCodeAt(user, secret, 2)).toBe(401);
    expect(await loginWithCodeAt(user, secret, -1)).toBe(200);
    expect(await loginWithCodeAt(user, secret, 1)).toBe(200);
  });

  it("ASVS 4.0.3 2.8.5: a replayed code is refused and audited as totp.replayed", async () => {
    const { user, secret } = await enrolledUser();
    expect(await loginWithCodeAt(user, secret, 0)).toBe(200);
    expect(await loginWithCodeAt(user, secret, 0)).toBe(401);
    const replayed = log.audits("totp.replayed");
    expect(replayed).toContainEqual(expect.objectContaining({ userId: user.id }));
  });

  it("ASVS 4.0.3 2.8.6: an administrator can revoke a lost device: its codes never log in again", async () => {
    const { user, secret: lost } = await enrolledUser();
    expect((await rest.del(`/admin/users/${user.id}/totp`, admin)).status).toBe(200);
    const { secret: replacement } = await enrollTotpOverRest(
      rest.baseUrl,
      user.id,
      testAdminToken,
      clock.now(),
    );
    clock.advance(totpStepSeconds * 1000);
    expect(await loginWithCodeAt(user, lost, 0)).toBe(401);
    expect(await loginWithCodeAt(user, replacement, 0)).toBe(200);
  });
});
