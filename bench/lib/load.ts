/**
 * Load generation with h2load (Debian/Ubuntu: nghttp2-client) in its own process on the load
 * CPU, bounded in time (or count) and by a hard timeout. h2load prints no percentiles, so
 * each run writes its per-request log (`--log-file`: start, status, microseconds) and p50/p99
 * come from that.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cpus, pinned } from "./processes.js";

/** What one h2load run sends and for how long. */
export interface LoadSpec {
  readonly url: string;
  /** `h2`: HTTP/2 with `streams` concurrent streams per connection; `h1`: HTTP/1.1. */
  readonly protocol: "h2" | "h1";
  /** The request body; present means POST, absent GET. */
  readonly body?: string | Uint8Array;
  /** How the body is shown in the printed command (the file itself is temporary). */
  readonly bodyLabel?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly connections: number;
  readonly streams?: number;
  /** Measured seconds (after `warmupSeconds`); ignored when `requests` is set. */
  readonly seconds: number;
  readonly warmupSeconds?: number;
  /** A fixed number of requests instead of a duration. */
  readonly requests?: number;
  /** Open-loop pacing: requests per second per connection. */
  readonly ratePerConnection?: number;
}

/** The outcome of one run, with the command that produced it. */
export interface Figures {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly command: string;
}

/** The quantile `q` (0..1) of ascending `sorted`, nearest rank. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) {
    return Number.NaN;
  }
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

function h2loadArgv(spec: LoadSpec, bodyFile: string | undefined, logFile: string): string[] {
  const argv = [spec.protocol === "h1" ? "--h1" : "", "-c", String(spec.connections)];
  if (spec.protocol === "h2") {
    argv.push("-m", String(spec.streams ?? 1));
  }
  if (spec.requests === undefined) {
    argv.push("-D", String(spec.seconds), "--warm-up-time", String(spec.warmupSeconds ?? 1));
  } else {
    argv.push("-n", String(spec.requests));
  }
  if (spec.ratePerConnection !== undefined) {
    argv.push("--rps", String(spec.ratePerConnection));
  }
  if (bodyFile !== undefined) {
    argv.push("-d", bodyFile);
  }
  for (const [name, value] of Object.entries(spec.headers ?? {})) {
    argv.push("-H", `${name}: ${value}`);
  }
  argv.push("--log-file", logFile, spec.url);
  return argv.filter((arg) => arg !== "");
}

function runH2load(argv: string[], timeoutMs: number): Promise<string> {
  const [command, pinnedArgv] = pinned(cpus.load, "h2load", argv);
  return new Promise((resolve, reject) => {
    execFile(
      command,
      pinnedArgv,
      { encoding: "utf8", timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout) => {
        if (error !== null) {
          reject(new Error(`h2load failed: ${error.message}\n${stdout}`));
        } else {
          resolve(stdout);
        }
      },
    );
  });
}

/**
 * Per-request latencies (ms, ascending) of the successful requests in an h2load log, and
 * the count of failed ones (status -1: a broken stream; or not 2xx).
 */
function latencies(logFile: string): { sorted: Float64Array; failed: number } {
  const lines = readFileSync(logFile, "utf8").split("\n");
  const values = new Float64Array(lines.length);
  let count = 0;
  let failed = 0;
  for (const line of lines) {
    const [, status, micros] = line.split("\t");
    if (status === undefined || micros === undefined) {
      continue;
    }
    const code = Number(status);
    if (code === 0) {
      // Begun in the warm-up and ended in the measured window: h2load logs no status.
      continue;
    }
    if (code >= 200 && code < 300) {
      values[count] = Number(micros) / 1000;
      count += 1;
    } else {
      failed += 1;
    }
  }
  return { sorted: values.subarray(0, count).sort(), failed };
}

/**
 * Runs h2load once and returns throughput and latency. Refuses a run where nothing
 * succeeded; counts non-2xx and broken streams as failed.
 */
export async function h2load(spec: LoadSpec): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), "keycard-bench-"));
  try {
    const bodyFile = spec.body === undefined ? undefined : join(dir, "body");
    if (bodyFile !== undefined && spec.body !== undefined) {
      writeFileSync(bodyFile, spec.body);
    }
    const logFile = join(dir, "requests.log");
    const argv = h2loadArgv(spec, bodyFile, logFile);
    const budget = spec.requests === undefined ? spec.seconds + (spec.warmupSeconds ?? 1) : 120;
    const output = await runH2load(argv, (budget + 60) * 1000);
    const rate = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(output)?.[1] ?? Number.NaN);
    const { sorted, failed } = latencies(logFile);
    if (sorted.length === 0) {
      throw new Error(`h2load got no successful response:\n${output}`);
    }
    const total = sorted.reduce((sum, value) => sum + value, 0);
    const shown = argv.map((arg) =>
      arg === bodyFile
        ? "<body>"
        : arg === logFile
          ? "<log>"
          : arg.includes(" ")
            ? `'${arg}'`
            : arg,
    );
    return {
      requestsPerSecond: rate,
      p50Ms: quantile(sorted, 0.5),
      p99Ms: quantile(sorted, 0.99),
      meanMs: total / sorted.length,
      succeeded: sorted.length,
      failed,
      command: `h2load ${shown.join(" ")}`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
