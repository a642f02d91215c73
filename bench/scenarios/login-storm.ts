/**
 * Scenario 3: Validate latency (Connect JSON, a fixed moderate rate) alone, then while a
 * second load generator runs a login storm against the same keycard: many concurrent
 * `POST /auth/login` with the right password, so argon2id at OWASP parameters keeps libuv's
 * threadpool saturated. Validate must not starve: p99 under the storm <= 3x p99 alone.
 */
import type { BenchOptions } from "../lib/compare.js";
import { benchUser, loginToken, startKeycard, validatePath } from "../lib/keycard.js";
import { type Figures, h2load, type LoadSpec } from "../lib/load.js";
import { cpus, pinning, startRedis } from "../lib/processes.js";
import { num, type ScenarioResult, times } from "../lib/report.js";

/** Validate's fixed load: connections x rate per connection. */
const validateConnections = 8;
const validateRatePerConnection = 250;
/** Concurrent logins of the storm: several times the 4 threads of libuv's default pool. */
const stormConnections = 32;

/** Runs scenario 3. */
export async function loginStormScenario(
  options: BenchOptions,
  log: (line: string) => void,
): Promise<ScenarioResult> {
  // keycard against itself: pinned apart from Redis and h2load, so that argon2's threadpool
  // competes with keycard's event loop for one CPU, the case the scenario is about.
  const redis = await startRedis(cpus.load);
  // The per-user cap would end the oldest sessions (the validated one too) during the storm.
  const keycard = await startKeycard(redis.url, { SESSION_MAX_PER_USER: "0" }, cpus.server);
  const token = await loginToken(keycard.baseUrl);
  const validate: LoadSpec = {
    url: `${keycard.baseUrl}${validatePath}`,
    protocol: "h1",
    connections: validateConnections,
    ratePerConnection: validateRatePerConnection,
    cpu: cpus.load,
    seconds: options.seconds,
    warmupSeconds: options.warmupSeconds,
    body: JSON.stringify({ token }),
    bodyLabel: '{"token":"<session token>"}',
    headers: { "content-type": "application/json" },
  };
  const storm: LoadSpec = {
    url: `${keycard.baseUrl}/auth/login`,
    protocol: "h1",
    connections: stormConnections,
    cpu: cpus.load,
    // It starts first and ends after Validate's run, so that the whole run is under storm.
    seconds: options.seconds + options.warmupSeconds + 2,
    warmupSeconds: 1,
    body: JSON.stringify({ email: benchUser.email, password: benchUser.password }),
    bodyLabel: '{"email":"bench@example.com","password":"<the right one>"}',
    headers: { "content-type": "application/json" },
  };
  log("3. Validate p99 during a login storm");
  const alone: Figures[] = [];
  const stormed: { validate: Figures; storm: Figures }[] = [];
  for (let round = 1; round <= options.rounds; round += 1) {
    const quiet = await h2load(validate);
    alone.push(quiet);
    log(
      `  round ${round} alone: ${num(quiet.requestsPerSecond)} req/s, p50 ${num(quiet.p50Ms, 2)} ms, p99 ${num(quiet.p99Ms, 2)} ms`,
    );
    const stormRun = h2load(storm);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const busy = await h2load(validate);
    const logins = await stormRun;
    stormed.push({ validate: busy, storm: logins });
    log(
      `  round ${round} storm: ${num(busy.requestsPerSecond)} req/s, p50 ${num(busy.p50Ms, 2)} ms, p99 ${num(busy.p99Ms, 2)} ms; logins ${num(logins.requestsPerSecond, 1)}/s (p50 ${num(logins.p50Ms)} ms), ${logins.failed} failed`,
    );
  }
  // The median round of each, by p99: one outlier round on a busy machine does not decide.
  const median = <T>(items: T[], key: (item: T) => number): T => {
    const sorted = [...items].sort((a, b) => key(a) - key(b));
    return sorted[Math.floor((sorted.length - 1) / 2)] as T;
  };
  const quiet = median(alone, (f) => f.p99Ms);
  const busy = median(stormed, (s) => s.validate.p99Ms);
  const ratio = busy.validate.p99Ms / quiet.p99Ms;
  const rate = validateConnections * validateRatePerConnection;
  return {
    id: 3,
    title: "Validate p99 during a login storm",
    rows: [
      {
        scenario: `Validate p99 at ${rate} req/s during a login storm (${stormConnections} concurrent logins)`,
        subject: "keycard",
        value: `p50 ${num(busy.validate.p50Ms, 2)} ms, p99 ${num(busy.validate.p99Ms, 2)} ms (${num(busy.validate.requestsPerSecond)} req/s; ${num(busy.storm.requestsPerSecond, 1)} logins/s)`,
        baseline: "the same without the storm",
        baselineValue: `p50 ${num(quiet.p50Ms, 2)} ms, p99 ${num(quiet.p99Ms, 2)} ms (${num(quiet.requestsPerSecond)} req/s)`,
        ratio: times(ratio),
        target: "<= 3x",
        met: ratio <= 3,
      },
    ],
    commands: [quiet.command, busy.storm.command, busy.validate.command],
    notes: [
      `Median of ${options.rounds} rounds by p99. Validate: ${validateConnections} HTTP/1.1 connections paced at ${validateRatePerConnection} req/s each (h2load --rps). Storm: ${stormConnections} HTTP/1.1 connections each sending POST /auth/login with the right password back to back, started 2 s before the Validate run and ending after it.`,
      "keycard runs with LOGIN_RATE_LIMIT=0, AUTH_RATE_LIMIT=0 (one client IP) and SESSION_MAX_PER_USER=0 (the storm would otherwise end the validated session); successful logins are not throttled by the brute-force rules.",
      pinning()
        ? "keycard pinned to CPU 0, Redis and both h2load processes to CPU 1 (taskset): argon2id (m=19456 KiB, t=2, p=1) runs in libuv's threadpool, so keycard's event loop and that pool share one CPU."
        : "Unpinned (fewer than two CPUs or no taskset): argon2id (m=19456 KiB, t=2, p=1) runs in libuv's threadpool next to keycard's event loop.",
      "h2load's pacing waits for each connection's previous answer, so when Validate slows down it is sent fewer requests (the req/s shown) and the p99 understates what an open-loop client would see.",
    ],
    details: { alone, stormed },
  };
}
