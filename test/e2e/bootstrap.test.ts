import { execFileSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { AdminService } from "../../gen/keycard/v1/admin_service_pb.js";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import { exitCodeOf, killStarted, type Started, startMain, waitFor } from "../helpers/process.js";
import { requireOnPath } from "../helpers/tools.js";

/*
 * KEYCARD_BOOTSTRAP through the real process: the same file applied at every start must
 * create its accounts once, and what it imports (a key, a TOTP secret) must log in.
 */

const adminToken = "bootstrap-test-admin-token-0123456789";
const totpSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "keycard-bootstrap-"));
});

afterEach(killStarted);

afterAll(async () => {
  if (directory !== undefined) {
    await rm(directory, { recursive: true, force: true });
  }
});

/** Starts keycard, waits until it listens, and returns its URL. */
async function startListening(started: Started): Promise<string> {
  const [, port] = await waitFor(started, /"port":(\d+).*keycard listening/);
  return `http://127.0.0.1:${port}`;
}

async function stop(started: Started): Promise<void> {
  started.child.kill("SIGTERM");
  expect(await exitCodeOf(started.child)).toBe(0);
}

function clients(url: string) {
  const transport = createConnectTransport({
    baseUrl: url,
    httpVersion: "1.1",
    interceptors: [
      (next) => (req) => {
        req.header.set("authorization", `Bearer ${adminToken}`);
        return next(req);
      },
    ],
  });
  return {
    admin: createClient(AdminService, transport),
    auth: createClient(AuthService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" })),
  };
}

describe("the bootstrap file", () => {
  it("creates its users and keys once however often keycard starts, and they log in", async () => {
    const key = `kc_key_${randomBytes(32).toString("base64url")}`;
    const ops = `ops-${randomUUID().slice(0, 8)}@example.com`;
    const gone = `gone-${randomUUID().slice(0, 8)}@example.com`;
    const file = join(directory, "users.yaml");
    await writeFile(
      file,
      [
        "# applied at every start; existing users and keys are left alone",
        "users:",
        `  - email: ${ops.toUpperCase()}`,
        "    display_name: Ops",
        "    password: correct horse battery staple",
        "    roles: [admin, ops]",
        `    totp_secret: ${totpSecret.toLowerCase()}`,
        "    api_keys:",
        "      - name: deploy",
        `        key: ${key}`,
        "        expires_at: 2099-01-01T00:00:00Z",
        `  - email: ${gone}`,
        "    display_name: Gone",
        "    password: correct horse battery staple",
        "    disabled: true",
        "",
      ].join("\n"),
    );
    const env = {
      REDIS_URL: inject("redisUrl"),
      REDIS_KEY_PREFIX: `bootstrap-test-${randomUUID()}`,
      KEYCARD_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
      KEYCARD_ADMIN_TOKEN: adminToken,
      KEYCARD_BOOTSTRAP: file,
    };

    const first = startMain(env);
    await startListening(first);
    expect(first.output()).toContain("bootstrap: user created");
    expect(first.output()).toContain("bootstrap: API key imported");
    expect(first.output()).not.toContain(key);
    await stop(first);

    const second = startMain(env);
    const url = await startListening(second);
    expect(second.output()).toContain("bootstrap: user exists");
    expect(second.output()).toContain("bootstrap: API key exists");
    expect(second.output()).not.toContain("bootstrap: user created");

    const { admin, auth } = clients(url);
    const { users } = await admin.listUsers({ pageSize: 1000 });
    const opsUsers = users.filter((user) => user.email === ops);
    expect(opsUsers).toHaveLength(1);
    expect(opsUsers[0]).toMatchObject({
      displayName: "Ops",
      roles: ["admin", "ops"],
      totpEnabled: true,
      disabled: false,
    });
    expect(users.filter((user) => user.email === gone)).toEqual([
      expect.objectContaining({ disabled: true }),
    ]);
    const { apiKeys } = await admin.listApiKeys({ userId: opsUsers[0]?.id ?? "" });
    expect(apiKeys).toEqual([
      expect.objectContaining({ name: "deploy", hint: key.slice(0, 11), revoked: false }),
    ]);

    const totpCode = execFileSync(requireOnPath("oathtool", "oathtool"), [
      "--totp",
      "-b",
      totpSecret,
    ])
      .toString()
      .trim();
    const login = await auth.login({ apiKey: key, totpCode });
    expect(login.sessionToken).toMatch(/^kc_sess_/);
    expect(login.user).toBe("Ops");
    await stop(second);
  });

  it("stops keycard with exit code 2 and a message naming the file when it is malformed", async () => {
    const broken = join(directory, "broken.yaml");
    await writeFile(broken, "users:\n  - email: [unclosed\n");
    const invalid = join(directory, "invalid.json");
    await writeFile(
      invalid,
      JSON.stringify({ users: [{ email: "a@example.com", display_name: "A", password: "short" }] }),
    );
    const env = {
      REDIS_URL: inject("redisUrl"),
      REDIS_KEY_PREFIX: `bootstrap-test-${randomUUID()}`,
      KEYCARD_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
      KEYCARD_ADMIN_TOKEN: adminToken,
    };
    const yaml = startMain({ ...env, KEYCARD_BOOTSTRAP: broken });
    const json = startMain({ ...env, KEYCARD_BOOTSTRAP: invalid });
    expect(await exitCodeOf(yaml.child)).toBe(2);
    expect(await exitCodeOf(json.child)).toBe(2);
    expect(yaml.output()).toContain(`keycard: bootstrap file ${broken}: is not valid YAML`);
    expect(json.output()).toContain(
      `keycard: bootstrap file ${invalid}: users[0].password must be 8 to 1024 bytes`,
    );
    for (const output of [yaml.output(), json.output()]) {
      expect(output).not.toMatch(/\n\s+at /);
      expect(output).not.toContain("keycard listening");
    }
  });
});
