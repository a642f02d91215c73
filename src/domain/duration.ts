const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a human duration such as "90s", "15m", "12h", "7d" or "250ms" into milliseconds.
 * Returns undefined for anything else, so callers can say which setting was wrong.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,9})(ms|s|m|h|d)$/.exec(text.trim());
  if (match === null) {
    return undefined;
  }
  const [, amount, unit] = match;
  return Number(amount) * (units[unit ?? ""] ?? Number.NaN);
}

/** Describes a duration the way people say it: "12 hours", "30 days", "90 seconds". */
export function describeDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  const steps: [number, string][] = [
    [86_400, "day"],
    [3_600, "hour"],
    [60, "minute"],
    [1, "second"],
  ];
  for (const [size, name] of steps) {
    if (seconds >= size && seconds % size === 0) {
      const count = seconds / size;
      return `${count} ${name}${count === 1 ? "" : "s"}`;
    }
  }
  return `${seconds} seconds`;
}

/** A wait in whole seconds as a person reads it: "1 second", "42 seconds". */
export function secondsText(seconds: number): string {
  return `${seconds} second${seconds === 1 ? "" : "s"}`;
}
