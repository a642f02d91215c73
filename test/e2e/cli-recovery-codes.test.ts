import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliSuite, password, stackTrace, totpCode, uniqueEmail } from "../helpers/cli-suite.js";

/*
 * `keycard recovery-codes`, `keycard login --recovery-code` and the administrator's
 * `keycard totp recovery-codes` against a real server on an ephemeral port.
 */

const { cli, cliJson, addUser, home } = cliSuite();
const codeLine = /^ {2}[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}$/;

/** A user with a confirmed TOTP and a saved password + TOTP session (AAL2, fresh). */
async function loggedInWithTotp(name: string) {
  const email = uniqueEmail(name);
  await addUser(email);
  const secret = String((await cliJson(["totp", "enroll", email])).secret);
  await cliJson(["totp", "confirm", email, totpCode(secret)]);
  const tokenFile = join(home(), name, "session");
  const login = await cli(
    [
      "login",
      "--email",
      email,
      "--password-stdin",
      "--totp-code",
      totpCode(secret, 1),
      "--token-file",
      tokenFile,
    ],
    { input: password },
  );
  expect(login.code, login.stderr).toBe(0);
  return { email, tokenFile };
}

describe("keycard recovery-codes and login --recovery-code", () => {
  it("prints ten new codes once, logs in with one (saying how many are left), and refuses it again", async () => {
    const { email, tokenFile } = await loggedInWithTotp("rec");
    const shown = await cli(["recovery-codes", "--token-file", tokenFile]);
    expect(shown.code, shown.stderr).toBe(0);
    const lines = shown.stdout.split("\n").filter((line) => codeLine.test(line));
    expect(lines).toHaveLength(10);
    expect(shown.stderr).toContain("shown only this once");

    // Making them again replaces the set printed above.
    const made = await cliJson(["recovery-codes", "--token-file", tokenFile]);
    const codes = made.codes as string[];
    expect(codes).toHaveLength(10);
    expect(codes.filter((code) => lines.includes(`  ${code}`))).toEqual([]);

    const other = join(home(), "rec", "other");
    const login = ["login", "--email", email, "--password-stdin", "--token-file", other];
    const stale = await cli([...login, "--recovery-code", String(lines[0]).trim()], {
      input: password,
    });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain("(RECOVERY_CODE_INVALID)");

    const used = await cli([...login, "--recovery-code", String(codes[0])], { input: password });
    expect(used.code, used.stderr).toBe(0);
    expect(used.stderr).toContain("That recovery code is used up; 9 left.");
    const me = await cliJson(["whoami", "--token-file", other]);
    expect(me.session).toMatchObject({
      auth_methods: ["password", "recovery_code"],
      amr: ["pwd", "rec"],
      aal: 2,
    });

    const json = await cliJson([...login, "--recovery-code", String(codes[1])], password);
    expect(json.recovery_codes_remaining).toBe(8);

    const reused = await cli([...login, "--recovery-code", String(codes[0])], { input: password });
    expect(reused.code).toBe(1);
    expect(reused.stderr).toBe(
      "keycard: Invalid or already used recovery code; each code works once (RECOVERY_CODE_INVALID)\n",
    );
    expect(reused.stderr).not.toMatch(stackTrace);

    const both = await cli([...login, "--totp-code", "123456", "--recovery-code", "x"], {
      input: password,
    });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("not both");
  });

  it("refuses an account without TOTP, and asks a session without a second factor to log in again", async () => {
    const email = uniqueEmail("plain");
    await addUser(email);
    const tokenFile = join(home(), "plain", "session");
    await cli(["login", "--email", email, "--password-stdin", "--token-file", tokenFile], {
      input: password,
    });
    const noTotp = await cli(["recovery-codes", "--token-file", tokenFile]);
    expect(noTotp.code).toBe(1);
    expect(noTotp.stderr).toContain("(TOTP_NOT_ENROLLED)");

    // An API key that skips TOTP logs a user with TOTP in at AAL1 only.
    const { email: withTotp } = await loggedInWithTotp("keyed");
    const key = String(
      (await cliJson(["apikey", "create", withTotp, "--name", "ci", "--skip-totp"])).key,
    );
    const keyed = join(home(), "keyed", "by-key");
    await cli(["login", "--api-key", key, "--token-file", keyed]);
    const weak = await cli(["recovery-codes", "--token-file", keyed]);
    expect(weak.code).toBe(1);
    expect(weak.stderr).toContain('run "keycard reauth"');
    expect(weak.stderr).toContain("(STEP_UP_REQUIRED)");
  });
});

describe("keycard totp recovery-codes (admin)", () => {
  it("shows how many codes a user has left and deletes them with --reset", async () => {
    const { email, tokenFile } = await loggedInWithTotp("count");
    const codes = (await cliJson(["recovery-codes", "--token-file", tokenFile])).codes as string[];
    const other = join(home(), "count", "other");
    await cli(
      [
        "login",
        "--email",
        email,
        "--password-stdin",
        "--recovery-code",
        String(codes[3]),
        "--token-file",
        other,
      ],
      { input: password },
    );

    const shown = await cli(["totp", "recovery-codes", email]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toBe(`${email} has 9 unused recovery code(s)\n`);
    expect(await cliJson(["totp", "recovery-codes", email])).toEqual({ remaining: 9 });

    const reset = await cli(["totp", "recovery-codes", email, "--reset"]);
    expect(reset.stdout).toBe(`Deleted 9 recovery code(s) of ${email}\n`);
    expect(await cliJson(["totp", "recovery-codes", email])).toEqual({ remaining: 0 });
    expect(await cliJson(["totp", "recovery-codes", email, "--reset"])).toEqual({ deleted: 0 });
  });
});
