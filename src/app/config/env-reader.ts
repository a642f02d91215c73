import { parseDuration } from "../../domain/duration.js";

/** Invalid settings, each described in one line naming the variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";

  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

/** Reads settings one by one, collecting every problem instead of stopping at the first. */
export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  text(name: string, fallback: string): string {
    const value = this.env[name]?.trim();
    return value === undefined || value === "" ? fallback : value;
  }

  optional(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === "" ? undefined : value;
  }

  duration(name: string, fallback: string, allowZero = false): number {
    const text = this.text(name, fallback);
    const ms = text === "0" && allowZero ? 0 : parseDuration(text);
    if (ms === undefined || (ms === 0 && !allowZero)) {
      this.problems.push(`${name}="${text}" is not a duration like 90s, 15m, 12h, 7d or 30d`);
      return parseDuration(fallback) ?? 0;
    }
    return ms;
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const text = this.text(name, String(fallback));
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) {
      this.problems.push(`${name}="${text}" must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  /** A share written as a percentage, `80%` or `80`; 0 to 100. */
  percent(name: string, fallback: number): number {
    const text = this.text(name, `${fallback}%`);
    const match = /^(\d{1,3})%?$/.exec(text);
    const value = Number(match?.[1] ?? Number.NaN);
    if (!(value >= 0 && value <= 100)) {
      this.problems.push(`${name}="${text}" must be a percentage from 0% to 100%`);
      return fallback;
    }
    return value;
  }

  /** A comma-separated list, entries trimmed, empty ones dropped. */
  list(name: string, fallback = ""): string[] {
    return this.text(name, fallback)
      .split(",")
      .map((entry) => entry.trim())
      .filter((entry) => entry !== "");
  }

  check(ok: boolean, problem: string): void {
    if (!ok) {
      this.problems.push(problem);
    }
  }
}
