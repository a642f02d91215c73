import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountFingerprint, counterKeysOf } from "../../src/domain/login-throttle.js";
import { redisKeys } from "../../src/store/redis/keys.js";
import { createTestUser, startKeycard, type TestKeycard } from "../helpers/keycard.js";
import { sample } from "../helpers/metrics.js";
import {
  type ClusterLayout,
  clusterLayout,
  type RedisClusterHandle,
  replicasHaveAll,
  startRedisCluster,
} from "../helpers/redis-cluster.js";
import { waitFor } from "../helpers/redis-process.js";
import { restClient } from "../helpers/rest.js";

type User = Awaited<ReturnType<typeof createTestUser>>;

const namespace = `shard-outage-${randomUUID()}`;
const keys = redisKeys(namespace);
const userCount = 36;

/**
 * The keys a password login of `user` from `ip` needs (its token's pointer aside: a login
 * whose pointer's shard is down tries another token). The rate limiter's counter is not
 * among them: it falls back to the replica's memory.
 */
function keysOfLogin(user: User, ip: string): { account: string[]; address: string[] } {
  const account = accountFingerprint(`email:${user.email}`);
  const counters = counterKeysOf(account, ip);
  return {
    account: [keys.email(user.email), keys.user(user.id), keys.loginFailureWindow(account)],
    address: [
      keys.loginFailures("pair", counters.pair.id),
      keys.loginFailures("ip", counters.ip.id),
    ],
  };
}

function allSurvive(layout: ClusterLayout, deadMaster: number, keyList: string[]): boolean {
  return keyList.every((key) => layout.shardOf(key)[0] !== deadMaster);
}

/** A client address whose own counters (per address, per account and address) survive. */
function addressFor(layout: ClusterLayout, deadMaster: number, user: User, round: number): string {
  for (let i = 0; ; i += 1) {
    const ip = `10.${round}.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    if (allSurvive(layout, deadMaster, keysOfLogin(user, ip).address)) {
      return ip;
    }
  }
}

describe("logins on a Redis Cluster while one master is down, each master in turn", () => {
  let cluster: RedisClusterHandle;
  let keycard: TestKeycard;
  const users: User[] = [];
  const logins = new Map<string, number>();

  beforeAll(async () => {
    cluster = await startRedisCluster({ requireFullCoverage: false });
    keycard = await startKeycard({
      redisUrl: cluster.url,
      namespace,
      trustedProxies: ["127.0.0.1"],
    });
    for (let i = 0; i < userCount; i += 1) {
      users.push(await createTestUser(keycard));
    }
  }, 90_000);
  afterAll(async () => {
    await keycard?.close();
    await cluster?.stop();
  });

  /** The last answers each user's login (and its token's Validate) got, for a failure's message. */
  const lastAnswers = new Map<string, string>();

  const login = async (user: User, ip: string): Promise<number> => {
    const rest = restClient(keycard.baseUrl);
    const reply = await rest.post(
      "/auth/login",
      { email: user.email, password: user.password },
      { "x-forwarded-for": ip },
    );
    lastAnswers.set(user.id, `login ${reply.status} ${JSON.stringify(reply.body)}`);
    if (reply.status === 200) {
      logins.set(user.id, (logins.get(user.id) ?? 0) + 1);
      const checked = await rest.post("/auth/validate", { token: reply.body.session_token });
      lastAnswers.set(user.id, `validate ${checked.status} ${JSON.stringify(checked.body)}`);
      expect(checked.body).toMatchObject({ active: true });
    }
    return reply.status;
  };

  /**
   * Waits until every user has logged in once more: the replica follows the new master (on
   * two busy cores the client's slot map can take a while to follow).
   */
  const everyoneLogsIn = async (ip: string): Promise<void> => {
    const pending = new Set(users);
    await waitFor(
      "every user to log in again once the cluster is whole",
      async () => {
        for (const user of [...pending]) {
          if ((await login(user, ip)) === 200) {
            pending.delete(user);
          }
        }
        return pending.size === 0;
      },
      40_000,
    ).catch((error: unknown) => {
      const answers = [...pending].map((user) => lastAnswers.get(user.id) ?? "no answer");
      throw new Error(`${String(error)}; the last answers of those left: ${answers.join("; ")}`);
    });
  };

  it("keeps answering the logins of users whose slots survive, and leaves no session behind the others", async () => {
    const originalMasters = await cluster.masters();
    expect(originalMasters).toHaveLength(3);
    const figures: string[] = [];
    for (const [round, master] of originalMasters.entries()) {
      const layout = await clusterLayout(master);
      const [, standby] = layout.shardOf(keyServedBy(layout, master));
      if (standby === undefined) {
        throw new Error(`master ${master} has no replica`);
      }
      // What the standby has not copied when it is held back is lost when it takes over:
      // the users created, and the sessions of the round before, must be there first.
      await waitFor(`the replicas of ${master} to hold all it has`, () => replicasHaveAll(master));
      cluster.pause(standby, true);
      await cluster.kill(master);
      const outcomes = { survivors: { ok: 0, all: 0 }, others: { ok: 0, all: 0 } };
      const attempts = await Promise.all(
        users.map(async (user, i) => {
          const ip = addressFor(layout, master, user, round);
          const eligible = allSurvive(layout, master, keysOfLogin(user, ip).account);
          return { user: i, eligible, status: await login(user, ip) };
        }),
      );
      for (const { user, eligible, status } of attempts) {
        const tally = eligible ? outcomes.survivors : outcomes.others;
        tally.all += 1;
        tally.ok += status === 200 ? 1 : 0;
        if (eligible) {
          expect({ user, status }).toEqual({ user, status: 200 });
        } else {
          expect([200, 503]).toContain(status);
        }
      }
      const ready = await restClient(keycard.baseUrl).get("/readyz");
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({ status: "degraded", window_seconds: 10 });
      expect(ready.body.store_failing_share).toBeGreaterThan(0);
      figures.push(
        `master ${round + 1} down: ${outcomes.survivors.ok}/${outcomes.survivors.all} logins of users whose slots survive answered 200; ${outcomes.others.ok}/${outcomes.others.all} of the others; /readyz ${JSON.stringify(ready.body)}`,
      );
      cluster.pause(standby, false);
      await cluster.healthy(30_000);
      await everyoneLogsIn(`10.9.${round}.1`);
    }
    console.log(figures.join("\n"));

    for (const user of users) {
      const stored = await keycard.store.sessions.list(user.id, Date.now());
      expect({ user: user.id, sessions: stored.length }).toEqual({
        user: user.id,
        sessions: logins.get(user.id) ?? 0,
      });
    }
    const acknowledged = [...logins.values()].reduce((sum, count) => sum + count, 0);
    const metrics = await (await fetch(`${keycard.baseUrl}/metrics`)).text();
    expect(sample(metrics, "keycard_sessions_active", {})).toBe(acknowledged);
  }, 240_000);
});

/** Any key whose slot the master on `port` serves, to find that master's replicas. */
function keyServedBy(layout: ClusterLayout, port: number): string {
  for (let i = 0; ; i += 1) {
    const key = `probe-${i}`;
    if (layout.shardOf(key)[0] === port) {
      return key;
    }
  }
}
