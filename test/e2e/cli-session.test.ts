import { readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { runKeycardProcess } from "../helpers/cli.js";
import {
  cliSuite,
  closedPortUrl,
  password,
  stackTrace,
  totpCode,
  uniqueEmail,
} from "../helpers/cli-suite.js";

/*
 * The `keycard` command line as people and scripts use it, against a real server on an
 * ephemeral port, checking stdout, stderr, exit codes and the files it writes. Commands run
 * in this process through runCli with in-memory streams; one test runs the real process.
 */

const { cli, cliJson, addUser, testEnv, home } = cliSuite();

describe("keycard totp, login, whoami and logout", () => {
  it("enrolls TOTP, confirms an oathtool code, and logs in with key + code into a 0600 file", async () => {
    const email = uniqueEmail("totp");
    await addUser(email);
    const enrollment = await cliJson(["totp", "enroll", email]);
    expect(Object.keys(enrollment).sort()).toEqual(["otpauth_uri", "qr_code_svg", "secret"]);
    const secret = String(enrollment.secret);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(enrollment.otpauth_uri).toMatch(/^otpauth:\/\/totp\/keycard:/);
    expect(enrollment.qr_code_svg).toContain("<svg");

    const confirmed = await cliJson(["totp", "confirm", email, totpCode(secret)]);
    expect(confirmed).toMatchObject({ user: { email, totp_enabled: true } });
    const key = String((await cliJson(["apikey", "create", email, "--name", "laptop"])).key);

    const tokenFile = join(home(), "totp", "nested", "session");
    const withoutCode = await cli(["login", "--api-key", key, "--token-file", tokenFile]);
    expect(withoutCode.code).toBe(1);
    expect(withoutCode.stderr).toBe("keycard: TOTP code required (TOTP_REQUIRED)\n");

    // The confirmation used this step's code, and each step is accepted once: take the next.
    const login = await cliJson([
      "login",
      "--api-key",
      key,
      "--totp-code",
      totpCode(secret, 1),
      "--token-file",
      tokenFile,
    ]);
    expect(login).toMatchObject({ user: "Test User", message: expect.any(String) });
    expect(login.session_token).toMatch(/^kc_sess_/);
    expect(Date.parse(String(login.expires_at))).toBeGreaterThan(Date.now());
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    expect((await stat(dirname(tokenFile))).mode & 0o777).toBe(0o700);
    expect((await readFile(tokenFile, "utf8")).trim()).toBe(login.session_token);

    const me = await cliJson(["whoami", "--token-file", tokenFile]);
    expect(me).toMatchObject({
      user: { email, totp_enabled: true },
      session: { id: login.session_id, current: true },
    });
    expect(me.session).toMatchObject({
      auth_methods: ["api_key", "totp"],
      authentication_methods: ["AUTH_METHOD_API_KEY", "AUTH_METHOD_TOTP"],
    });
    const human = await cli(["whoami"], { env: { KEYCARD_TOKEN_FILE: tokenFile } });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`Test User <${email}>`);
    expect(human.stdout).toContain(`session   ${login.session_id} (api_key+totp)`);

    const sessions = await cliJson(["sessions", "list", email]);
    expect(sessions.sessions).toEqual([expect.objectContaining({ id: login.session_id })]);
    const table = await cli(["sessions", "list", email]);
    expect(table.stdout).toMatch(/ api_key\+totp /);

    const logout = await cli(["logout", "--token-file", tokenFile]);
    expect(logout.code).toBe(0);
    await expect(stat(tokenFile)).rejects.toMatchObject({ code: "ENOENT" });
    const after = await cli(["whoami", "--token-file", tokenFile]);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain("not logged in");

    const reset = await cliJson(["totp", "reset", email]);
    expect(reset).toMatchObject({ user: { email, totp_enabled: false } });
  });

  it("prints a terminal QR code, the secret and how to confirm when not on a terminal", async () => {
    const email = uniqueEmail("qr");
    await addUser(email);
    const result = await cli(["totp", "enroll", email]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/[▄▀█]/);
    expect(result.stdout).toMatch(/secret {2}[A-Z2-7]{32}\n/);
    expect(result.stdout).toContain("otpauth://totp/keycard:");
    expect(result.stderr).toContain(`Confirm with: keycard totp confirm ${email} <code>`);
  });

  it("revokes one session of a user by id, then all of them", async () => {
    const email = uniqueEmail("sessions");
    await addUser(email);
    const login = (file: string) =>
      cliJson(
        ["login", "--email", email, "--password-stdin", "--token-file", join(home(), file)],
        password,
      );
    const first = await login("s1");
    await login("s2");
    const listed = await cli(["sessions", "list", email]);
    expect(listed.stdout.trim().split("\n")).toHaveLength(3);
    expect(await cliJson(["sessions", "revoke", email, String(first.session_id)])).toEqual({
      revoked_count: 1,
    });
    const all = await cli(["sessions", "revoke", email]);
    expect(all.stdout).toBe("Ended 1 session(s)\n");
    expect((await cli(["sessions", "list", email])).stdout).toBe("No live sessions.\n");
  });
});

describe("keycard exit codes and errors", () => {
  it("exits 2 for usage errors, 1 when the server refuses, 3 when it cannot be reached", async () => {
    const email = uniqueEmail("exists");
    await addUser(email);
    const unreachable = await closedPortUrl();
    const cases: [string[], number, string, Record<string, string>?][] = [
      [["frob"], 2, 'unknown command "frob"'],
      [["user", "frob"], 2, 'unknown command "user frob"'],
      [["user", "add", "--bogus"], 2, "unknown option --bogus"],
      [["user", "disable"], 2, "missing <user-id|email>"],
      [["user", "disable", "a", "b"], 2, 'unexpected argument "b"'],
      [["apikey", "create", "someone"], 2, "missing --name"],
      [["user", "add", "--email", email, "--name", "X"], 2, "missing password"],
      [["user", "list"], 2, "needs the administrator token", { KEYCARD_ADMIN_TOKEN: "" }],
      [["user", "list", "--url", "ftp://example.com"], 2, "must start with http"],
      [["user", "disable", "no-such-user-id"], 1, "(NOT_FOUND)"],
      [["user", "disable", "nobody@example.com"], 1, "no user with email"],
      [
        ["user", "add", "--email", email, "--name", "X", "--password", password],
        1,
        "(USER_EXISTS)",
      ],
      [
        ["user", "list", "--admin-token", "wrong-admin-token-0123456789"],
        1,
        "(ADMIN_TOKEN_REQUIRED)",
      ],
      [["login", "--email", email, "--password", "wrong password"], 1, "(INVALID_CREDENTIALS)"],
      [["totp", "confirm", email, "123456"], 1, "(INVALID_ARGUMENT"],
      [["user", "list", "--url", unreachable], 3, `cannot reach keycard at ${unreachable}`],
      [["whoami"], 3, "cannot reach keycard", { KEYCARD_URL: unreachable }],
    ];
    const tokenFile = join(home(), "exit-codes", "session");
    await cliJson(
      ["login", "--email", email, "--password-stdin", "--token-file", tokenFile],
      password,
    );
    const results = await Promise.all(
      cases.map(([args, , , env]) => cli(args, { env: { KEYCARD_TOKEN_FILE: tokenFile, ...env } })),
    );
    for (const [index, [args, code, message]] of cases.entries()) {
      const result = results[index];
      expect({ args, code: result?.code }).toEqual({ args, code });
      expect(result?.stderr).toMatch(/^keycard: [^\n]+\n$/);
      expect(result?.stderr).toContain(message);
      expect(result?.stderr).not.toMatch(stackTrace);
      expect(result?.stdout).toBe("");
    }
  });
});

describe("the keycard process", () => {
  it("logs in to ~/.keycard/session, shows it with whoami, and exits 1 when refused", async () => {
    const email = uniqueEmail("process");
    await addUser(email);
    const env = testEnv({ HOME: join(home(), "process-home") });
    const loginArgs = ["login", "--email", email, "--password-stdin"];
    const [login, refused] = await Promise.all([
      runKeycardProcess(loginArgs, { input: password, env }),
      runKeycardProcess(loginArgs, { input: "wrong password", env }),
    ]);
    const tokenFile = join(home(), "process-home", ".keycard", "session");
    expect(login.code).toBe(0);
    expect(login.stdout).toMatch(/^Logged in as Test User \(session [^)]+\)\.\n/);
    expect(login.stderr).toBe(`Session token saved to ${tokenFile}\n`);
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    expect(refused).toMatchObject({ code: 1, stdout: "" });
    expect(refused.stderr).toMatch(/^keycard: [^\n]*\(INVALID_CREDENTIALS\)\n$/);

    const whoami = await runKeycardProcess(["whoami"], { env });
    expect(whoami.code).toBe(0);
    expect(whoami.stdout).toContain(`Test User <${email}>`);
    expect(whoami.stderr).toBe("");
  });
});
