import { spawn } from "node:child_process";
import { once } from "node:events";
import { PassThrough, Readable, Writable } from "node:stream";
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

function collector(onText: (text: string) => void = () => undefined): {
  stream: Writable;
  text: () => string;
} {
  let text = "";
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, done) {
      text += chunk.toString();
      onText(chunk.toString());
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
 * What a person at the terminal types at a prompt (without the Enter), given the prompt and
 * what the command has printed to stdout so far; undefined presses Ctrl-C instead.
 */
export type Answer = (prompt: string, stdout: string) => string | undefined | Promise<string>;

/** How a command run at a terminal ended: as {@link CliResult}, and the prompts it asked. */
export interface TerminalResult extends CliResult {
  readonly prompts: readonly string[];
}

/** Terminal control sequences (readline moves the cursor around its prompts). */
const controlSequences = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, "g");

/**
 * Runs one `keycard` command line through `runCli` as at a terminal: stdin says it is a TTY
 * (raw mode does nothing), and every prompt the command writes to stderr (text ending in
 * ": ") is answered with what `answer` types, then Enter. An answer that fails or is
 * undefined presses Ctrl-C, so that an unexpected prompt ends the command, never hangs it.
 */
export async function runKeycardAtTerminal(
  args: readonly string[],
  given: { readonly env: Record<string, string>; readonly answer: Answer },
): Promise<TerminalResult> {
  const stdin = Object.assign(new PassThrough(), {
    isTTY: true,
    setRawMode: () => stdin,
  });
  const prompts: string[] = [];
  const stdout = collector();
  let sincePrompt = "";
  const type = async (prompt: string): Promise<void> => {
    const typed = await Promise.resolve(given.answer(prompt, stdout.text())).catch(() => undefined);
    stdin.write(typed === undefined ? "\u0003" : `${typed}\r`);
  };
  const stderr = collector((text) => {
    sincePrompt += text.replace(controlSequences, "");
    const prompt = /[^\n]*: $/.exec(sincePrompt)?.[0];
    if (prompt !== undefined) {
      sincePrompt = "";
      prompts.push(prompt);
      void type(prompt);
    }
  });
  try {
    const code = await runCli(args, {
      stdin,
      stdout: stdout.stream,
      stderr: stderr.stream,
      env: { ...given.env },
    });
    return { code, stdout: stdout.text(), stderr: stderr.text(), prompts };
  } finally {
    stdin.end();
  }
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
