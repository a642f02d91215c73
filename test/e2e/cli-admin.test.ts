import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliSuite, keyPattern, password, uniqueEmail } from "../helpers/cli-suite.js";

/*
 * The `keycard` command line as people and scripts use it, against a real server on an
 * ephemeral port, checking stdout, stderr, exit codes and the files it writes. Commands run
 * in this process through runCli with in-memory streams.
 */

const { cli, cliJson, addUser, home, testEnv } = cliSuite();

describe("keycard help", () => {
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

describe("keycard user", () => {
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

    const tokenFile = join(home(), "alice", "session");
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

describe("keycard apikey", () => {
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

    const tokenFile = join(home(), "robot", "session");
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

describe("keycard list commands", () => {
  it("lists every key of a user, following the pages past the largest one", async () => {
    const email = uniqueEmail("many-keys");
    const user = await addUser(email);
    const created = new Set<string>();
    for (let start = 0; start < 1_001; start += 50) {
      const batch = Array.from({ length: Math.min(50, 1_001 - start) }, async (_, i) => {
        const reply = await fetch(
          `${testEnv().KEYCARD_URL}/admin/users/${String(user.id)}/api-keys`,
          {
            method: "POST",
            headers: {
              authorization: `Bearer ${testEnv().KEYCARD_ADMIN_TOKEN}`,
              "content-type": "application/json",
            },
            body: JSON.stringify({ name: `key ${start + i}`, skip_totp: true }),
          },
        );
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
