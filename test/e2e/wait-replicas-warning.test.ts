import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, inject, it } from "vitest";
import { testAdminToken } from "../helpers/keycard.js";
import { killStarted, type Started, startMain, waitFor } from "../helpers/process.js";

function startOnTestRedis(env: Record<string, string>): Started {
  return startMain({
    REDIS_URL: inject("redisUrl"),
    REDIS_KEY_PREFIX: `wait-${randomUUID()}`,
    KEYCARD_ADMIN_TOKEN: testAdminToken,
    KEYCARD_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString("hex"),
    ...env,
  });
}

describe("REDIS_WAIT_REPLICAS on a Redis without replicas", () => {
  afterEach(() => killStarted());

  it("is named in the log at start-up, with what to set", async () => {
    const started = startOnTestRedis({ REDIS_WAIT_REPLICAS: "1" });
    const [line] = await waitFor(
      started,
      /\{[^\n]*REDIS_WAIT_REPLICAS=1 but a Redis master has 0[^\n]*\}/,
    );
    expect(JSON.parse(line)).toMatchObject({ level: 40, replicas: 0, wanted: 1 });
    expect(line).toContain("set REDIS_WAIT_REPLICAS=0");
  });

  it("is not mentioned when revocations do not wait (a single Redis by default)", async () => {
    const started = startOnTestRedis({});
    await waitFor(started, /keycard listening/);
    expect(started.output()).not.toContain("REDIS_WAIT_REPLICAS");
  });
});
