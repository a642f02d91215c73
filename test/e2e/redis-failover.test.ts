import { setTimeout as sleep } from "node:timers/promises";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MasterChange } from "../../src/store/redis/master-watch.js";
import { createTestUser, loginRest, startKeycard, type TestKeycard } from "../helpers/keycard.js";
import { type RedisClusterHandle, startRedisCluster } from "../helpers/redis-cluster.js";
import { waitFor } from "../helpers/redis-process.js";
import { type RedisSentinelGroup, startRedisSentinel } from "../helpers/redis-sentinel.js";
import { jsonPost, send } from "../helpers/rest.js";

const usersPerRun = 40;
const sessionsPerUser = 5;
const workers = 4;
/** Longer than any call may take: a call still unanswered then counts as a hang. */
const hangMs = 10_000;

/** One call of the traffic run. */
interface Call {
  readonly kind: "validate" | "login";
  readonly startedAt: number;
  readonly ms: number;
  /** HTTP status; 0 when no answer came within `hangMs`. */
  readonly status: number;
  readonly error?: string;
}

/** A keycard on the topology under test, with every error line it logged. */
interface Harness {
  readonly keycard: TestKeycard;
  readonly logLines: string[];
  readonly users: { email: string; password: string }[];
  readonly tokens: string[];
  /** The master changes keycard's store reported. */
  readonly masterChanges: MasterChange[];
}

/** Starts keycard on `redisUrl`, makes the users and logs each in `sessionsPerUser` times. */
async function prepare(redisUrl: string): Promise<Harness> {
  const logLines: string[] = [];
  const logger = pino({ level: "error" }, { write: (line: string) => logLines.push(line) });
  const masterChanges: MasterChange[] = [];
  const keycard = await startKeycard({
    redisUrl,
    logger,
    onMasterChange: (change) => masterChanges.push(change),
  });
  const users = await Promise.all(
    Array.from({ length: usersPerRun }, () => createTestUser(keycard)),
  );
  const tokens: string[] = [];
  for (let round = 0; round < sessionsPerUser; round += 1) {
    const logins = await Promise.all(users.map((user) => loginRest(keycard, user)));
    tokens.push(...logins.map((login) => login.session_token));
  }
  return { keycard, logLines, users, tokens, masterChanges };
}

async function timedCall(
  kind: Call["kind"],
  url: string,
  body: unknown,
): Promise<Call & { active?: boolean }> {
  const startedAt = performance.now();
  try {
    const reply = await send(url, { ...jsonPost(body), signal: AbortSignal.timeout(hangMs) });
    return {
      kind,
      startedAt,
      ms: performance.now() - startedAt,
      status: reply.status,
      ...(reply.body.active === undefined ? {} : { active: reply.body.active === true }),
      ...(reply.status === 200 ? {} : { error: String(reply.body.error) }),
    };
  } catch (error) {
    return { kind, startedAt, ms: performance.now() - startedAt, status: 0, error: String(error) };
  }
}

/** How many of `tokens` keycard no longer finds active (retrying a 503 for up to 5 s). */
async function countLost(keycard: TestKeycard, tokens: readonly string[]): Promise<number> {
  let lost = 0;
  for (let start = 0; start < tokens.length; start += 20) {
    const batch = tokens.slice(start, start + 20);
    const results = await Promise.all(
      batch.map(async (token) => {
        const deadline = Date.now() + 5_000;
        for (;;) {
          const call = await timedCall("validate", `${keycard.baseUrl}/auth/validate`, { token });
          if (call.status === 200 || Date.now() > deadline) {
            return call.status === 200 && call.active === true;
          }
          await sleep(100);
        }
      }),
    );
    lost += results.filter((active) => !active).length;
  }
  return lost;
}

/**
 * Runs Validate (9 in 10) and Login (1 in 10) calls from `workers` loops until `done`
 * resolves, plus `tailMs` more so that recovery shows; returns every call.
 */
async function runTraffic(
  harness: Harness,
  done: Promise<unknown>,
  tailMs: number,
): Promise<Call[]> {
  const calls: Call[] = [];
  let stopped = false;
  const stopLater = (): void => {
    setTimeout(() => {
      stopped = true;
    }, tailMs);
  };
  done.then(stopLater, stopLater);
  const url = (path: string): string => `${harness.keycard.baseUrl}${path}`;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      for (let i = 0; !stopped; i += 1) {
        const pick = (i * workers + worker) * 7919;
        if (i % 10 === 9) {
          const user = harness.users[pick % harness.users.length];
          const credentials = { email: user?.email, password: user?.password };
          calls.push(await timedCall("login", url("/auth/login"), credentials));
        } else {
          const token = harness.tokens[pick % harness.tokens.length];
          calls.push(await timedCall("validate", url("/auth/validate"), { token }));
        }
      }
    }),
  );
  return calls;
}

/** What a failover run measured, printed for the closing note. */
interface Figures {
  readonly topology: string;
  readonly sessionsChecked: number;
  readonly sessionsLost: number;
  readonly failoverMs: number;
  readonly recoveredAfterMs: number;
  readonly calls: number;
  readonly failedCalls: number;
  readonly slowestFailedCallMs: number;
  readonly slowestCallMs: number;
  readonly crossSlotErrors: number;
}

/**
 * Kills the master with `kill`, waits for `failedOver`, and measures: lost sessions among
 * those written (and acknowledged by a replica) before, and how traffic fared meanwhile.
 */
async function failOver(
  topology: string,
  harness: Harness,
  kill: () => Promise<void>,
  failedOver: () => Promise<void>,
): Promise<{ figures: Figures; calls: Call[] }> {
  let killedAt = 0;
  let failedOverAt = 0;
  const failover = (async () => {
    await sleep(500);
    killedAt = performance.now();
    await kill();
    await failedOver();
    failedOverAt = performance.now();
  })();
  const calls = await runTraffic(harness, failover, 1_500);
  await failover;
  const failed = calls.filter((call) => call.status !== 200);
  const lastFailureEnd = Math.max(killedAt, ...failed.map((call) => call.startedAt + call.ms));
  const figures: Figures = {
    topology,
    sessionsChecked: harness.tokens.length,
    sessionsLost: await countLost(harness.keycard, harness.tokens),
    failoverMs: Math.round(failedOverAt - killedAt),
    recoveredAfterMs: Math.round(lastFailureEnd - killedAt),
    calls: calls.length,
    failedCalls: failed.length,
    slowestFailedCallMs: Math.round(Math.max(0, ...failed.map((call) => call.ms))),
    slowestCallMs: Math.round(Math.max(0, ...calls.map((call) => call.ms))),
    crossSlotErrors: harness.logLines.filter((line) => line.includes("CROSSSLOT")).length,
  };
  console.log(`failover figures: ${JSON.stringify(figures)}`);
  console.log(
    `store errors logged during the failover: ${JSON.stringify(causes(harness.logLines))}`,
  );
  return { figures, calls };
}

/** How often each Redis error message was logged as the cause of a failed call. */
function causes(logLines: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of logLines) {
    const entry = JSON.parse(line) as { cause?: string; err?: { message?: string } };
    const message = entry.cause ?? entry.err?.message ?? "(no cause)";
    counts[message] = (counts[message] ?? 0) + 1;
  }
  return counts;
}

/** The assertions both topologies must pass. */
function expectSurvived(figures: Figures, calls: readonly Call[], logLines: string[]): void {
  expect(figures.sessionsChecked).toBe(usersPerRun * sessionsPerUser);
  expect(figures.sessionsLost).toBe(0);
  expect(figures.crossSlotErrors).toBe(0);
  expect(logLines.join("\n")).not.toContain("CROSSSLOT");
  for (const call of calls.filter((each) => each.status !== 200)) {
    expect(call, "a call during the failover must answer 503 STORE_UNAVAILABLE").toMatchObject({
      status: 503,
      error: "STORE_UNAVAILABLE",
    });
    expect(call.ms, "a failed call must fail fast, not hang").toBeLessThan(2_500);
  }
  const validated = calls.filter(
    (call) => call.kind === "validate" && call.status === 200,
  ) as (Call & { active?: boolean })[];
  expect(validated.every((call) => call.active === true)).toBe(true);
  // Traffic recovered: the calls of the last half second after the failover all succeeded.
  const lastStart = Math.max(...calls.map((call) => call.startedAt));
  const recent = calls.filter((call) => call.startedAt > lastStart - 500);
  expect(recent.length).toBeGreaterThan(0);
  expect(recent.every((call) => call.status === 200)).toBe(true);
}

/** The store told keycard (once, as a state change) that it writes elsewhere than `port`. */
async function expectMasterChangeReported(harness: Harness, port: number): Promise<void> {
  const dead = `127.0.0.1:${port}`;
  await waitFor(
    "keycard's store to report the master change",
    async () =>
      harness.masterChanges.some(
        (change) => change.previous.includes(dead) && !change.masters.includes(dead),
      ),
    10_000,
  );
}

describe("keycard on a Redis Cluster when a master dies mid-traffic", () => {
  let cluster: RedisClusterHandle | undefined;
  let harness: Harness | undefined;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    harness = await prepare(cluster.url);
  }, 60_000);

  afterAll(async () => {
    await harness?.keycard.close();
    await cluster?.stop();
  });

  it("keeps every acknowledged session through the replica's promotion, with no cross-slot error", async () => {
    if (cluster === undefined || harness === undefined) {
      throw new Error("the cluster did not start");
    }
    const running = cluster;
    await running.replicasCaughtUp();
    const [victim] = await running.masters();
    if (victim === undefined) {
      throw new Error("the cluster has no master");
    }
    const { figures, calls } = await failOver(
      "cluster",
      harness,
      () => running.kill(victim),
      async () => {
        await running.healthy(20_000);
        expect(await running.masters()).not.toContain(victim);
      },
    );
    expectSurvived(figures, calls, harness.logLines);
    await expectMasterChangeReported(harness, victim);
  }, 60_000);
});

describe("keycard behind Redis Sentinel when the master dies mid-traffic", () => {
  let group: RedisSentinelGroup | undefined;
  let harness: Harness | undefined;

  beforeAll(async () => {
    group = await startRedisSentinel();
    harness = await prepare(group.url);
  }, 60_000);

  afterAll(async () => {
    await harness?.keycard.close();
    await group?.stop();
  });

  it("keeps every acknowledged session through the Sentinels' failover", async () => {
    if (group === undefined || harness === undefined) {
      throw new Error("the Sentinel group did not start");
    }
    const running = group;
    await running.replicaCaughtUp();
    let oldMaster = 0;
    const { figures, calls } = await failOver(
      "sentinel",
      harness,
      async () => {
        oldMaster = await running.killMaster();
      },
      async () => {
        await running.failedOverFrom(oldMaster);
      },
    );
    expectSurvived(figures, calls, harness.logLines);
    await expectMasterChangeReported(harness, oldMaster);
  }, 60_000);
});
