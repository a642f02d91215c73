/**
 * `npm run bench`: the four scenarios of issue 7, or some of them (`--only 1,3`). Each one
 * measures keycard next to its baseline in the same run; the result is one markdown table on
 * stdout (with the machine and the command behind every figure) and bench/results/latest.json.
 *
 *   npm run bench
 *   npm run bench -- --only 1,2 --seconds 5 --rounds 3
 *   npm run bench -- --only 4 --sessions 100000
 *
 * Needs redis-server and h2load on the PATH (Debian/Ubuntu: apt-get install -y redis-server
 * nghttp2-client); `taskset` (util-linux) pins the server and the load generator apart.
 */
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";
import type { BenchOptions } from "./lib/compare.js";
import { stopAll } from "./lib/processes.js";
import { machine, markdown, type ScenarioResult, writeJson } from "./lib/report.js";
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

const usage = `Usage: npm run bench -- [--only 1,2,3,4] [--seconds 8] [--warmup 2] [--requests N]
  [--rounds 2] [--h2-connections 8] [--h2-streams 16] [--h1-connections 32]
  [--sessions 1000000] [--sessions-per-user 2] [--out bench/results/latest.json]`;

function readOptions(): { options: BenchOptions; only: number[]; out: string } {
  const { values } = parseArgs({
    options: {
      only: { type: "string", default: "1,2,3,4" },
      seconds: { type: "string", default: "8" },
      warmup: { type: "string", default: "2" },
      requests: { type: "string" },
      rounds: { type: "string", default: "2" },
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
  return {
    only: [...new Set(only)].sort(),
    out: values.out,
    options: {
      seconds: whole("seconds", values.seconds, 1),
      warmupSeconds: whole("warmup", values.warmup, 0),
      ...(values.requests === undefined ? {} : { requests: whole("requests", values.requests, 1) }),
      rounds: whole("rounds", values.rounds, 1),
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
  process.stdout.write(`\n${markdown(results, info)}`);
  writeJson(out, {
    startedAt: startedAt.toISOString(),
    machine: info,
    options,
    results,
    failures,
  });
  process.stdout.write(`\nWrote ${out}\n`);
  if (failures.length > 0) {
    process.stderr.write(`\n${failures.join("\n\n")}\n`);
    process.exitCode = 1;
  }
}

process.once("SIGINT", () => {
  void stopAll().then(() => process.exit(130));
});
await main();
