import { execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import net, { type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKeycard, type TestKeycard, testAdminToken } from "../helpers/keycard.js";
import { requireOnPath } from "../helpers/tools.js";

/*
 * The `keycard` command line as people and scripts use it: a subprocess per command
 * against a real server on an ephemeral port, checking stdout, stderr, exit codes and the
 * files it writes.
 */

const tsx = "node_modules/.bin/tsx";
const password = "correct horse battery staple";
const keyPattern = /kc_key_[A-Za-z0-9_-]{43}/;
const stackTrace = /\n\s+at /;
/** Each command is a fresh tsx process (about half a second), and some tests run a dozen. */
const slow = { timeout: 60_000 };

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let keycard: TestKeycard;
let home: string;

beforeAll(async () => {
  keycard = await startKeycard();
  home = await mkdtemp(join(tmpdir(), "keycard-cli-"));
});

afterAll(async () => {
  await keycard?.close();
  if (home !== undefined) {
    await rm(home, { recursive: true, force: true });
  }
});

/** Runs `keycard <args>` with KEYCARD_URL and KEYCARD_ADMIN_TOKEN pointing at the test server. */
async function cli(
  args: readonly string[],
  options: { input?: string; env?: Record<string, string> } = {},
): Promise<Result> {
  const child = spawn(tsx, ["src/cli/main.ts", ...args], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: home,
      KEYCARD_URL: keycard.baseUrl,
      KEYCARD_ADMIN_TOKEN: testAdminToken,
      ...options.env,
    },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdin.end(options.input ?? "");
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout, stderr };
}

/** Runs a command that must succeed and returns its stdout parsed as JSON. */
async function cliJson(args: readonly string[], input?: string): Promise<Record<string, unknown>> {
  const result = await cli([...args, "--json"], input === undefined ? {} : { input });
  if (result.code !== 0) {
    throw new Error(`keycard ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

/** The current TOTP code of a base32 secret, `stepsAhead` 30-second steps from now. */
function totpCode(secret: string, stepsAhead = 0): string {
  return execFileSync(requireOnPath("oathtool", "oathtool"), [
    "--totp",
    "-b",
    secret,
    "-N",
    `now + ${stepsAhead * 30} seconds`,
  ])
    .toString()
    .trim();
}

function uniqueEmail(name: string): string {
  return `${name}-${randomUUID().slice(0, 8)}@example.com`;
}

async function addUser(email: string, roles: string[] = []): Promise<Record<string, unknown>> {
  const args = ["user", "add", "--email", email, "--name", "Test User", "--password-stdin"];
  const response = await cliJson([...args, ...roles.flatMap((role) => ["--role", role])], password);
  return response.user as Record<string, unknown>;
}

async function closedPortUrl(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe("keycard help", slow, () => {
  it("prints usage without arguments and help for groups and commands, exiting 0", async () => {
    const [bare, group, userAdd, apiKeyCreate, totpEnroll] = await Promise.all([
      cli([]),
      cli(["user"]),
      cli(["user", "add", "--help"]),
      cli(["apikey", "create", "-h"]),
      cli(["totp", "enroll", "--help"]),
    ]);
    expect(bare.code).toBe(0);
    expect(bare.stdout).toContain("Usage: keycard <command>");
    for (const command of ["serve", "login", "whoami", "user add", "apikey revoke", "totp reset"]) {
      expect(bare.stdout).toContain(command);
    }
    expect(group.code).toBe(0);
    expect(group.stdout).toContain("user passwd");
    expect(userAdd.code).toBe(0);
    expect(userAdd.stdout).toContain("Usage: keycard user add --email <email> --name <name>");
    expect(userAdd.stdout).toContain("--password-stdin");
    expect(userAdd.stdout).toContain("Examples:");
    expect(apiKeyCreate.code).toBe(0);
    expect(apiKeyCreate.stdout).toContain("--skip-totp");
    expect(apiKeyCreate.stdout).toContain("--expires <when>");
    expect(totpEnroll.code).toBe(0);
    expect(totpEnroll.stdout).toContain("otpauth://");
    for (const result of [bare, group, userAdd, apiKeyCreate, totpEnroll]) {
      expect(result.stderr).toBe("");
    }
  });
});

describe("keycard user", slow, () => {
  it("adds, lists, re-passwords and disables a user named by email", async () => {
    const email = uniqueEmail("alice");
    const add = ["user", "add", "--email", email, "--name", "Alice", "--password-stdin"];
    const added = await cliJson([...add, "--role", "ops", "--role", "user"], password);
    const user = added.user as Record<string, unknown>;
    expect(Object.keys(user).sort()).toEqual(
      ["created_at", "disabled", "display_name", "email", "id", "roles", "totp_enabled"].sort(),
    );
    expect(user).toMatchObject({
      email,
      display_name: "Alice",
      roles: ["ops", "user"],
      disabled: false,
      totp_enabled: false,
    });

    const table = await cli(["user", "list"]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+EMAIL\s+NAME\s+ROLES/);
    expect(table.stdout).toMatch(new RegExp(`${user.id}\\s+${email}\\s+Alice\\s+ops,user`));
    const listed = await cliJson(["user", "list"]);
    expect(listed.next_page_token).toBe("");
    expect(listed.users).toContainEqual(expect.objectContaining({ id: user.id, email }));

    const tokenFile = join(home, "alice", "session");
    const login = (pw: string) =>
      cli(["login", "--email", email, "--password-stdin", "--token-file", tokenFile], {
        input: pw,
      });
    expect((await login(password)).code).toBe(0);

    const changed = await cliJson(
      ["user", "passwd", email.toUpperCase(), "--password-stdin"],
      "a brand new password",
    );
    expect(changed).toEqual({ revoked_sessions: 1 });
    const oldPassword = await login(password);
    expect(oldPassword.code).toBe(1);
    expect(oldPassword.stderr).toMatch(/^keycard: .*\(INVALID_CREDENTIALS\)\n$/);
    expect((await login("a brand new password")).code).toBe(0);

    const disabled = await cliJson(["user", "disable", email]);
    expect(disabled).toMatchObject({ user: { id: user.id, disabled: true }, revoked_sessions: 1 });
    expect((await login("a brand new password")).code).toBe(1);
    const human = await cli(["user", "disable", String(user.id)]);
    expect(human).toEqual({
      code: 0,
      stdout: `Disabled user ${email} (id ${user.id}); ended 0 session(s)\n`,
      stderr: "",
    });
  });
});

describe("keycard apikey", slow, () => {
  it("creates a key shown once with a warning, lists it without the secret, and revokes it", async () => {
    const email = uniqueEmail("robot");
    const user = await addUser(email);

    const shown = await cli(["apikey", "create", email, "--name", "laptop"]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(keyPattern);
    expect(shown.stderr).toContain("Store this key now: it cannot be shown again.");

    const created = await cliJson([
      "apikey",
      "create",
      String(user.id),
      "--name",
      "ci",
      "--skip-totp",
      "--expires",
      "30d",
    ]);
    const key = String(created.key);
    expect(key).toMatch(keyPattern);
    const apiKey = created.api_key as Record<string, unknown>;
    expect(apiKey).toMatchObject({
      user_id: user.id,
      name: "ci",
      hint: key.slice(0, 11),
      revoked: false,
      skip_totp: true,
    });
    const expiresInDays = (Date.parse(String(apiKey.expires_at)) - Date.now()) / 86_400_000;
    expect(expiresInDays).toBeGreaterThan(29.9);
    expect(expiresInDays).toBeLessThan(30.1);

    const tokenFile = join(home, "robot", "session");
    expect((await cli(["login", "--api-key", key, "--token-file", tokenFile])).code).toBe(0);

    const listed = await cli(["apikey", "list", email, "--json"]);
    expect(listed.stdout).not.toContain(key);
    const keys = (JSON.parse(listed.stdout) as { api_keys: Record<string, unknown>[] }).api_keys;
    expect(keys.map((entry) => entry.name)).toEqual(["ci", "laptop"]);
    const table = await cli(["apikey", "list", email]);
    expect(table.stdout).toMatch(
      new RegExp(`${apiKey.id}\\s+ci\\s+${key.slice(0, 11)}\\.\\.\\.\\s+active\\s+skipped`),
    );

    const revoked = await cliJson(["apikey", "revoke", String(apiKey.id)]);
    expect(revoked).toMatchObject({
      api_key: { id: apiKey.id, revoked: true },
      revoked_sessions: 1,
    });
    const refused = await cli(["login", "--api-key", key, "--token-file", tokenFile]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("(INVALID_CREDENTIALS)");
  });
});

describe("keycard list commands", slow, () => {
  it("lists every key of a user, following the pages past the largest one", async () => {
    const email = uniqueEmail("many-keys");
    const user = await addUser(email);
    const created = new Set<string>();
    for (let start = 0; start < 1_001; start += 50) {
      const batch = Array.from({ length: Math.min(50, 1_001 - start) }, async (_, i) => {
        const reply = await fetch(`${keycard.baseUrl}/admin/users/${String(user.id)}/api-keys`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${testAdminToken}`,
            "content-type": "application/json",
          },
          body: JSON.stringify({ name: `key ${start + i}`, skip_totp: true }),
        });
        const body = (await reply.json()) as { api_key: { id: string } };
        created.add(body.api_key.id);
      });
      await Promise.all(batch);
    }

    const listed = await cliJson(["apikey", "list", email]);

    const keys = listed.api_keys as { id: string }[];
    expect(keys).toHaveLength(1_001);
    expect(new Set(keys.map((key) => key.id))).toEqual(created);
    expect(listed.next_page_token).toBe("");
  });
});

describe("keycard totp, login, whoami and logout", slow, () => {
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

    const tokenFile = join(home, "totp", "nested", "session");
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
    expect((me.session as { auth_methods: string[] }).auth_methods).toEqual(
      expect.arrayContaining(["api_key", "totp"]),
    );
    const human = await cli(["whoami"], { env: { KEYCARD_TOKEN_FILE: tokenFile } });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`Test User <${email}>`);

    const sessions = await cliJson(["sessions", "list", email]);
    expect(sessions.sessions).toEqual([expect.objectContaining({ id: login.session_id })]);

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
        ["login", "--email", email, "--password-stdin", "--token-file", join(home, file)],
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

describe("keycard exit codes and errors", slow, () => {
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
    const tokenFile = join(home, "exit-codes", "session");
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
