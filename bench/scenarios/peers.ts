/**
 * Scenario 2: Validate (Connect JSON over HTTP/1.1) against the session lookup of
 * express-session + connect-redis and of better-auth with Redis secondary storage, each
 * with a session created up front and the same load generator and concurrency. Nothing is
 * pinned: the peers read Redis on every request, and pinning the server apart from Redis
 * and h2load starved them while keycard answered from its cache.
 */
import { alternate, type BenchOptions, best, type Subject, throughputRow } from "../lib/compare.js";
import { loginToken, startKeycard, validatePath } from "../lib/keycard.js";
import { h2load, type LoadSpec } from "../lib/load.js";
import { freePort, startProcess, startRedis } from "../lib/processes.js";
import type { Row, ScenarioResult } from "../lib/report.js";

/** The `name=value` pairs of a response's Set-Cookie headers, joined for a Cookie header. */
function cookieOf(response: Response): string {
  const cookies = response.headers.getSetCookie().map((line) => line.split(";")[0] ?? "");
  if (cookies.length === 0) {
    throw new Error(`no session cookie in the answer (HTTP ${response.status})`);
  }
  return cookies.join("; ");
}

/** Starts a peer server script, unpinned; resolves with its base URL. */
async function startPeer(script: string, redisUrl: string): Promise<string> {
  const port = await freePort();
  await startProcess({
    command: process.execPath,
    argv: ["--import", "tsx", script, String(port), redisUrl],
    ready: /ready/,
  });
  return `http://127.0.0.1:${port}`;
}

/** Starts the express-session peer and logs in: its session cookie and lookup URL. */
async function expressSession(redisUrl: string): Promise<{ url: string; cookie: string }> {
  const base = await startPeer("bench/servers/express-session.ts", redisUrl);
  const cookie = cookieOf(await fetch(`${base}/login`, { method: "POST" }));
  const me = await fetch(`${base}/me`, { headers: { cookie } });
  if (!((await me.json()) as { active?: boolean }).active) {
    throw new Error("the express-session cookie does not resolve");
  }
  return { url: `${base}/me`, cookie };
}

/** Starts the better-auth peer and signs a user up: its session cookie and lookup URL. */
async function betterAuth(redisUrl: string): Promise<{ url: string; cookie: string }> {
  const base = await startPeer("bench/servers/better-auth.ts", redisUrl);
  const signUp = await fetch(`${base}/api/auth/sign-up/email`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: base },
    body: JSON.stringify({
      email: "bench@example.com",
      password: "bench-password-1",
      name: "Bench",
    }),
  });
  const cookie = cookieOf(signUp);
  const check = await fetch(`${base}/api/auth/get-session`, { headers: { cookie } });
  const body = (await check.json()) as { session?: { id?: string } } | null;
  if (body?.session?.id === undefined) {
    throw new Error("the better-auth cookie does not resolve to a session");
  }
  return { url: `${base}/api/auth/get-session`, cookie };
}

/** Runs scenario 2. A peer that cannot start is reported as such, not faked. */
export async function peersScenario(
  options: BenchOptions,
  log: (line: string) => void,
): Promise<ScenarioResult> {
  const redis = await startRedis();
  const keycard = await startKeycard(redis.url);
  const token = await loginToken(keycard.baseUrl);
  const h1: Omit<LoadSpec, "url"> = {
    protocol: "h1",
    connections: options.h1Connections,
    seconds: options.seconds,
    warmupSeconds: options.warmupSeconds,
    ...(options.requests === undefined ? {} : { requests: options.requests }),
  };
  const notes: string[] = [];
  const subjects: Subject[] = [
    {
      name: "keycard Connect JSON",
      run: () =>
        h2load({
          ...h1,
          url: `${keycard.baseUrl}${validatePath}`,
          body: JSON.stringify({ token }),
          bodyLabel: '{"token":"<session token>"}',
          headers: { "content-type": "application/json" },
        }),
    },
  ];
  const peers: [string, string, (url: string) => Promise<{ url: string; cookie: string }>][] = [
    ["express-session + connect-redis", "express-session", expressSession],
    ["better-auth + Redis secondaryStorage", "better-auth", betterAuth],
  ];
  const started: string[] = [];
  for (const [label, name, start] of peers) {
    try {
      const peer = await start(redis.url);
      subjects.push({
        name,
        run: () => h2load({ ...h1, url: peer.url, headers: { cookie: peer.cookie } }),
      });
      started.push(label);
    } catch (error) {
      notes.push(`${label} could not be run here: ${(error as Error).message.split("\n")[0]}`);
      log(`  ${label} could not be run: ${(error as Error).message}`);
    }
  }
  log("2. Validate vs express-session + connect-redis and better-auth");
  const runs = await alternate(options.rounds, subjects, log);
  const keycardBest = best(runs.get("keycard Connect JSON"));
  const rows: Row[] = [];
  for (const [label, name] of peers) {
    if (runs.has(name)) {
      rows.push(
        throughputRow(
          `Validate Connect JSON vs ${name} lookup`,
          keycardBest,
          label,
          best(runs.get(name)),
          3,
        ),
      );
    }
  }
  return {
    id: 2,
    title: "Validate vs express-session + connect-redis and better-auth",
    rows,
    commands: [...runs.values()].flatMap((figures) => figures.map((f) => f.command)),
    notes: [
      `Best of ${options.rounds} alternating rounds per subject; all over HTTP/1.1 with ${options.h1Connections} connections (after a ${options.warmupSeconds} s warm-up run each); nothing pinned: the servers, redis-server and h2load share every CPU.`,
      "express-session: express 5, `session({ store: new RedisStore({ client, prefix }), resave: false, saveUninitialized: false, secret, cookie.maxAge 12h })` with a node-redis client (connect-redis README); `GET /me` answers `req.session.user`, and express-session touches the session (EXPIRE) on each request, as configured by the README.",
      "better-auth: `betterAuth({ database: memoryAdapter(...), emailAndPassword, secondaryStorage })` on node:http via `toNodeHandler(auth)`; secondaryStorage is a node-redis client implementing better-auth's SecondaryStorage contract (get, set with EX, delete, getAndDelete, increment) since `@better-auth/redis-storage` needs ioredis 5 and this repo has ioredis 6; `GET /api/auth/get-session` with the session cookie. Rate limiting is better-auth's default outside production (off), as keycard's is turned off.",
      ...notes,
    ],
    details: { peers: started, runs: Object.fromEntries(runs) },
  };
}
