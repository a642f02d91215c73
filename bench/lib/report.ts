/** The combined result of a bench run: the machine, a markdown table, and latest.json. */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname } from "node:path";
import { pinning } from "./processes.js";

/** One line of the combined table: a measurement next to its baseline, and the verdict. */
export interface Row {
  readonly scenario: string;
  readonly subject: string;
  readonly value: string;
  readonly baseline: string;
  readonly baselineValue: string;
  readonly ratio: string;
  readonly target: string;
  readonly met: boolean | undefined;
}

/** Everything a scenario reports: its rows, raw figures, commands and notes. */
export interface ScenarioResult {
  readonly id: number;
  readonly title: string;
  readonly rows: readonly Row[];
  readonly commands: readonly string[];
  readonly notes: readonly string[];
  readonly details: unknown;
}

/** CPU model, core count, memory, Node version and whether processes were pinned. */
export function machine(): Record<string, string | number | boolean> {
  return {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    pinned: pinning(),
    loadAverage: os
      .loadavg()
      .map((value) => value.toFixed(2))
      .join(" "),
  };
}

/** Formats a number with a fixed number of decimals, or "n/a". */
export function num(value: number | undefined, decimals = 0): string {
  return value === undefined || Number.isNaN(value) ? "n/a" : value.toFixed(decimals);
}

/** "1.23x", or "n/a". */
export function times(value: number | undefined): string {
  return value === undefined || Number.isNaN(value) ? "n/a" : `${value.toFixed(2)}x`;
}

/** The markdown report: machine line, one table of every row, then notes and commands. */
export function markdown(
  results: readonly ScenarioResult[],
  info: Record<string, string | number | boolean>,
): string {
  const lines = [
    `Machine: ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, Node ${info.node}` +
      `${info.pinned ? "; server pinned to CPU 0, Redis and load generator to CPU 1" : ", unpinned"}` +
      `; load average at start ${info.loadAverage}`,
    "",
    "| # | measurement | keycard | baseline | baseline value | ratio | target | met |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const result of results) {
    for (const row of result.rows) {
      const met = row.met === undefined ? "-" : row.met ? "yes" : "**no**";
      lines.push(
        `| ${result.id} | ${row.scenario} | ${row.value} | ${row.baseline} | ${row.baselineValue} | ${row.ratio} | ${row.target} | ${met} |`,
      );
    }
  }
  for (const result of results) {
    lines.push("", `### ${result.id}. ${result.title}`);
    for (const note of result.notes) {
      lines.push(`- ${note}`);
    }
    if (result.commands.length > 0) {
      lines.push("", "Commands:", "```", ...new Set(result.commands), "```");
    }
  }
  return `${lines.join("\n")}\n`;
}

/** Writes the run as JSON (machine, options, every scenario's rows and raw figures). */
export function writeJson(path: string, content: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(content, null, 2)}\n`);
}
