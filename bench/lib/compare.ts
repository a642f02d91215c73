/** Shared options, alternating rounds, and the rows that compare a run with its baseline. */
import type { Figures } from "./load.js";
import { num, type Row, times } from "./report.js";

/** The knobs every scenario reads (from `npm run bench -- --flag value`). */
export interface BenchOptions {
  /** Measured seconds per load run. */
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** A fixed request count per load run instead of `seconds`. */
  readonly requests?: number;
  /** Alternating rounds per comparison; the best round of each subject is reported. */
  readonly rounds: number;
  /** HTTP/2 connections and streams per connection (gRPC runs). */
  readonly h2Connections: number;
  readonly h2Streams: number;
  /** HTTP/1.1 connections (Connect JSON and the peer servers). */
  readonly h1Connections: number;
  /** Sessions created by the memory scenario, and how many share one user. */
  readonly sessions: number;
  readonly sessionsPerUser: number;
}

/** One measured subject of a comparison. */
export interface Subject {
  readonly name: string;
  readonly run: () => Promise<Figures>;
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
      log(
        `  round ${round}/${rounds} ${subject.name}: ${num(figures.requestsPerSecond)} req/s, p50 ${num(figures.p50Ms, 2)} ms, p99 ${num(figures.p99Ms, 2)} ms${figures.failed > 0 ? `, ${figures.failed} failed` : ""}`,
      );
    }
  }
  return runs;
}

/** The run with the highest throughput (the least disturbed by other work on the machine). */
export function best(runs: readonly Figures[] | undefined): Figures {
  const [first, ...rest] = runs ?? [];
  if (first === undefined) {
    throw new Error("no runs to choose from");
  }
  return rest.reduce((a, b) => (b.requestsPerSecond > a.requestsPerSecond ? b : a), first);
}

/** "12345 req/s, p50 1.20 ms, p99 3.40 ms". */
export function describe(figures: Figures): string {
  return `${num(figures.requestsPerSecond)} req/s, p50 ${num(figures.p50Ms, 2)} ms, p99 ${num(figures.p99Ms, 2)} ms`;
}

/** A throughput row: keycard's best run against the baseline's, ratio and target. */
export function throughputRow(
  scenario: string,
  keycard: Figures,
  baselineName: string,
  baseline: Figures,
  minimumRatio: number,
): Row {
  const ratio = keycard.requestsPerSecond / baseline.requestsPerSecond;
  return {
    scenario,
    subject: "keycard",
    value: describe(keycard),
    baseline: baselineName,
    baselineValue: describe(baseline),
    ratio: times(ratio),
    target: `>= ${minimumRatio}x`,
    met: ratio >= minimumRatio,
  };
}
