import { createInterface } from "node:readline/promises";
import { CliError, ExitCode } from "./errors.js";

/**
 * Standard input: any readable stream. Only a terminal (`isTTY` true, with `setRawMode`) is
 * prompted on; a pipe, a file or a test's in-memory stream is read as data.
 */
export type Stdin = NodeJS.ReadableStream & {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
};

/** The process streams and environment a command talks through (tests can pass their own). */
export interface Io {
  readonly stdin: Stdin;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Whether a person is at the keyboard, so that prompting makes sense. */
export function isInteractive(io: Io): boolean {
  return io.stdin.isTTY === true;
}

/** Reads all of stdin (for `--password-stdin`), without the one trailing newline. */
export async function readStdin(io: Io): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) {
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  }
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

/** Asks for one line of visible input on the terminal (a TOTP code, say). */
export async function promptLine(io: Io, question: string): Promise<string> {
  const reader = createInterface({ input: io.stdin, output: io.stderr, terminal: true });
  const interrupted = new Promise<never>((_, reject) =>
    reader.once("SIGINT", () => reject(new CliError("interrupted", ExitCode.interrupted))),
  );
  try {
    return (await Promise.race([reader.question(question), interrupted])).trim();
  } finally {
    reader.close();
  }
}

/**
 * Asks for a secret without echoing it: the terminal is put in raw mode and keys are read
 * one by one (Enter ends, Backspace deletes, Ctrl-C aborts with exit code 130).
 */
export function promptSecret(io: Io, question: string): Promise<string> {
  const { stdin, stderr } = io;
  stderr.write(question);
  // Callers prompt only on a terminal (see isInteractive), which always has raw mode.
  stdin.setRawMode?.(true);
  stdin.setEncoding("utf8");
  stdin.resume();
  return new Promise((resolve, reject) => {
    let typed: string[] = [];
    const finish = (): void => {
      stdin.off("data", onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      stderr.write("\n");
    };
    const onData = (chunk: string): void => {
      for (const char of chunk) {
        if (char === "\r" || char === "\n" || char === "\u0004") {
          finish();
          resolve(typed.join(""));
          return;
        }
        if (char === "\u0003") {
          finish();
          reject(new CliError("interrupted", ExitCode.interrupted));
          return;
        }
        if (char === "\u007f" || char === "\b") {
          typed = typed.slice(0, -1);
        } else if (char >= " ") {
          typed.push(char);
        }
      }
    };
    stdin.on("data", onData);
  });
}
