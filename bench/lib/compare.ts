/** Shared options, alternating rounds, and the rows that compare a run with its baseline. */
import type { Figures } from "./load.js";
import { num, type Row, times } from "./report.js";

/** How the reported run of each subject is chosen among its rounds. */
export type Pick = "best" | "median";

/** The knobs every scenario reads (from `npm run bench -- --flag value`). */
export interface BenchOptions {
  /** Measured seconds per load run. */
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** A fixed request count per load run instead of `seconds`. */
  readonly requests?: number;
  /** Alternating rounds per comparison. */
  readonly rounds: number;
  /** Which round of each subject is reported: the fastest, or the median by req/s. */
  readonly pick: Pick;
  /** HTTP/2 connections and streams per connection (gRPC and ext_authz runs). */
  readonly h2Connections: number;
  readonly h2Streams: number;
  /** HTTP/1.1 connections (Connect, gRPC-Web, REST and the peer servers). */
  readonly h1Connections: number;
  /** The validation doors scenario 1 measures (ids of bench/lib/doors.ts). */
  readonly doors: readonly string[];
  /** The keycards scenario 1 measures: on its default Validate cache, with it off, or both. */
  readonly caches: readonly ("default" | "off")[];
  /** Sessions created by the memory scenario, and how many share one user. */
  readonly sessions: number;
  readonly sessionsPerUser: number;
}

/** One measured subject of a comparison. */
export interface Subject {
  readonly name: string;
  readonly run: () => Promise<Figures>;
}

/** "12345 req/s, p50 1.20 ms, p99 3.40 ms" and, when measured, CPU and Redis per request. */
export function describe(figures: Figures): string {
  const parts = [
    `${num(figures.requestsPerSecond)} req/s`,
    `p50 ${num(figures.p50Ms, 2)} ms`,
    `p99 ${num(figures.p99Ms, 2)} ms`,
  ];
  if (figures.usage !== undefined) {
    parts.push(
      `CPU ${num(figures.usage.serverCpuMicros / figures.succeeded)} µs/req`,
      `Redis ${num(figures.usage.redisCommands / figures.succeeded, 2)} cmds/req`,
    );
  }
  if (figures.failed > 0 || figures.non2xx > 0) {
    parts.push(`${figures.failed} failed, ${figures.non2xx} non-2xx`);
  }
  return parts.join(", ");
}

/**
 * Runs the subjects one after the other, `rounds` times, so that both sides of a ratio see
 * the same machine conditions; returns every run per subject.
 */
export async function alternate(
  rounds: number,
  subjects: readonly Subject[],
  log: (line: string) => void,
): Promise<Map<string, Figures[]>> {
  const runs = new Map<string, Figures[]>(subjects.map((subject) => [subject.name, []]));
  for (let round = 1; round <= rounds; round += 1) {
    for (const subject of subjects) {
      const figures = await subject.run();
      runs.get(subject.name)?.push(figures);
      log(`  round ${round}/${rounds} ${subject.name}: ${describe(figures)}`);
    }
  }
  return runs;
}

/** The run with the highest throughput (the least disturbed by other work on the machine). */
export function best(runs: readonly Figures[] | undefined): Figures {
  return chosen(runs, "best");
}

/**
 * The reported run of a subject: the fastest (`best`), or the median by throughput (the
 * slower middle one of an even count, so that two rounds do not mean "best").
 */
export function chosen(runs: readonly Figures[] | undefined, pick: Pick): Figures {
  const sorted = [...(runs ?? [])].sort((a, b) => b.requestsPerSecond - a.requestsPerSecond);
  const run = pick === "best" ? sorted[0] : sorted[Math.floor(sorted.length / 2)];
  if (run === undefined) {
    throw new Error("no runs to choose from");
  }
  return run;
}

/** A throughput row: keycard's best run against the baseline's, ratio and target. */
export function throughputRow(
  scenario: string,
  keycard: Figures,
  baselineName: string,
  baseline: Figures,
  minimumRatio: number | undefined,
): Row {
  const ratio = keycard.requestsPerSecond / baseline.requestsPerSecond;
  return {
    scenario,
    subject: "keycard",
    value: describe(keycard),
    baseline: baselineName,
    baselineValue: describe(baseline),
    ratio: times(ratio),
    target: minimumRatio === undefined ? "-" : `>= ${minimumRatio}x`,
    met: minimumRatio === undefined ? undefined : ratio >= minimumRatio,
  };
}
