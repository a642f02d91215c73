/**
 * Load generation with h2load (Debian/Ubuntu: nghttp2-client) in its own process, unpinned
 * unless the spec names a CPU, bounded in time (or count) and by a hard timeout. A warm-up
 * run comes first as a separate h2load process, so that the measured run starts and ends
 * with its own process and the server CPU read around it covers exactly the requests it
 * counts. h2load prints no percentiles, so the measured run writes its per-request log
 * (`--log-file`: start µs, status, µs to the end of the response) and p50/p99 come from it.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pinned } from "./processes.js";
import type { Meter, Usage } from "./usage.js";

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
  /** Measured seconds (after a `warmupSeconds` run); ignored when `requests` is set. */
  readonly seconds: number;
  readonly warmupSeconds?: number;
  /** A fixed number of requests instead of a duration (no warm-up run). */
  readonly requests?: number;
  /** Open-loop pacing: requests per second per connection. */
  readonly ratePerConnection?: number;
  /** The CPU h2load is pinned to; unpinned when absent. */
  readonly cpu?: number;
  /** Readings taken around the measured run (not the warm-up). */
  readonly meter?: Meter;
  /** Text replaced in the printed command, such as a token by `<session token>`. */
  readonly redact?: Readonly<Record<string, string>>;
}

/** The outcome of one run, with the command that produced it. */
export interface Figures {
  /** Successful (2xx) responses per second of the measured run. */
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  /** Responses with a 2xx status. */
  readonly succeeded: number;
  /** Requests that did not end with a 2xx: other statuses, broken streams, timeouts. */
  readonly failed: number;
  /** Responses with a 3xx, 4xx or 5xx status (h2load's "status codes"). */
  readonly non2xx: number;
  /** Completed requests, and those started but unfinished when the run stopped. */
  readonly done: number;
  readonly unfinished: number;
  /** Response body bytes received (h2load's "data" traffic), unfinished requests' included. */
  readonly bodyBytes: number;
  /** Length of the measured run in seconds, as h2load timed it. */
  readonly seconds: number;
  readonly usage?: Usage;
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

function h2loadArgv(
  spec: LoadSpec,
  bodyFile: string | undefined,
  length: { seconds: number } | { requests: number },
  logFile?: string,
): string[] {
  const argv = spec.protocol === "h1" ? ["--h1"] : [];
  argv.push("-c", String(spec.connections));
  if (spec.protocol === "h2") {
    argv.push("-m", String(spec.streams ?? 1));
  }
  if ("seconds" in length) {
    argv.push("-D", String(length.seconds));
  } else {
    argv.push("-n", String(length.requests));
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
  if (logFile !== undefined) {
    argv.push("--log-file", logFile);
  }
  argv.push(spec.url);
  return argv;
}

function runH2load(cpu: number | undefined, argv: string[], timeoutMs: number): Promise<string> {
  const [command, pinnedArgv] = pinned(cpu, "h2load", argv);
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
 * Per-request latencies (ms, ascending) of the 2xx requests in an h2load log, and the count
 * of the others (status -1: a broken stream; or not 2xx).
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
    if (code >= 200 && code < 300) {
      values[count] = Number(micros) / 1000;
      count += 1;
    } else {
      failed += 1;
    }
  }
  return { sorted: values.subarray(0, count).sort(), failed };
}

/** The counts h2load prints at the end of a run. */
interface Summary {
  readonly seconds: number;
  readonly started: number;
  readonly done: number;
  readonly failed: number;
  readonly non2xx: number;
  readonly dataBytes: number;
}

function summaryOf(output: string): Summary {
  const finished = /finished in ([\d.]+)(s|ms|us),/.exec(output);
  const unit = { s: 1, ms: 1e-3, us: 1e-6 }[(finished?.[2] ?? "s") as "s" | "ms" | "us"];
  const requests =
    /requests: \d+ total, (\d+) started, (\d+) done, \d+ succeeded, (\d+) failed/.exec(output);
  const codes = /status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(output);
  const data = /traffic: .*, [\d.]+\w*B \((\d+)\) data/.exec(output);
  return {
    seconds: Number(finished?.[1] ?? Number.NaN) * unit,
    started: Number(requests?.[1] ?? Number.NaN),
    done: Number(requests?.[2] ?? Number.NaN),
    failed: Number(requests?.[3] ?? Number.NaN),
    non2xx: Number(codes?.[1] ?? 0) + Number(codes?.[2] ?? 0) + Number(codes?.[3] ?? 0),
    dataBytes: Number(data?.[1] ?? Number.NaN),
  };
}

/**
 * The argv as a shell command, with the temporary files named by what they hold and the
 * `redact` texts replaced by their labels.
 */
function shown(
  argv: readonly string[],
  files: Readonly<Record<string, string>>,
  redact: Readonly<Record<string, string>>,
): string {
  const words = argv.map((arg) => {
    const file = files[arg];
    if (file !== undefined) {
      return file;
    }
    let text = arg;
    for (const [secret, label] of Object.entries(redact)) {
      text = text.replaceAll(secret, label);
    }
    return /[\s'"{}<>]/.test(text) ? `'${text}'` : text;
  });
  return `h2load ${words.join(" ")}`;
}

/**
 * Runs h2load once (after a warm-up run of `warmupSeconds` when timed) and returns
 * throughput, latency, failures and, with a meter, what the run cost. Refuses a run where
 * nothing succeeded; counts non-2xx and broken streams as failed.
 */
export async function h2load(spec: LoadSpec): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), "keycard-bench-"));
  try {
    const bodyFile = spec.body === undefined ? undefined : join(dir, "body");
    if (bodyFile !== undefined && spec.body !== undefined) {
      writeFileSync(bodyFile, spec.body);
    }
    const warmup = spec.warmupSeconds ?? 1;
    if (spec.requests === undefined && warmup > 0) {
      await runH2load(
        spec.cpu,
        h2loadArgv(spec, bodyFile, { seconds: warmup }),
        (warmup + 60) * 1000,
      );
    }
    const logFile = join(dir, "requests.log");
    const length =
      spec.requests === undefined ? { seconds: spec.seconds } : { requests: spec.requests };
    const argv = h2loadArgv(spec, bodyFile, length, logFile);
    const budget = spec.requests === undefined ? spec.seconds : 120;
    const stop = await spec.meter?.();
    const output = await runH2load(spec.cpu, argv, (budget + 60) * 1000);
    const usage = await stop?.();
    const summary = summaryOf(output);
    const { sorted, failed } = latencies(logFile);
    if (sorted.length === 0) {
      throw new Error(`h2load got no successful response:\n${output}`);
    }
    const total = sorted.reduce((sum, value) => sum + value, 0);
    const files: Record<string, string> = { [logFile]: "<log>" };
    if (bodyFile !== undefined) {
      files[bodyFile] = spec.bodyLabel === undefined ? "<body>" : `<body: ${spec.bodyLabel}>`;
    }
    const warmupNote =
      spec.requests === undefined && warmup > 0 ? ` (after the same with -D ${warmup})` : "";
    return {
      requestsPerSecond: sorted.length / summary.seconds,
      p50Ms: quantile(sorted, 0.5),
      p99Ms: quantile(sorted, 0.99),
      meanMs: total / sorted.length,
      succeeded: sorted.length,
      failed: Math.max(failed, summary.failed),
      non2xx: summary.non2xx,
      done: summary.done,
      unfinished: summary.started - summary.done,
      bodyBytes: summary.dataBytes,
      seconds: summary.seconds,
      ...(usage === undefined ? {} : { usage }),
      command: `${shown(argv, files, spec.redact ?? {})}${warmupNote}`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
