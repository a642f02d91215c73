import pino from "pino";
import { describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../src/domain/errors.js";
import { causeOf, reworded, StoreOutageLog } from "../../src/transport/store-outage.js";
import { LogLines } from "../helpers/log-lines.js";

describe("the store outage log", () => {
  function outageLog() {
    const log = new LogLines();
    let now = 0;
    const outage = new StoreOutageLog(pino({ level: "info" }, log), () => now);
    return {
      outage,
      events: () => log.lines.map((line) => `${line.event} ${line.failedCalls}`),
      advance: (ms: number) => {
        now += ms;
      },
    };
  }

  it("reports a long outage every 10 s with how many calls failed since the last line", () => {
    const { outage, events, advance } = outageLog();
    for (let second = 0; second < 25; second += 1) {
      outage.failed(new Error("Command timed out"));
      outage.failed(new Error("Command timed out"));
      advance(1_000);
    }
    outage.answered();
    expect(events()).toEqual([
      "store_unavailable 1",
      "store_unavailable 20",
      "store_unavailable 20",
      "store_back 50",
    ]);
  });

  it("writes at most one failure line per 10 s however the store flaps", () => {
    const { outage, events, advance } = outageLog();
    for (let flap = 0; flap < 100; flap += 1) {
      outage.failed(new Error("Connection is closed."));
      outage.answered();
      advance(100);
    }
    expect(events().filter((line) => line.startsWith("store_unavailable"))).toHaveLength(1);
    expect(events().filter((line) => line.startsWith("store_back"))).toHaveLength(1);
  });

  it("names the cause in keycard's terms, never advising to raise maxRetriesPerRequest", () => {
    const ioredis = new Error(
      'Reached the max retries per request limit (which is 0). Refer to "maxRetriesPerRequest" option for details.',
    );
    const cause = causeOf(new StoreUnavailableError({ cause: ioredis }));
    expect(cause).toMatch(
      /^The session store is unavailable\. Try again shortly\.: the connection to Redis was lost/,
    );
    expect(cause).not.toContain("maxRetriesPerRequest");
  });

  it("says ioredis's Sentinel and Cluster messages in keycard's terms", () => {
    expect(reworded("All sentinels are unreachable. Retrying from scratch after 10ms.")).toBe(
      "no master reachable through the Sentinels yet (they may be electing one, or the master they name is down); retrying",
    );
    const redirections = reworded(
      "Too many Cluster redirections. Last error: Error: connect ECONNREFUSED 127.0.0.1:7001",
    );
    expect(redirections).toBe(
      "the Cluster node serving the key did not answer within REDIS_COMMAND_TIMEOUT (last error: connect ECONNREFUSED 127.0.0.1:7001)",
    );
    expect(reworded("Command timed out")).toBe("Command timed out");
  });
});
