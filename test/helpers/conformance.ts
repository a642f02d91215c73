import type { FakeClock } from "./fake-clock.js";
import { createTestUser, type TestKeycard, testAdminToken } from "./keycard.js";
import type { Rest } from "./rest.js";
import { enrollTotpOverRest, totpCode } from "./totp-codes.js";

/** Whether Validate answers `token` active on the keycard behind `rest`. */
export async function isActive(rest: Rest, token: string): Promise<boolean> {
  return (await rest.post("/auth/validate", { token })).body.active === true;
}

/**
 * A new user with TOTP enrolled on `keycard`, and a login body carrying a code of the next
 * time step (the clock is moved on one step, so the code is unspent).
 */
export async function userWithTotpLogin(keycard: TestKeycard, clock: FakeClock) {
  const user = await createTestUser(keycard);
  const { secret } = await enrollTotpOverRest(
    keycard.baseUrl,
    user.id,
    testAdminToken,
    clock.now(),
  );
  clock.advance(30_000);
  const loginBody = {
    email: user.email,
    password: user.password,
    totp_code: await totpCode(secret, clock.now()),
  };
  return { user, loginBody };
}
