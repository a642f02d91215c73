import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isActive } from "../helpers/conformance.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { createTestUser, startKeycard, type TestKeycard } from "../helpers/keycard.js";
import { type Rest, restClient } from "../helpers/rest.js";

const hour = 3_600_000;

describe("session lifetime, on a fake clock (SESSION_MAX_DURATION 24 h)", () => {
  const clock = new FakeClock();
  let keycard: TestKeycard;
  let rest: Rest;

  beforeAll(async () => {
    keycard = await startKeycard({
      clock,
      policy: { defaultDuration: 12 * hour, maxDuration: 24 * hour, renewAfter: 0 },
    });
    rest = restClient(keycard.baseUrl);
  });
  afterAll(() => keycard.close());

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const active = (token: string): Promise<boolean> => isActive(rest, token);

  it("ASVS 5.0 7.3.2 / ASVS 4.0.3 3.3.2 / NIST SP 800-63B 7.2: a derived session never outlives its login", async () => {
    const user = await createTestUser(keycard);
    const login = await rest.post("/auth/login", { email: user.email, password: user.password });
    expect(login.status).toBe(200);
    const loginExpiry = Date.parse(String(login.body.expires_at));
    let token = String(login.body.session_token);
    const chain: { at: number; expiresAt: number }[] = [];
    for (let step = 1; step <= 2; step += 1) {
      clock.advance(11 * hour);
      const issued = await rest.post("/auth/token", {}, bearer(token));
      expect(issued.status).toBe(200);
      token = String(issued.body.session_token);
      chain.push({ at: clock.now(), expiresAt: Date.parse(String(issued.body.expires_at)) });
    }
    const loginAt = loginExpiry - 12 * hour;
    // 11 h in: a full 12 h fits; 22 h in: only the 2 h left of the login's 24 h.
    expect(chain.map(({ expiresAt }) => expiresAt - loginAt)).toEqual([23 * hour, 24 * hour]);
    clock.advance(2 * hour);
    expect(await active(token)).toBe(false);
    expect((await rest.post("/auth/token", {}, bearer(token))).status).toBe(401);
  });

  it("a new login starts a new clock", async () => {
    const user = await createTestUser(keycard);
    const login = await rest.post("/auth/login", { email: user.email, password: user.password });
    clock.advance(13 * hour);
    expect(await active(String(login.body.session_token))).toBe(false);
    const again = await rest.post("/auth/login", { email: user.email, password: user.password });
    expect(await active(String(again.body.session_token))).toBe(true);
  });
});
