import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createTestUser,
  postJson,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import { requirePythonWith } from "../helpers/tools.js";
import { clearOfStepEdge, enrollTotpOverRest } from "../helpers/totp-codes.js";

const run = promisify(execFile);
const fixtures = "test/fixtures/reference-000";
const referenceUrl = "https://bedrock-proxy.example.com";

/** A reference example with only its base URL changed, written to a scratch file. */
function withBaseUrl(file: string, baseUrl: string): string {
  const source = readFileSync(path.join(fixtures, file), "utf8");
  expect(source).toContain(referenceUrl);
  const target = path.join(mkdtempSync(path.join(os.tmpdir(), "ref000-")), file);
  writeFileSync(target, source.replaceAll(referenceUrl, baseUrl));
  return target;
}

describe("reference 000's own client examples, with only the base URL changed", () => {
  let keycard: TestKeycard;
  beforeAll(async () => {
    keycard = await startKeycard();
  });
  afterAll(() => keycard.close());

  /** A user with confirmed TOTP and an API key, as the reference's clients need. */
  async function credentials(): Promise<{ API_KEY: string; TOTP_SECRET: string }> {
    const user = await createTestUser(keycard, { displayName: "Alice" });
    const { secret } = await enrollTotpOverRest(keycard.baseUrl, user.id, testAdminToken);
    const created = await postJson(
      `${keycard.baseUrl}/admin/users/${user.id}/api-keys`,
      { name: "reference-000" },
      { authorization: `Bearer ${testAdminToken}` },
    );
    await clearOfStepEdge();
    return { API_KEY: String(created.body.key), TOTP_SECRET: secret };
  }

  it("logs in with the Python example (requests + pyotp) and uses the token", async () => {
    const { API_KEY, TOTP_SECRET } = await credentials();
    const { stdout } = await run(
      requirePythonWith(["requests", "pyotp"], "python3-requests python3-pyotp"),
      [withBaseUrl("client.py", keycard.baseUrl)],
      {
        env: { PATH: process.env.PATH ?? "", BEDROCK_API_KEY: API_KEY, TOTP_SECRET },
      },
    );
    expect(stdout).toMatch(/✅ Logged in! Token valid until \d{4}-\d\d-\d\dT/);
    expect(stdout).toContain("health 200");
  });

  it("logs in with the JavaScript example (axios + speakeasy) and uses the token", async () => {
    const { API_KEY, TOTP_SECRET } = await credentials();
    const { stdout } = await run(process.execPath, [withBaseUrl("client.cjs", keycard.baseUrl)], {
      env: {
        PATH: process.env.PATH ?? "",
        NODE_PATH: path.resolve("node_modules"),
        BEDROCK_API_KEY: API_KEY,
        TOTP_SECRET,
      },
    });
    expect(stdout).toMatch(/✅ Logged in! Token valid until \d{4}-\d\d-\d\dT/);
    expect(stdout).toContain("health 200");
  });

  it("logs in with the bash example (oathtool + curl + jq) and passes the health check", async () => {
    const { API_KEY, TOTP_SECRET } = await credentials();
    const { stdout } = await run("bash", [withBaseUrl("login.sh", keycard.baseUrl)], {
      env: { PATH: process.env.PATH ?? "", API_KEY, TOTP_SECRET },
    });
    expect(stdout).toMatch(/Session token: kc_sess_[A-Za-z0-9_-]{43}\n/);
    expect(JSON.parse(stdout.split("\n").at(-1) ?? "")).toMatchObject({
      status: "ok",
      user: "Alice",
    });
  });
});
