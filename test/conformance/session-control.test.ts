import { describe, expect, it } from "vitest";
import { isActive } from "../helpers/conformance.js";
import { createTestUser, keycardForSuite } from "../helpers/keycard.js";
import { bearer, type Json } from "../helpers/rest.js";

describe("a user's control over their own sessions", () => {
  const suite = keycardForSuite();
  const rest = suite.rest;

  it("ASVS 4.0.3 3.3.4, 5.0 7.5.2: a user sees their active sessions and ends one, all others, or all", async () => {
    const user = await createTestUser(suite.keycard);
    const logins = await Promise.all(
      Array.from({ length: 4 }, () =>
        rest.post("/auth/login", { email: user.email, password: user.password }),
      ),
    );
    type Held = { readonly token: string; readonly id: string };
    const held = logins.map((login) => ({
      token: String(login.body.session_token),
      id: String(login.body.session_id),
    }));
    const [current, second, third, fourth] = held as [Held, Held, Held, Held];
    const listed = await rest.get("/auth/sessions", bearer(current.token));
    const ids = (listed.body.sessions as Json[]).map((session) => session.id);
    expect(ids.sort()).toEqual(held.map((session) => session.id).sort());

    expect((await rest.del(`/auth/sessions/${second.id}`, bearer(current.token))).status).toBe(200);
    expect(await isActive(rest, second.token)).toBe(false);
    expect(await isActive(rest, current.token)).toBe(true);

    const others = await rest.del("/auth/sessions?scope=others", bearer(current.token));
    expect(others.body.revoked_count).toBe(2);
    expect(await isActive(rest, third.token)).toBe(false);
    expect(await isActive(rest, fourth.token)).toBe(false);
    expect(await isActive(rest, current.token)).toBe(true);

    await rest.del("/auth/sessions?scope=all", bearer(current.token));
    expect(await isActive(rest, current.token)).toBe(false);
  });
});
