import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Answer } from "../helpers/cli.js";
import { cliSuite, password, stackTrace, uniqueEmail } from "../helpers/cli-suite.js";
import { FakeClock } from "../helpers/fake-clock.js";
import { postJson } from "../helpers/keycard.js";
import { bearer } from "../helpers/rest.js";
import { totpCode, totpStepSeconds } from "../helpers/totp-codes.js";

/*
 * The self-service commands of issue 17 (item 7) as a person at a terminal and a script use
 * them, against a real server and Redis on a fake clock: a session ages past
 * PRIVILEGED_SESSION_MAX_AGE (5 minutes) by moving the clock, and each TOTP code is the one
 * of the next time step, which the clock moves to. Prompts are answered through a stdin that
 * says it is a terminal.
 */

const clock = new FakeClock();
const { cli, cliJson, cliAtTerminal, addUser, home, testEnv } = cliSuite({ clock });
const fiveMinutes = 5 * 60_000;
const newPassword = "violet tractor on the moon";

/** The code of the server's next time step, moving the fake clock there (each step works once). */
function nextCode(secret: string): Promise<string> {
  clock.advance(totpStepSeconds * 1000);
  return totpCode(secret, clock.now());
}

/** Answers prompts from a table of prompt to typed text (or to a function typing it). */
function answers(table: Record<string, string | ((stdout: string) => Promise<string>)>): Answer {
  return (prompt, stdout) => {
    const answer = table[prompt];
    return typeof answer === "function" ? answer(stdout) : answer;
  };
}

/** The secret `keycard totp enroll` printed for people. */
function printedSecret(stdout: string): string {
  const secret = /secret {2}([A-Z2-7]+)\n/.exec(stdout)?.[1];
  if (secret === undefined) {
    throw new Error(`no secret in ${JSON.stringify(stdout)}`);
  }
  return secret;
}

/** How many half and full blocks a QR code drawn for the terminal has (some hundreds). */
function qrBlocks(stdout: string): number {
  return stdout.match(/[▀▄█]/g)?.length ?? 0;
}

/** A new user logged in with `keycard login` into a token file of its own. */
async function loggedIn(name: string) {
  const email = uniqueEmail(name);
  const user = await addUser(email);
  const tokenFile = join(home(), name, "session");
  const login = await cliJson(
    ["login", "--email", email, "--password-stdin", "--token-file", tokenFile],
    password,
  );
  return {
    email,
    userId: String(user.id),
    sessionId: String(login.session_id),
    tokenFile,
    env: { KEYCARD_TOKEN_FILE: tokenFile },
    token: () => readFile(tokenFile, "utf8").then((text) => text.trim()),
  };
}

describe("keycard totp for one's own account", () => {
  it("enrolls at a terminal with the QR code and a first code, then removes it after asking for password and code", async () => {
    const { email, env, token } = await loggedIn("own-totp");
    const enrolled = await cliAtTerminal(
      ["totp", "enroll"],
      answers({
        "Code from the authenticator (Enter to confirm later): ": (stdout) =>
          nextCode(printedSecret(stdout)),
      }),
      env,
    );
    expect(enrolled.code, enrolled.stderr).toBe(0);
    expect(enrolled.prompts).toEqual(["Code from the authenticator (Enter to confirm later): "]);
    expect(qrBlocks(enrolled.stdout)).toBeGreaterThan(200);
    expect(enrolled.stdout).toContain("otpauth://totp/");
    expect(enrolled.stdout).toMatch(`TOTP enabled for ${email}; ended 0 other session(s)\n`);
    const secret = printedSecret(enrolled.stdout);
    expect(await cliJson(["whoami"], undefined, env)).toMatchObject({
      user: { email, totp_enabled: true },
    });

    // The session was proven by the password alone; removing TOTP asks for it with a code.
    const before = await token();
    const removed = await cliAtTerminal(
      ["totp", "remove"],
      answers({ "Password: ": password, "TOTP code: ": () => nextCode(secret) }),
      env,
    );
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.prompts).toEqual(["Password: ", "TOTP code: "]);
    expect(removed.stderr).toContain("This needs a recent login: prove it is you again.");
    expect(removed.stderr).not.toContain(password);
    expect(removed.stdout).toBe(`TOTP removed for ${email}; ended 0 other session(s)\n`);
    expect(await token()).not.toBe(before);
    expect(await cliJson(["whoami"], undefined, env)).toMatchObject({
      user: { email, totp_enabled: false },
      session: { amr: ["pwd", "otp"], aal: 2 },
    });
  });

  it("asks a session proven more than five minutes ago for the password, then enrolls; confirms later with the code alone", async () => {
    const { email, env, token } = await loggedIn("stale-enroll");
    const before = await token();
    clock.advance(fiveMinutes + 1_000);
    const enrolled = await cliAtTerminal(
      ["totp", "enroll"],
      answers({
        "Password: ": password,
        "Code from the authenticator (Enter to confirm later): ": "",
      }),
      env,
    );
    expect(enrolled.code, enrolled.stderr).toBe(0);
    expect(enrolled.prompts).toEqual([
      "Password: ",
      "Code from the authenticator (Enter to confirm later): ",
    ]);
    expect(enrolled.stderr).toContain("Confirm with: keycard totp confirm <code>");
    expect(await token()).not.toBe(before);

    const code = await nextCode(printedSecret(enrolled.stdout));
    const confirmed = await cli(["totp", "confirm", code], { env });
    expect(confirmed).toEqual({
      code: 0,
      stdout: `TOTP enabled for ${email}; ended 0 other session(s)\n`,
      stderr: "",
    });
  });

  it("without a terminal, says to run keycard reauth, which then lets enroll and confirm through", async () => {
    const { env, tokenFile } = await loggedIn("script-totp");
    clock.advance(fiveMinutes + 1_000);
    const refused = await cli(["totp", "enroll"], { env });
    expect(refused).toEqual({
      code: 1,
      stdout: "",
      stderr:
        'keycard: this needs a recent login (with a TOTP code once TOTP is on): run "keycard reauth", then this command again (STEP_UP_REQUIRED)\n',
    });

    const wrong = await cli(["reauth", "--password-stdin"], { env, input: "not my password" });
    expect(wrong).toMatchObject({ code: 1, stdout: "" });
    expect(wrong.stderr).toBe("keycard: wrong password (INVALID_CREDENTIALS)\n");
    const missing = await cli(["reauth"], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing password: pass --password-stdin");

    const reauth = await cli(["reauth", "--password-stdin"], { env, input: password });
    expect(reauth.code, reauth.stderr).toBe(0);
    expect(reauth.stdout).toMatch(/^Proven again on session \S+ \(pwd, AAL1\)\n$/);
    expect(reauth.stderr).toBe(`Session token saved to ${tokenFile}\n`);

    const enrollment = await cliJson(["totp", "enroll", "--token-file", tokenFile]);
    expect(Object.keys(enrollment).sort()).toEqual([
      "otpauth_uri",
      "qr_code_svg",
      "qr_code_text",
      "secret",
    ]);
    const secret = String(enrollment.secret);
    const confirmed = await cliJson([
      "totp",
      "confirm",
      await nextCode(secret),
      "--token-file",
      tokenFile,
    ]);
    expect(confirmed).toMatchObject({ user: { totp_enabled: true }, revoked_sessions: 0 });

    // With TOTP on, removing needs the code too: a password alone is not enough.
    await cli(["reauth", "--password-stdin"], { env, input: password });
    expect((await cli(["totp", "remove"], { env })).stderr).toContain("(STEP_UP_REQUIRED)");
    const withCode = await cli(
      ["reauth", "--password-stdin", "--totp-code", await nextCode(secret)],
      { env, input: password },
    );
    expect(withCode.stdout).toMatch(/\(pwd\+otp, AAL2\)\n$/);
    expect(await cliJson(["totp", "remove", "--token-file", tokenFile])).toMatchObject({
      user: { totp_enabled: false },
    });
  });
});

describe("the admin forms beside them", () => {
  it("still enroll a user named by email at a terminal, confirm with the user and code, and reset", async () => {
    const email = uniqueEmail("admin-form");
    await addUser(email);
    const enrolled = await cliAtTerminal(
      ["totp", "enroll", email],
      answers({
        "Code from the authenticator (Enter to confirm later): ": (stdout) =>
          nextCode(printedSecret(stdout)),
      }),
    );
    expect(enrolled.code, enrolled.stderr).toBe(0);
    expect(qrBlocks(enrolled.stdout)).toBeGreaterThan(200);
    expect(enrolled.stdout).toMatch(new RegExp(`\nTOTP enabled for ${email}\n$`));
    expect((await cli(["totp", "reset", email])).stdout).toBe(`TOTP removed for ${email}\n`);

    const pending = await cliJson(["totp", "enroll", email]);
    const confirmed = await cliJson([
      "totp",
      "confirm",
      email,
      await nextCode(String(pending.secret)),
    ]);
    expect(confirmed).toMatchObject({ user: { email, totp_enabled: true } });
  });
});

describe("keycard password", () => {
  it("changes the password at a terminal on a stale session, proving it with the current one, and ends the other sessions", async () => {
    const { email, env, token } = await loggedIn("change");
    const other = join(home(), "change", "other-session");
    await cliJson(["login", "--email", email, "--password-stdin", "--token-file", other], password);
    const before = await token();
    clock.advance(fiveMinutes + 1_000);

    const changed = await cliAtTerminal(
      ["password"],
      answers({
        "Current password: ": password,
        "New password: ": newPassword,
        "New password again: ": newPassword,
      }),
      env,
    );
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.prompts).toEqual([
      "Current password: ",
      "New password: ",
      "New password again: ",
    ]);
    expect(changed.stdout).toBe("Password changed; 1 other session(s) ended\n");
    expect(`${changed.stdout}${changed.stderr}`).not.toContain(newPassword);
    expect(await token()).not.toBe(before);
    expect((await cli(["whoami"], { env })).code).toBe(0);
    const ended = await cli(["whoami", "--token-file", other]);
    expect(ended.stderr).toContain("(SESSION_REVOKED)");

    const relogin = await cli(
      ["login", "--email", email, "--password-stdin", "--token-file", other],
      {
        input: newPassword,
      },
    );
    expect(relogin.code, relogin.stderr).toBe(0);
    const kept = await cli(["password", "--password-stdin", "--keep-other-sessions"], {
      env,
      input: `${newPassword}\n${password}\n`,
    });
    expect(kept).toEqual({
      code: 0,
      stdout: "Password changed; 0 other session(s) ended\n",
      stderr: "",
    });
    expect((await cli(["whoami", "--token-file", other])).code).toBe(0);
  });

  it("says clearly when the current password is wrong, the new one is weak, or the two do not match", async () => {
    const { env } = await loggedIn("refusals");
    const change = (input: string) => cli(["password", "--password-stdin"], { env, input });
    const cases: [string, number, string][] = [
      [
        `wrong password\n${newPassword}`,
        1,
        "keycard: the current password is wrong (INVALID_CREDENTIALS)\n",
      ],
      [
        `${password}\nqwertyuiop`,
        1,
        "keycard: new_password is one of the most common passwords, which attackers try first; choose another (INVALID_ARGUMENT, field new_password)\n",
      ],
      [
        `${password}\nshort`,
        1,
        "keycard: new_password must be 8 to 1024 bytes (INVALID_ARGUMENT, field new_password)\n",
      ],
      [
        password,
        2,
        "keycard: --password-stdin reads two lines: the current password, then the new one\n",
      ],
    ];
    for (const [input, code, stderr] of cases) {
      expect(await change(input)).toEqual({ code, stdout: "", stderr });
    }
    // A stale session is proven with the current password first: a wrong one says the same.
    clock.advance(fiveMinutes + 1_000);
    expect((await change(`wrong password\n${newPassword}`)).stderr).toBe(
      "keycard: the current password is wrong (INVALID_CREDENTIALS)\n",
    );

    const mismatch = await cliAtTerminal(
      ["password"],
      answers({
        "Current password: ": password,
        "New password: ": newPassword,
        "New password again: ": "something else entirely",
      }),
      env,
    );
    expect(mismatch).toMatchObject({
      code: 2,
      stdout: "",
      stderr: expect.stringMatching(/keycard: the passwords do not match\n$/),
    });
    const noTerminal = await cli(["password"], { env });
    expect(noTerminal.code).toBe(2);
    expect(noTerminal.stderr).toContain("missing passwords: pass --password-stdin");
    expect(
      (
        await cli(["password", "--password-stdin"], {
          input: `${password}\n${newPassword}`,
          env: { KEYCARD_TOKEN_FILE: join(home(), "nobody") },
        })
      ).stderr,
    ).toContain("not logged in");
  });

  it("resets a password with an administrator's token, from stdin or typed twice, once per token", async () => {
    const { email, userId, env } = await loggedIn("reset");
    const issueToken = async () => {
      const reply = await postJson(
        `${testEnv().KEYCARD_URL}/admin/users/${userId}/password-reset`,
        {},
        bearer(testEnv().KEYCARD_ADMIN_TOKEN ?? ""),
      );
      return String(reply.body.token);
    };
    const first = await issueToken();
    const reset = await cli(["password", "reset", first, "--password-stdin"], {
      input: newPassword,
    });
    expect(reset).toEqual({
      code: 0,
      stdout: "Password reset; 1 session(s) ended\n",
      stderr: "Log in with the new password: keycard login --email <email>\n",
    });
    expect((await cli(["whoami"], { env })).stderr).toContain("(SESSION_REVOKED)");
    const again = await cli(["password", "reset", first, "--password-stdin"], { input: password });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /^keycard: This password-reset token is unknown.*\(RESET_TOKEN_INVALID\)\n$/,
    );

    const typed = await cliAtTerminal(
      ["password", "reset", await issueToken()],
      answers({ "New password: ": password, "New password again: ": password }),
    );
    expect(typed.code, typed.stderr).toBe(0);
    expect(typed.prompts).toEqual(["New password: ", "New password again: "]);
    const login = await cli(["login", "--email", email, "--password-stdin"], {
      env,
      input: password,
    });
    expect(login.code, login.stderr).toBe(0);
  });
});

describe("keycard sessions for one's own account", () => {
  it("renames a session and lists one's sessions with label, device and which is current", async () => {
    const { email, env, sessionId } = await loggedIn("rename");
    const laptop = join(home(), "rename", "laptop");
    clock.advance(1_000); // newest first: the second session is listed first
    const second = await cliJson(
      ["login", "--email", email, "--password-stdin", "--token-file", laptop],
      password,
    );
    const secondId = String(second.session_id);

    const renamed = await cli(["sessions", "rename", secondId, "Work laptop"], { env });
    expect(renamed).toEqual({
      code: 0,
      stdout: `Renamed session ${secondId} to "Work laptop"\n`,
      stderr: "",
    });
    const listed = await cliJson(["sessions", "list"], undefined, env);
    expect(listed.sessions).toEqual([
      expect.objectContaining({ id: secondId, label: "Work laptop", current: false }),
      expect.objectContaining({ id: sessionId, label: "", current: true }),
    ]);
    const table = (await cli(["sessions", "list"], { env })).stdout.split("\n");
    expect(table[0]).toMatch(/^ID\s+CURRENT\s+LABEL\s+DEVICE\s+LOCATION\s+IP\s+METHODS\s+CREATED/);
    expect(table[1]).toMatch(new RegExp(`^${secondId}\\s+-\\s+Work laptop\\s+Unknown client`));
    expect(table[2]).toMatch(new RegExp(`^${sessionId}\\s+yes\\s+-\\s+Unknown client`));
    const admin = (await cli(["sessions", "list", email])).stdout;
    expect(admin).toMatch(/^ID\s+LABEL\s+DEVICE\s+LOCATION\s+IP\s+METHODS\s+CREATED/);
    expect(admin).toMatch(new RegExp(`${secondId}\\s+Work laptop\\s+`));

    const someoneElse = await loggedIn("rename-other");
    const cases: [string[], string][] = [
      [
        ["no-such-session", "x"],
        "keycard: none of your live sessions has the id no-such-session (see keycard sessions list) (NOT_FOUND)\n",
      ],
      [
        [someoneElse.sessionId, "x"],
        `keycard: none of your live sessions has the id ${someoneElse.sessionId} (see keycard sessions list) (NOT_FOUND)\n`,
      ],
      [
        [secondId, "x".repeat(65)],
        "keycard: label must be 1 to 64 printable characters (INVALID_ARGUMENT, field label)\n",
      ],
      [
        [secondId, "tab\there"],
        "keycard: label must be 1 to 64 printable characters (INVALID_ARGUMENT, field label)\n",
      ],
    ];
    for (const [args, stderr] of cases) {
      expect(await cli(["sessions", "rename", ...args], { env })).toEqual({
        code: 1,
        stdout: "",
        stderr,
      });
    }
    const tooMany = await cli(["sessions", "rename", secondId, "Work", "laptop"], { env });
    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr).toContain('unexpected argument "laptop"');
  });
});

describe("keycard help for the self-service commands", () => {
  it("lists them, and shows both forms of the commands with an admin form", async () => {
    const [top, enroll, confirm, change, group, unknown] = await Promise.all([
      cli([]),
      cli(["totp", "enroll", "--help"]),
      cli(["totp", "confirm", "-h"]),
      cli(["password", "--help"]),
      cli(["sessions"]),
      cli(["password", "frob"]),
    ]);
    for (const command of ["reauth", "password reset", "totp remove", "sessions rename"]) {
      expect(top.stdout).toContain(command);
    }
    expect(top.stdout).toMatch(/\n {2}password {2,}Change your own password/);
    expect(enroll.stdout).toContain("Usage: keycard totp enroll [user-id|email] [options]");
    expect(enroll.stdout).toContain("Without a user it enrolls your own account");
    expect(enroll.stdout).toContain("--admin-token");
    expect(confirm.stdout).toContain(
      "Usage: keycard totp confirm [user-id|email] <code> [options]",
    );
    expect(change.stdout).toContain(
      "Usage: keycard password [--keep-other-sessions] [--password-stdin] [options]",
    );
    expect(change.stdout).toContain("keycard password reset <token>");
    expect(change.stdout).not.toContain("--admin-token");
    expect(group.stdout).toContain("sessions rename");
    for (const result of [top, enroll, confirm, change, group]) {
      expect(result).toMatchObject({ code: 0, stderr: "" });
    }
    expect(unknown).toEqual({
      code: 2,
      stdout: "",
      stderr: 'keycard: unknown command "password frob" (see keycard password --help)\n',
    });
    expect(unknown.stderr).not.toMatch(stackTrace);
  });
});
