import { spawn } from "node:child_process";
import { once } from "node:events";
import { Readable, Writable } from "node:stream";
import { runCli } from "../../src/cli/run.js";

/** How one `keycard` command line ended: its exit code and everything it printed. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** What a command is given: stdin's whole content (empty when absent) and its environment. */
export interface CliInput {
  readonly input?: string | undefined;
  readonly env: Record<string, string>;
}

function collector(): { stream: Writable; text: () => string } {
  let text = "";
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

/**
 * Runs one `keycard` command line in this process through `runCli`, as `src/cli/main.ts`
 * does with the real streams: stdin is a stream of `input` that then ends (no terminal, so
 * nothing is prompted for), stdout and stderr are collected, and the environment is `env`
 * alone. Many can run at once.
 */
export async function runKeycard(args: readonly string[], given: CliInput): Promise<CliResult> {
  const stdout = collector();
  const stderr = collector();
  const code = await runCli(args, {
    stdin: Readable.from(given.input === undefined ? [] : [Buffer.from(given.input)]),
    stdout: stdout.stream,
    stderr: stderr.stream,
    env: { ...given.env },
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/**
 * Runs `keycard <args>` as a process of its own (`src/cli/main.ts` in this Node binary with
 * tsx as a loader), with PATH and `env` as its environment and `input` piped to stdin: the
 * entry point itself, which sets the exit code and handles a closed stdout.
 */
export async function runKeycardProcess(
  args: readonly string[],
  given: CliInput,
): Promise<CliResult> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    env: { PATH: process.env.PATH ?? "", ...given.env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdin.end(given.input ?? "");
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout, stderr };
}
