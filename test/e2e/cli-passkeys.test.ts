import { describe, expect, it } from "vitest";
import { cliSuite, password, stackTrace, uniqueEmail } from "../helpers/cli-suite.js";
import { postJson } from "../helpers/keycard.js";
import { PasskeyRest } from "../helpers/passkey-flows.js";

/*
 * The administrator's `keycard passkeys list` and `keycard passkeys remove` against a real
 * server, with passkeys a software authenticator registered over REST as a browser would.
 */

const { cli, cliJson, addUser, keycard } = cliSuite({ webauthn: { rpId: "localhost" } });

/** A user with a password session and one passkey named `name` registered on it. */
async function userWithPasskey(name: string) {
  const email = uniqueEmail("pk");
  await addUser(email);
  const login = await postJson(`${keycard().baseUrl}/auth/login`, { email, password });
  const token = String(login.body.session_token);
  const rest = new PasskeyRest(keycard());
  const authenticator = rest.authenticator();
  const passkeyId = await rest.register(token, authenticator, name);
  const opened = await rest.login(authenticator);
  return { email, passkeyId, token, opened: String(opened.body.session_token), rest };
}

describe("keycard passkeys", () => {
  it("lists a user's passkeys by name and id, and removes one, ending the sessions it opened", async () => {
    const { email, passkeyId, token, opened, rest } = await userWithPasskey("Work laptop");
    const listed = await cli(["passkeys", "list", email]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+NAME\s+ADDED\s+LAST USED\s+SYNCED\s+TRANSPORTS/);
    expect(listed.stdout).toContain(passkeyId);
    expect(listed.stdout).toContain("Work laptop");

    const removed = await cli(["passkeys", "remove", email, passkeyId]);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain(
      `Removed passkey ${passkeyId} of ${email}; ended 1 session(s)`,
    );
    expect((await rest.sessionOf(opened)) ?? undefined).toBeUndefined();
    expect(await rest.sessionOf(token)).toBeDefined();
    expect((await cliJson(["passkeys", "list", email])).passkeys).toEqual([]);
  });

  it("says what is wrong for an unknown passkey, a missing id or an unknown user, without a stack", async () => {
    const { email } = await userWithPasskey("Phone");
    for (const args of [
      ["passkeys", "remove", email, "no-such-passkey"],
      ["passkeys", "remove", email],
      ["passkeys", "list", "nobody@example.com"],
    ]) {
      const result = await cli(args);
      expect(result.code, args.join(" ")).not.toBe(0);
      expect(result.stderr).not.toMatch(stackTrace);
      expect(result.stderr.length).toBeGreaterThan(0);
    }
  });
});
