/**
 * `npm run bench`: the four scenarios of the README's Performance section, or some of them (`--only 1,3`). Each one
 * measures keycard next to its baseline in the same run; the result is markdown on stdout
 * (the machine, one table of every comparison, each scenario's own table, and the command
 * behind every figure) and bench/results/latest.json.
 *
 * 1. Every validation door (Connect JSON and binary, gRPC, gRPC-Web, REST, forward
 *    auth, RFC 7662 introspection, Envoy ext_authz) against the one-GET node:http(2) +
 *    ioredis floor, keycard on its default Validate cache and with VALIDATE_CACHE_TTL=0:
 *    req/s, p50/p99, server CPU µs/request, Redis commands/request, failures. Unpinned.
 * 2. Validate against express-session + connect-redis and better-auth. Unpinned.
 * 3. Validate p99 during a login storm (keycard against itself; pinned with taskset when
 *    there are two CPUs, so that argon2's pool shares keycard's CPU).
 * 4. Redis bytes and process memory per live session.
 *
 *   npm run bench
 *   npm run bench -- --only 1 --doors grpc,rest --seconds 3 --rounds 1
 *   npm run bench -- --only 1,2 --seconds 5 --rounds 3 --pick median
 *   npm run bench -- --only 4 --sessions 100000
 *
 * Needs redis-server and h2load on the PATH (Debian/Ubuntu: apt-get install -y redis-server
 * nghttp2-client), and Linux's /proc for CPU times. Any failed request in a keycard run of
 * scenario 1 is printed as a warning and makes the run exit with status 1.
 */
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";
import type { BenchOptions, Pick } from "./lib/compare.js";
import { doors } from "./lib/doors.js";
import { stopAll } from "./lib/processes.js";
import { loadAverage, machine, markdown, type ScenarioResult, writeJson } from "./lib/report.js";
import { loginStormScenario } from "./scenarios/login-storm.js";
import { memoryScenario } from "./scenarios/memory.js";
import { peersScenario } from "./scenarios/peers.js";
import { validateScenario } from "./scenarios/validate.js";

const scenarios: Record<
  number,
  (options: BenchOptions, log: (line: string) => void) => Promise<ScenarioResult>
> = {
  1: validateScenario,
  2: peersScenario,
  3: loginStormScenario,
  4: memoryScenario,
};

const doorIds = doors.map((door) => door.id);

const usage = `Usage: npm run bench -- [--only 1,2,3,4] [--seconds 8] [--warmup 2] [--requests N]
  [--rounds 2] [--pick best|median] [--h2-connections 8] [--h2-streams 16] [--h1-connections 32]
  [--doors ${doorIds.join(",")}] [--cache default,off]
  [--sessions 1000000] [--sessions-per-user 2] [--out bench/results/latest.json]`;

function readOptions(): { options: BenchOptions; only: number[]; out: string } {
  const { values } = parseArgs({
    options: {
      only: { type: "string", default: "1,2,3,4" },
      seconds: { type: "string", default: "8" },
      warmup: { type: "string", default: "2" },
      requests: { type: "string" },
      rounds: { type: "string", default: "2" },
      pick: { type: "string", default: "best" },
      doors: { type: "string", default: doorIds.join(",") },
      cache: { type: "string", default: "default,off" },
      "h2-connections": { type: "string", default: "8" },
      "h2-streams": { type: "string", default: "16" },
      "h1-connections": { type: "string", default: "32" },
      sessions: { type: "string", default: "1000000" },
      "sessions-per-user": { type: "string", default: "2" },
      out: { type: "string", default: "bench/results/latest.json" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const whole = (name: string, text: string | undefined, min: number): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) {
      process.stderr.write(`--${name} must be a whole number >= ${min}\n${usage}\n`);
      process.exit(2);
    }
    return value;
  };
  const only = values.only.split(",").map((id) => whole("only", id.trim(), 1));
  for (const id of only) {
    if (scenarios[id] === undefined) {
      process.stderr.write(`--only: there is no scenario ${id} (1 to 4)\n`);
      process.exit(2);
    }
  }
  const list = (name: string, text: string, allowed: readonly string[]): string[] => {
    const items = [...new Set(text.split(",").map((item) => item.trim()))].filter(Boolean);
    const unknown = items.filter((item) => !allowed.includes(item));
    if (items.length === 0 || unknown.length > 0) {
      process.stderr.write(
        `--${name}: ${unknown.length > 0 ? `unknown ${unknown.join(", ")}; ` : ""}choose from ${allowed.join(", ")}\n`,
      );
      process.exit(2);
    }
    return items;
  };
  if (values.pick !== "best" && values.pick !== "median") {
    process.stderr.write(`--pick must be best or median\n${usage}\n`);
    process.exit(2);
  }
  const pick: Pick = values.pick;
  return {
    only: [...new Set(only)].sort(),
    out: values.out,
    options: {
      seconds: whole("seconds", values.seconds, 1),
      warmupSeconds: whole("warmup", values.warmup, 0),
      ...(values.requests === undefined ? {} : { requests: whole("requests", values.requests, 1) }),
      rounds: whole("rounds", values.rounds, 1),
      pick,
      doors: list("doors", values.doors, doorIds),
      caches: list("cache", values.cache, ["default", "off"]) as ("default" | "off")[],
      h2Connections: whole("h2-connections", values["h2-connections"], 1),
      h2Streams: whole("h2-streams", values["h2-streams"], 1),
      h1Connections: whole("h1-connections", values["h1-connections"], 1),
      sessions: whole("sessions", values.sessions, 1),
      sessionsPerUser: whole("sessions-per-user", values["sessions-per-user"], 1),
    },
  };
}

/** Exits with install instructions when a tool the scenarios need is missing. */
function requireTools(only: readonly number[]): void {
  const needed: [string, string[], string][] = [
    ["redis-server", ["--version"], "apt-get install -y redis-server"],
  ];
  if (only.some((id) => id !== 4)) {
    needed.push(["h2load", ["--version"], "apt-get install -y nghttp2-client"]);
  }
  const missing = needed.filter(([command, argv]) => {
    try {
      execFileSync(command, argv, { stdio: "ignore" });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    process.stderr.write(
      `The bench needs ${missing.map(([command]) => command).join(" and ")} on the PATH. On Debian/Ubuntu:\n${missing.map(([, , install]) => `  ${install}`).join("\n")}\n`,
    );
    process.exit(1);
  }
}

async function main(): Promise<void> {
  const { options, only, out } = readOptions();
  requireTools(only);
  const info = machine();
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  log(`keycard bench: scenarios ${only.join(", ")} on ${info.cpu} (${info.cores} cores)`);
  const results: ScenarioResult[] = [];
  const failures: string[] = [];
  const startedAt = new Date();
  for (const id of only) {
    const scenario = scenarios[id];
    if (scenario === undefined) {
      continue;
    }
    const started = Date.now();
    try {
      results.push(await scenario(options, log));
    } catch (error) {
      failures.push(`scenario ${id}: ${(error as Error).stack ?? String(error)}`);
      log(`scenario ${id} failed: ${(error as Error).message}`);
    } finally {
      await stopAll();
    }
    log(`  (scenario ${id}: ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  // Other work on the machine shows in the load average; the bench's own runs add ~2-3.
  const ended = { ...info, loadAverageAtEnd: loadAverage() };
  process.stdout.write(`\n${markdown(results, ended)}`);
  writeJson(out, {
    startedAt: startedAt.toISOString(),
    machine: ended,
    options,
    results,
    failures,
  });
  process.stdout.write(`\nWrote ${out}\n`);
  const warnings = results.flatMap((result) => result.warnings ?? []);
  if (warnings.length > 0) {
    process.stderr.write(
      `\n!!! ${warnings.length} keycard run(s) had failed requests or answers that were not successes; their figures are not benchmark figures:\n${warnings.map((warning) => `  ${warning}`).join("\n")}\n`,
    );
    process.exitCode = 1;
  }
  if (failures.length > 0) {
    process.stderr.write(`\n${failures.join("\n\n")}\n`);
    process.exitCode = 1;
  }
}

process.once("SIGINT", () => {
  void stopAll().then(() => process.exit(130));
});
await main();
