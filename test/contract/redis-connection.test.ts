import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it, vi } from "vitest";
import { ConfigError, loadConfig } from "../../src/app/config/config.js";
import {
  createRedisClient,
  parseRedisUrl,
  RedisConfigError,
} from "../../src/store/redis/connection.js";
import { closeRedisClient } from "../../src/store/redis/keep-reconnecting.js";
import { waitFor } from "../helpers/redis-process.js";

describe("parseRedisUrl", () => {
  it("hands redis:// and rediss:// URLs to ioredis unchanged, TLS for rediss", () => {
    expect(parseRedisUrl("redis://user:pass@redis.internal:6380/2")).toEqual({
      kind: "standalone",
      url: "redis://user:pass@redis.internal:6380/2",
      tls: false,
    });
    expect(parseRedisUrl("rediss://redis.internal")).toMatchObject({
      kind: "standalone",
      tls: true,
    });
  });

  it("reads a Sentinel group's hosts, master name, database and credentials", () => {
    expect(
      parseRedisUrl("redis+sentinel://app:p%40ss@10.0.0.1:26380,sentinel-b,[::1]:26381/mymaster/3"),
    ).toEqual({
      kind: "sentinel",
      tls: false,
      sentinels: [
        { host: "10.0.0.1", port: 26380 },
        { host: "sentinel-b", port: 26379 },
        { host: "::1", port: 26381 },
      ],
      masterName: "mymaster",
      db: 3,
      auth: { username: "app", password: "p@ss" },
      sentinelAuth: {},
    });
  });

  it("takes a password without a user, database 0 by default and Sentinel credentials as options", () => {
    expect(
      parseRedisUrl("rediss+sentinel://:secret@s1:1,s2:2/main?sentinelPassword=watch%21"),
    ).toMatchObject({
      kind: "sentinel",
      tls: true,
      masterName: "main",
      db: 0,
      auth: { password: "secret" },
      sentinelAuth: { password: "watch!" },
    });
  });

  it("reads a Cluster's seed nodes and credentials, port 6379 by default", () => {
    expect(parseRedisUrl("rediss+cluster://default:pw@node-a:7000,node-b")).toEqual({
      kind: "cluster",
      tls: true,
      nodes: [
        { host: "node-a", port: 7000 },
        { host: "node-b", port: 6379 },
      ],
      auth: { username: "default", password: "pw" },
    });
    expect(parseRedisUrl("redis+cluster://127.0.0.1:7000")).toEqual({
      kind: "cluster",
      tls: false,
      nodes: [{ host: "127.0.0.1", port: 7000 }],
      auth: {},
    });
  });

  it.each([
    ["an unknown scheme", "http://localhost:6379", /must start with redis:\/\//],
    ["no scheme", "localhost:6379", /must start with redis:\/\//],
    ["a Sentinel URL without a master name", "redis+sentinel://s1:26379", /must name its master/],
    ["a Sentinel URL with a bad database", "redis+sentinel://s1/main/x", /must name its master/],
    ["a Cluster URL with a database", "redis+cluster://n1:7000/2", /takes no database/],
    ["a port out of range", "redis+cluster://n1:70000", /is not host:port/],
    ["an empty host", "redis+cluster://n1:7000,,n2", /is not host:port/],
    ["an unknown option", "redis+sentinel://s1/main?tls=yes", /option "tls" is not known/],
  ])("refuses %s with a message naming REDIS_URL", (_case, url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(RedisConfigError);
    expect(() => parseRedisUrl(url)).toThrow(message);
    expect(() => parseRedisUrl(url)).toThrow(/^REDIS_URL/);
  });
});

describe("createRedisClient", () => {
  const dir = mkdtempSync(join(tmpdir(), "keycard-redis-connection-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("refuses a CA file it cannot read, naming REDIS_TLS_CA_FILE", () => {
    const missing = join(dir, "missing.pem");
    expect(() =>
      createRedisClient(parseRedisUrl("rediss://127.0.0.1:1"), {
        commandTimeoutMs: 100,
        tlsCaFile: missing,
      }),
    ).toThrow(/REDIS_TLS_CA_FILE ".*missing\.pem" cannot be read: ENOENT/);
  });

  it("refuses a CA file for a URL without TLS", () => {
    const ca = join(dir, "ca.pem");
    writeFileSync(ca, "not used");
    expect(() =>
      createRedisClient(parseRedisUrl("redis+cluster://127.0.0.1:1"), {
        commandTimeoutMs: 100,
        tlsCaFile: ca,
      }),
    ).toThrow(/REDIS_TLS_CA_FILE is set but REDIS_URL does not use TLS/);
  });
});

describe("loadConfig's Redis settings", () => {
  const dir = mkdtempSync(join(tmpdir(), "keycard-redis-config-"));
  const ca = join(dir, "ca.pem");
  writeFileSync(ca, "-----BEGIN CERTIFICATE-----\n");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function problemsOf(env: Record<string, string>): string[] {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      if (error instanceof ConfigError) {
        return [...error.problems];
      }
      throw error;
    }
  }

  it("accepts Sentinel and Cluster URLs and a readable CA file for a TLS URL", () => {
    const config = loadConfig({
      REDIS_URL: "rediss+cluster://10.0.0.1:7000,10.0.0.2:7000",
      REDIS_TLS_CA_FILE: ca,
    });
    expect(config.redisUrl).toBe("rediss+cluster://10.0.0.1:7000,10.0.0.2:7000");
    expect(config.redisTlsCaFile).toBe(ca);
    expect(loadConfig({ REDIS_URL: "redis+sentinel://s1,s2,s3/mymaster" }).redisUrl).toBe(
      "redis+sentinel://s1,s2,s3/mymaster",
    );
  });

  it("reports a malformed multi-host URL with the parser's message", () => {
    expect(problemsOf({ REDIS_URL: "redis+sentinel://s1,s2" })).toEqual([
      expect.stringMatching(/^REDIS_URL of a Sentinel group must name its master/),
    ]);
  });

  it("reports an unreadable CA file and a CA file without a TLS URL", () => {
    expect(
      problemsOf({ REDIS_URL: "rediss://r:6379", REDIS_TLS_CA_FILE: join(dir, "nope.pem") }),
    ).toEqual([expect.stringMatching(/^REDIS_TLS_CA_FILE ".*nope\.pem" cannot be read/)]);
    expect(problemsOf({ REDIS_URL: "redis://r:6379", REDIS_TLS_CA_FILE: ca })).toEqual([
      expect.stringMatching(/^REDIS_TLS_CA_FILE needs a TLS REDIS_URL/),
    ]);
  });
});

describe("a client ioredis gives up", () => {
  it("connects again until keycard closes it", async () => {
    const client = createRedisClient(parseRedisUrl(inject("redisUrl")), {
      commandTimeoutMs: 1_000,
    });
    await waitFor("the first connection", () => client.status === "ready");
    // What ioredis does when a reconnection is cut short: the client ends, for good.
    client.disconnect();
    await waitFor("the client to end", () => client.status === "end");
    await waitFor("the client to connect again", () => client.status === "ready", 5_000);
    expect(await client.ping()).toBe("PONG");

    // The timer that would connect it again is a fake one, run as soon as the client ends.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const ended = once(client, "end");
      await closeRedisClient(client);
      await ended;
      let reconnected = false;
      client.on("connecting", () => {
        reconnected = true;
      });
      vi.runOnlyPendingTimers();
      await new Promise((resolve) => setImmediate(resolve));
      expect(client.status).toBe("end");
      expect(reconnected).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});
