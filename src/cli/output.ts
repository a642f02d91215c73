import { type DescMessage, type MessageShape, toJson } from "@bufbuild/protobuf";
import { type Timestamp, timestampMs } from "@bufbuild/protobuf/wkt";
import { AuthMethod } from "../../gen/keycard/v1/session_pb.js";
import type { Io } from "./terminal.js";

/**
 * Everything a command prints. Results go to stdout, either as the response's proto JSON
 * (`--json`, snake_case field names, every field present) or as lines and tables for
 * people; notes and warnings go to stderr so that stdout stays parseable.
 */
export class Output {
  constructor(
    private readonly io: Io,
    readonly json: boolean,
  ) {}

  /** Prints a response: its proto JSON with --json, otherwise what `human` prints. */
  result<Desc extends DescMessage>(
    schema: Desc,
    message: MessageShape<Desc>,
    human: () => void,
  ): void {
    if (this.json) {
      const json = toJson(schema, message, { useProtoFieldName: true, alwaysEmitImplicit: true });
      this.io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
      return;
    }
    human();
  }

  /** One line of the human-readable result. */
  line(text = ""): void {
    this.io.stdout.write(`${text}\n`);
  }

  /** A note or warning for the person at the terminal, kept out of stdout. */
  note(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }

  /** Aligned columns with a header row; `empty` is printed instead when there are no rows. */
  table(headers: readonly string[], rows: readonly (readonly string[])[], empty: string): void {
    if (rows.length === 0) {
      this.line(empty);
      return;
    }
    const widths = headers.map((header, column) =>
      Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)),
    );
    for (const row of [headers, ...rows]) {
      const cells = row.map((cell, column) =>
        column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0),
      );
      this.line(cells.join("  ").trimEnd());
    }
  }
}

/** A timestamp as `2030-01-31 12:00:00Z` (UTC, to the second), or `fallback` when unset. */
export function formatTime(timestamp: Timestamp | undefined, fallback = "-"): string {
  if (timestamp === undefined) {
    return fallback;
  }
  return new Date(timestampMs(timestamp))
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
}

/** How far in the future a timestamp is, roughly, as people say it: "in 12 hours". */
export function formatFromNow(timestamp: Timestamp | undefined, now = Date.now()): string {
  if (timestamp === undefined) {
    return "never";
  }
  const minutes = Math.round((timestampMs(timestamp) - now) / 60_000);
  if (minutes < 1) {
    return minutes < 0 ? "already passed" : "in less than a minute";
  }
  if (minutes < 120) {
    return `in ${minutes} minute${minutes === 1 ? "" : "s"}`;
  }
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `in ${hours} hours` : `in ${Math.round(hours / 24)} days`;
}

/**
 * A session's authentication methods as `password+totp`, or `fallback` when there are none.
 * A value this build does not know shows as its number.
 */
export function formatAuthMethods(methods: readonly AuthMethod[], fallback = "-"): string {
  const names = methods.map((method) => AuthMethod[method]?.toLowerCase() ?? String(method));
  return names.join("+") || fallback;
}
