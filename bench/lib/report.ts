/** The combined result of a bench run: the machine, a markdown table, and latest.json. */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname } from "node:path";

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
  /** Markdown lines of the scenario's own table, printed in its section. */
  readonly tables?: readonly string[];
  /** Failures that make a figure doubtful, printed first and failing the run. */
  readonly warnings?: readonly string[];
  readonly commands: readonly string[];
  readonly notes: readonly string[];
  readonly details: unknown;
}

/**
 * CPU model, core count, memory and Node version. Whether processes are pinned is a
 * scenario's choice, stated in its notes.
 */
export function machine(): Record<string, string | number | boolean> {
  return {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    loadAverage: loadAverage(),
  };
}

/** The 1, 5 and 15 minute load averages, as machine() shows them. */
export function loadAverage(): string {
  return os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");
}

/** Formats a number with a fixed number of decimals, or "n/a". */
export function num(value: number | undefined, decimals = 0): string {
  return value === undefined || Number.isNaN(value) ? "n/a" : value.toFixed(decimals);
}

/** "1.23x", or "n/a". */
export function times(value: number | undefined): string {
  return value === undefined || Number.isNaN(value) ? "n/a" : `${value.toFixed(2)}x`;
}

/**
 * The markdown report: machine line, warnings, one table of every row, then each scenario's
 * own table, notes and commands.
 */
export function markdown(
  results: readonly ScenarioResult[],
  info: Record<string, string | number | boolean>,
): string {
  const lines = [
    `Machine: ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, Node ${info.node}, ${info.platform}; load average at start ${info.loadAverage}${info.loadAverageAtEnd === undefined ? "" : `, at end ${info.loadAverageAtEnd}`}`,
    "",
  ];
  for (const result of results) {
    for (const warning of result.warnings ?? []) {
      lines.push(`**WARNING (scenario ${result.id}): ${warning}**`, "");
    }
  }
  lines.push(
    "| # | measurement | keycard | baseline | baseline value | ratio | target | met |",
    "|---|---|---|---|---|---|---|---|",
  );
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
    if (result.tables !== undefined) {
      lines.push("", ...result.tables, "");
    }
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
