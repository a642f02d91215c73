import { randomUUID } from "node:crypto";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runKeycard } from "../helpers/cli.js";
import { isActive } from "../helpers/conformance.js";
import {
  createTestUser,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import { LogLines } from "../helpers/log-lines.js";
import { type Rest, restClient } from "../helpers/rest.js";

/** Polls `check` every 100 ms until it holds; false after `limitMs`. */
async function eventually(check: () => Promise<boolean>, limitMs: number): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    if (await check()) {
      return true;
    }
    if (Date.now() > deadline) {
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("ASVS 5.0 7.4.5: an administrator ends every session at once, on every replica", () => {
  const log = new LogLines();
  const namespace = `end-all-${randomUUID()}`;
  let a: TestKeycard;
  let b: TestKeycard;
  let restA: Rest;
  let restB: Rest;

  beforeAll(async () => {
    const options = { namespace, validateCacheMs: 1_000 };
    a = await startKeycard({ ...options, logger: pino({ level: "info" }, log) });
    b = await startKeycard(options);
    restA = restClient(a.baseUrl);
    restB = restClient(b.baseUrl);
  });
  afterAll(() => Promise.all([a?.close(), b?.close()]));

  const loginOn = async (rest: Rest): Promise<string> => {
    const user = await createTestUser(a);
    const reply = await rest.post("/auth/login", { email: user.email, password: user.password });
    return String(reply.body.session_token);
  };

  it("ends sessions from both replicas, cached ones included, within about a second; later logins work", async () => {
    const tokens = [await loginOn(restA), await loginOn(restB)];
    for (const token of tokens) {
      expect(await isActive(restA, token)).toBe(true);
      expect(await isActive(restB, token)).toBe(true);
    }
    const ended = await restA.post(
      "/admin/sessions/end-all",
      {},
      {
        authorization: `Bearer ${testAdminToken}`,
      },
    );
    expect(ended.status).toBe(200);
    expect(Date.parse(String(ended.body.not_before))).toBeLessThanOrEqual(Date.now());
    for (const token of tokens) {
      expect(await isActive(restA, token)).toBe(false);
    }
    const endedOnB = await eventually(
      async () =>
        !(await isActive(restB, tokens[0] ?? "")) && !(await isActive(restB, tokens[1] ?? "")),
      3_000,
    );
    expect(endedOnB).toBe(true);
    const fresh = await loginOn(restB);
    expect(await isActive(restA, fresh)).toBe(true);
    expect(log.audits("session.all_ended")).toHaveLength(1);
  });

  it("is a CLI command too", async () => {
    const token = await loginOn(restA);
    const { code, stdout } = await runKeycard(["sessions", "end-all"], {
      env: { KEYCARD_URL: a.baseUrl, KEYCARD_ADMIN_TOKEN: testAdminToken },
    });
    expect(code).toBe(0);
    expect(stdout).toContain("Ended every session that began before");
    expect(await isActive(restA, token)).toBe(false);
  });
});
