import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/app/config/config.js";
import { problemsOf } from "../helpers/config.js";

const durabilityOf = (env: Record<string, string>) => loadConfig(env).redisDurability;

describe("REDIS_WAIT_REPLICAS and REDIS_WAIT_TIMEOUT", () => {
  it("wait for one replica behind Sentinel and on a Cluster, none on a single Redis, half the command timeout", () => {
    expect(durabilityOf({ REDIS_URL: "redis+sentinel://s1:26379,s2:26379/main" })).toEqual({
      replicas: 1,
      timeoutMs: 500,
    });
    expect(durabilityOf({ REDIS_URL: "redis+cluster://n1:6379,n2:6379" }).replicas).toBe(1);
    expect(durabilityOf({ REDIS_URL: "redis://redis:6379" }).replicas).toBe(0);
    expect(durabilityOf({ REDIS_COMMAND_TIMEOUT: "2s" }).timeoutMs).toBe(1_000);
  });

  it("read both settings, and refuse a wait the command timeout would cut", () => {
    expect(
      durabilityOf({
        REDIS_URL: "redis://redis:6379",
        REDIS_WAIT_REPLICAS: "2",
        REDIS_WAIT_TIMEOUT: "300ms",
      }),
    ).toEqual({ replicas: 2, timeoutMs: 300 });
    expect(problemsOf({ REDIS_WAIT_TIMEOUT: "1s" })).toEqual([
      "REDIS_WAIT_TIMEOUT must be shorter than REDIS_COMMAND_TIMEOUT, or the command timeout cuts the wait",
    ]);
  });
});
