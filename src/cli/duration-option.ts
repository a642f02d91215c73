import { parseDuration } from "../domain/duration.js";
import type { ParsedArgs } from "./args.js";
import { UsageError } from "./errors.js";

/** A duration option such as `--duration 12h` in whole seconds; 0 when absent. */
export function durationOption(args: ParsedArgs, name: string): number {
  const text = args.string(name);
  if (text === undefined) {
    return 0;
  }
  const ms = parseDuration(text);
  if (ms === undefined || ms < 1000) {
    throw new UsageError(`--${name} "${text}" is not a duration like 90s, 15m, 12h or 7d`);
  }
  return Math.min(Math.floor(ms / 1000), 2_147_483_647);
}
