import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestUser, loginRest, startKeycard, type TestKeycard } from "../helpers/keycard.js";
import { LogLines } from "../helpers/log-lines.js";
import { type RedisServer, startRedisServer } from "../helpers/redis-server.js";
import { restClient } from "../helpers/rest.js";

describe("the log while Redis is frozen", () => {
  const log = new LogLines();
  let redis: RedisServer;
  let keycard: TestKeycard;

  beforeAll(async () => {
    redis = await startRedisServer();
    keycard = await startKeycard({ redisUrl: redis.url, logger: pino({ level: "info" }, log) });
  });
  afterAll(async () => {
    redis.thaw();
    await keycard.close();
    await redis.stop();
  });

  it("says once that the store is unavailable and once that it is back, not a stack per failed call", async () => {
    const user = await createTestUser(keycard);
    const token = (await loginRest(keycard, user)).session_token;
    const rest = restClient(keycard.baseUrl);
    redis.freeze();
    const statuses = await Promise.all(
      Array.from({ length: 20 }, async (_, index) =>
        index % 2 === 0
          ? (await rest.post("/auth/validate", { token })).status
          : (await rest.post("/keycard.v1.AuthService/Validate", { token })).status,
      ),
    );
    expect(statuses).toEqual(Array(20).fill(503));
    redis.thaw();
    expect((await rest.post("/auth/validate", { token })).status).toBe(200);

    const outage = log.lines.filter(
      (line) => typeof line.event === "string" && /^store_/.test(line.event),
    );
    expect(outage.map((line) => line.event)).toEqual(["store_unavailable", "store_back"]);
    expect(outage[0]).toMatchObject({
      level: 50,
      failedCalls: 1,
      cause: expect.stringMatching(/deadline|timed out/),
    });
    expect(outage[1]).toMatchObject({ level: 30, failedCalls: 20 });
    expect(log.lines.filter((line) => line.err !== undefined)).toEqual([]);
  });
});
