import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/app/config/config.js";
import { isActive } from "../helpers/conformance.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { createTestUser, startKeycard, type TestKeycard } from "../helpers/keycard.js";
import { type Rest, restClient } from "../helpers/rest.js";

const minute = 60_000;
const hour = 60 * minute;

describe("SESSION_PROFILE=nist-aal2, on a fake clock", () => {
  const clock = new FakeClock();
  let keycard: TestKeycard;
  let rest: Rest;

  beforeAll(async () => {
    const { policy } = loadConfig({ SESSION_PROFILE: "nist-aal2" });
    keycard = await startKeycard({ clock, policy: { ...policy, touchInterval: 0 } });
    rest = restClient(keycard.baseUrl);
  });
  afterAll(() => keycard.close());

  const active = (token: string): Promise<boolean> => isActive(rest, token);
  const login = async (rememberMe: boolean): Promise<string> => {
    const user = await createTestUser(keycard);
    const reply = await rest.post("/auth/login", {
      email: user.email,
      password: user.password,
      remember_me: rememberMe,
    });
    return String(reply.body.session_token);
  };

  it("NIST SP 800-63B rev4 AAL2 (inactivity): a session unused for over 1 h ends, remember-me included", async () => {
    const standard = await login(false);
    const remembered = await login(true);
    clock.advance(59 * minute);
    expect(await active(standard)).toBe(true);
    expect(await active(remembered)).toBe(true);
    clock.advance(61 * minute);
    expect(await active(standard)).toBe(false);
    expect(await active(remembered)).toBe(false);
  });

  it("NIST SP 800-63B rev4 AAL2 (reauthentication): no session lasts past 24 h from login, however used", async () => {
    const remembered = await login(true);
    for (let elapsed = 0; elapsed < 24 * hour - 30 * minute; elapsed += 30 * minute) {
      clock.advance(30 * minute);
      expect(await active(remembered)).toBe(true);
    }
    clock.advance(31 * minute);
    expect(await active(remembered)).toBe(false);
  });
});
