import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BootstrapError, loadBootstrapFile } from "../../src/app/bootstrap/file.js";

const dir = mkdtempSync(join(tmpdir(), "bootstrap-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** Writes the text as a bootstrap file and loads it: the file, or the problems found. */
function load(name: string, text: string): ReturnType<typeof loadBootstrapFile> | string[] {
  files += 1;
  const path = join(dir, `${files}-${name}`);
  writeFileSync(path, text);
  try {
    return loadBootstrapFile(path, { tokenPrefix: "kc" });
  } catch (error) {
    if (error instanceof BootstrapError) {
      return [...error.problems];
    }
    throw error;
  }
}

const key = `kc_key_${"A".repeat(43)}`;
const account = "  - email: Ops@Example.com\n    display_name: Ops\n    password: correct horse\n";

describe("a bootstrap file, read as the proto message keycard.v1.BootstrapFile", () => {
  it("reads YAML with snake_case names, a YAML date and the account's fields normalized", () => {
    const file = load(
      "ok.yaml",
      `users:\n${account}    roles: [ops]\n    api_keys:\n      - name: ci\n        key: ${key}\n        expires_at: 2030-01-31T00:00:00Z\n`,
    );
    expect(file).toMatchObject({
      users: [
        {
          email: "ops@example.com",
          roles: ["ops"],
          apiKeys: [{ name: "ci", key, skipTotp: false, expiresAt: Date.UTC(2030, 0, 31) }],
        },
      ],
    });
  });

  it("reads the same account from JSON in lowerCamelCase", () => {
    const file = load(
      "ok.json",
      JSON.stringify({
        users: [{ email: "a@example.com", displayName: "A", password: "long enough" }],
      }),
    );
    expect(file).toMatchObject({ users: [{ email: "a@example.com", displayName: "A" }] });
  });

  it("refuses an unknown field by name, instead of ignoring a typo", () => {
    expect(load("typo.yaml", `users:\n${account}    rolez: [ops]\n`)).toEqual([
      'does not fit the bootstrap format (BootstrapUser: key "rolez" is unknown)',
    ]);
  });

  it("refuses a value of the wrong type, naming the field", () => {
    expect(load("type.yaml", `users:\n${account}    roles: ops\n`)).toEqual([
      'does not fit the bootstrap format (BootstrapUser.roles: expected Array, got "ops")',
    ]);
  });

  it("lists every broken rule at once, with the path of each field", () => {
    const problems = load(
      "rules.yaml",
      `users:\n  - email: nobody\n    password: short\n    totp_secret: "not base32!"\n    api_keys:\n      - name: ci\n        key: xx_key_abc\n${account}${account}`,
    );
    expect(problems).toEqual([
      "users[0].email must be an address like name@example.com",
      "users[0].display_name must be 1 to 200 characters",
      "users[0].password must be 8 to 1024 bytes",
      "users[0].totp_secret must be base32 (letters A-Z and digits 2-7)",
      `users[0].api_keys[0].key must be a whole API key, kc_key_ and 43 base64url characters (TOKEN_PREFIX is "kc")`,
      "users[2].email ops@example.com appears more than once",
    ]);
  });

  it("refuses a document that is not a mapping", () => {
    expect(load("list.json", "[1, 2]")).toEqual(['must be a mapping with a "users" list']);
  });
});
