import { Writable } from "node:stream";

type Json = Record<string, unknown>;

/** A pino destination that keeps every JSON line a keycard logged, parsed. */
export class LogLines extends Writable {
  readonly lines: Json[] = [];

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (line.trim() !== "") {
        this.lines.push(JSON.parse(line) as Json);
      }
    }
    done();
  }

  /** The audit events of one kind. */
  audits(event: string): Json[] {
    return this.lines.filter((line) => line.audit === event);
  }

  get text(): string {
    return this.lines.map((line) => JSON.stringify(line)).join("\n");
  }
}
