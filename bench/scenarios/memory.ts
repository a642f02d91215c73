/**
 * Scenario 4: Redis bytes and process memory per live session. Sessions are created through
 * keycard's own Redis store (`store.sessions.create`, many in flight) in a private
 * redis-server; `INFO memory` used_memory before and after, divided by the count, is the
 * figure (user records are created first and excluded). `MEMORY USAGE` on samples breaks it
 * down into the session record, the user's index entry and the per-slot bookkeeping. A keycard process on the same Redis then validates a sample of distinct tokens, to
 * show whether it keeps per-session state in its own memory.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { deviceLabel } from "../../src/domain/device-label.js";
import type { SessionRecord } from "../../src/domain/session.js";
import { hashToken, mintToken, newId, sessionIdOf } from "../../src/domain/token.js";
import type { UserRecord } from "../../src/domain/user.js";
import { waitUntilReachable } from "../../src/store/reachable.js";
import { redisKeys } from "../../src/store/redis/keys.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import type { BenchOptions } from "../lib/compare.js";
import { namespace, startKeycard, validatePath } from "../lib/keycard.js";
import { h2load } from "../lib/load.js";
import { cpus, redisClient, rssOf, startRedis } from "../lib/processes.js";
import { num, type ScenarioResult } from "../lib/report.js";

const hour = 3_600_000;
/** A current desktop browser's User-Agent, as a real login records it. */
const userAgent =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
/** Sessions in flight while creating them. */
const inFlight = 512;
/** Sessions whose keys are measured one by one with MEMORY USAGE. */
const sampleSize = 1_000;
/** Distinct tokens the keycard process validates for its RSS figure. */
const validatedTokens = 10_000;

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info("memory");
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

async function memoryUsage(redis: Redis, key: string): Promise<number> {
  return Number((await redis.call("MEMORY", "USAGE", key, "SAMPLES", "0")) ?? 0);
}

/**
 * The namespace's keys that are not per user or per token (the live list or counter, the
 * user list...) with their MEMORY USAGE, found by SCAN so the layout can change freely.
 */
async function sharedKeys(redis: Redis): Promise<Map<string, number>> {
  const shared = new Map<string, number>();
  let cursor = "0";
  do {
    const [next, found] = await redis.scan(cursor, "MATCH", `${namespace}:*`, "COUNT", 10_000);
    cursor = next;
    for (const key of found) {
      if (!/:(s|tok|email):|:\{u:/.test(key)) {
        shared.set(key, await memoryUsage(redis, key));
      }
    }
  } while (cursor !== "0");
  return shared;
}

/** Key names with their hash tag generalised, each with how many keys share it. */
function keyPatterns(sizes: Map<string, number>): string {
  const patterns = new Map<string, number>();
  for (const key of sizes.keys()) {
    const pattern = key.replace(/\{[^}]*\}/, "{…}");
    patterns.set(pattern, (patterns.get(pattern) ?? 0) + 1);
  }
  return [...patterns].map(([pattern, keys]) => `${pattern} ×${keys}`).join(", ");
}

function sum(sizes: Map<string, number>): number {
  return [...sizes.values()].reduce((total, size) => total + size, 0);
}

/** Runs `task(i)` for i in [0, count) with at most `limit` in flight. */
async function pool(count: number, limit: number, task: (i: number) => Promise<void>) {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next;
      next += 1;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

function makeUser(i: number): UserRecord {
  return {
    id: newId(),
    email: `user-${i}-${randomUUID().slice(0, 8)}@example.com`,
    displayName: `User ${i}`,
    passwordHash:
      "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
    roles: ["user"],
    totpSecret: "",
    totpPending: "",
    disabled: false,
    createdAt: Date.now(),
  };
}

/**
 * A session as a login opens it: its id is the start of its token's hash (keycard mints
 * again a token whose hash starts with "-", as sessionIdOf asks).
 */
function makeSession(user: UserRecord, tokenHash: string, now: number): SessionRecord {
  const lifetime = 12 * hour;
  return {
    id: sessionIdOf(tokenHash) ?? "",
    userId: user.id,
    createdAt: now,
    expiresAt: now + lifetime,
    lastUsedAt: now,
    ip: "203.0.113.7",
    userAgent,
    authMethods: ["password"],
    roles: user.roles,
    email: user.email,
    displayName: user.displayName,
    kind: "standard",
    lifetime,
    deviceLabel: deviceLabel(userAgent),
    tokenHash,
  };
}

/** A new login's token (kept in `tokens` for the validations) and its hash. */
function loginTokenHash(tokens: string[]): string {
  const token = mintToken("kc", "sess");
  const tokenHash = hashToken(token);
  if (sessionIdOf(tokenHash) === undefined) {
    return loginTokenHash(tokens);
  }
  tokens.push(token);
  return tokenHash;
}

/** A token hash from a seed, that could name a session (see makeSession). */
function seededHash(seed: string): string {
  const tokenHash = hashToken(seed);
  return sessionIdOf(tokenHash) === undefined ? seededHash(`${seed}'`) : tokenHash;
}

/** Runs scenario 4. */
export async function memoryScenario(
  options: BenchOptions,
  log: (line: string) => void,
): Promise<ScenarioResult> {
  const count = options.sessions;
  const perUser = options.sessionsPerUser;
  const redisServer = await startRedis(cpus.load);
  const redis = redisClient(redisServer.url);
  const store = createRedisStore({
    url: redisServer.url,
    namespace,
    commandTimeoutMs: 30_000,
  });
  const keys = redisKeys(namespace);
  try {
    log(`4. Memory per session: ${count} sessions, ${perUser} per user`);
    await redis.ping();
    if (!(await waitUntilReachable(store, 10_000))) {
      throw new Error("the bench redis-server did not answer");
    }
    const users = Array.from({ length: Math.ceil(count / perUser) }, (_, i) => makeUser(i));
    let started = Date.now();
    await pool(users.length, inFlight, async (i) => {
      await store.users.create(users[i] as UserRecord);
    });
    log(`  ${users.length} users in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const heapBefore = process.memoryUsage().heapUsed;
    const before = await usedMemory(redis);
    const sharedBefore = await sharedKeys(redis);
    const now = Date.now();
    const retention = 7 * 24 * hour;
    const sampled: SessionRecord[] = [];
    const tokens: string[] = [];
    started = Date.now();
    await pool(count, inFlight, async (i) => {
      const user = users[Math.floor(i / perUser)] as UserRecord;
      const tokenHash = i < validatedTokens ? loginTokenHash(tokens) : seededHash(`${i}:${now}`);
      const session = makeSession(user, tokenHash, now);
      if (!(await store.sessions.create(session, session.expiresAt + retention))) {
        throw new Error("the store refused a session");
      }
      if (i % Math.max(1, Math.floor(count / sampleSize)) === 0) {
        sampled.push(session);
      }
      if ((i + 1) % 200_000 === 0) {
        log(`  ${i + 1} sessions, ${((Date.now() - started) / 1000).toFixed(0)} s`);
      }
    });
    const seconds = (Date.now() - started) / 1000;
    const after = await usedMemory(redis);
    const heapAfter = process.memoryUsage().heapUsed;
    const perSession = (after - before) / count;
    log(
      `  ${count} sessions in ${seconds.toFixed(1)} s; used_memory +${after - before} B = ${num(perSession)} B/session`,
    );
    let hashBytes = 0;
    let indexBytes = 0;
    const encodings = new Map<string, number>();
    for (const session of sampled) {
      const sessionKey = keys.record(session.id);
      hashBytes += await memoryUsage(redis, sessionKey);
      indexBytes += (await memoryUsage(redis, keys.index(session.userId))) / perUser;
      const encoding = String(await redis.call("OBJECT", "ENCODING", sessionKey));
      encodings.set(encoding, (encodings.get(encoding) ?? 0) + 1);
    }
    const sharedAfter = await sharedKeys(redis);
    const liveBytes = (sum(sharedAfter) - sum(sharedBefore)) / count;
    const n = sampled.length;
    const breakdown = {
      sessionRecord: hashBytes / n,
      userIndexEntry: indexBytes / n,
      sharedKeys: liveBytes,
    };
    const measured = Object.values(breakdown).reduce((sum, value) => sum + value, 0);
    const keycard = await startKeycard(redisServer.url, {}, cpus.server);
    const validateTokens = tokens.slice(0, validatedTokens);
    // A steady load first, so that the RSS compared is a warm process's, not a cold one's.
    await h2load({
      url: `${keycard.baseUrl}${validatePath}`,
      protocol: "h1",
      connections: 8,
      requests: 20_000,
      seconds: 0,
      cpu: cpus.load,
      body: JSON.stringify({ token: validateTokens[0] }),
      headers: { "content-type": "application/json" },
    });
    const rssBefore = rssOf(keycard.pid);
    let validated = 0;
    await pool(validateTokens.length, 64, async (i) => {
      const response = await fetch(`${keycard.baseUrl}${validatePath}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token: validateTokens[i] }),
      });
      if (((await response.json()) as { active?: boolean }).active === true) {
        validated += 1;
      }
    });
    const rssAfter = rssOf(keycard.pid);
    const rssDelta =
      rssBefore === undefined || rssAfter === undefined ? undefined : rssAfter - rssBefore;
    const encodingText = [...encodings].map(([name, times]) => `${name} ${times}/${n}`).join(", ");
    return {
      id: 4,
      title: "Memory and Redis bytes per live session",
      rows: [
        {
          scenario: `Redis used_memory per live session (${count} sessions, ${perUser} per user)`,
          subject: "keycard",
          value: `${num(perSession)} B/session (${num((after - before) / 2 ** 20, 1)} MiB in all)`,
          baseline: "-",
          baselineValue: "-",
          ratio: "-",
          target: "<= 600 B",
          met: perSession <= 600,
        },
        {
          scenario: `keycard process RSS after validating ${validated} distinct sessions`,
          subject: "keycard",
          value: `${num((rssAfter ?? Number.NaN) / 2 ** 20, 1)} MiB (${rssDelta === undefined ? "n/a" : `${rssDelta >= 0 ? "+" : ""}${num(rssDelta / 2 ** 20, 1)} MiB`}, ${rssDelta === undefined ? "n/a" : num(rssDelta / Math.max(1, validated))} B/validated session)`,
          baseline: "warm, before the distinct tokens",
          baselineValue: `${num((rssBefore ?? Number.NaN) / 2 ** 20, 1)} MiB`,
          ratio: "-",
          target: "-",
          met: undefined,
        },
      ],
      commands: [
        `npm run bench -- --only 4 --sessions ${count} --sessions-per-user ${perUser}`,
        "redis-cli INFO memory (used_memory, before and after creating the sessions)",
        "redis-cli MEMORY USAGE <key> SAMPLES 0 on sampled keys",
      ],
      notes: [
        `Created through keycard's Redis store (createRedisStore(...).sessions.create(session, expiresAt + 7 d retention)), ${inFlight} in flight: ${num(count / seconds)} sessions/s. Users (${users.length}) were created first and are excluded from the figure.`,
        `Breakdown from MEMORY USAGE on ${n} sampled sessions (bytes per session): session record ${num(breakdown.sessionRecord)} (encoding: ${encodingText}), the user's index zset share ${num(breakdown.userIndexEntry)}, keys shared by all sessions (${keyPatterns(sharedAfter)}) ${num(breakdown.sharedKeys)}; sum ${num(measured)}, the remaining ${num(perSession - measured)} B is Redis's key tables (main and expires dictionaries) and allocator rounding.`,
        `Session fields as a browser login writes them: User-Agent of ${userAgent.length} characters ("${userAgent}"), device label "${deviceLabel(userAgent)}", IPv4, one role, email and display name.`,
        `The creating process's heap went from ${num(heapBefore / 2 ** 20, 1)} to ${num(heapAfter / 2 ** 20, 1)} MiB (it holds the user list and ${validatedTokens} tokens, not the sessions). keycard keeps sessions only in Redis; its RSS is taken after 20000 warm-up Validates of one token, then after Validates of ${validated} distinct tokens.`,
      ],
      details: {
        sessions: count,
        sessionsPerUser: perUser,
        users: users.length,
        seconds,
        usedMemoryBefore: before,
        usedMemoryAfter: after,
        bytesPerSession: perSession,
        breakdown,
        encodings: Object.fromEntries(encodings),
        keycardRss: { before: rssBefore, after: rssAfter, validated },
        benchHeap: { before: heapBefore, after: heapAfter },
      },
    };
  } finally {
    redis.disconnect();
    await store.close();
  }
}
