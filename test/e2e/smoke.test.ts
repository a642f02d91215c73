import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestUser,
  loginRest,
  requestJson,
  startKeycard,
  type TestKeycard,
} from "../helpers/keycard.js";

describe("a keycard server on redis", () => {
  let keycard: TestKeycard;
  beforeAll(async () => {
    keycard = await startKeycard();
  });
  afterAll(() => keycard.close());

  it("logs a user in and answers GetMe with the same token", async () => {
    const user = await createTestUser(keycard, { displayName: "Alice" });
    const login = await loginRest(keycard, user);
    const me = await requestJson(`${keycard.baseUrl}/auth/me`, {
      headers: { authorization: `Bearer ${login.session_token}` },
    });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ user: { email: user.email, display_name: "Alice" } });
  });
});
