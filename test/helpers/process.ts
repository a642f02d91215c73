import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";

/** A keycard process started by {@link startMain}, with everything it printed so far. */
export interface Started {
  readonly child: ChildProcessWithoutNullStreams;
  readonly output: () => string;
}

const running: ChildProcessWithoutNullStreams[] = [];

/**
 * Starts `src/app/main.ts` on port 0 with only PATH and `env` in its environment. It runs in
 * this Node binary with tsx as a loader, in one process (not under the `tsx` launcher, whose
 * child would outlive a SIGKILL of the launcher), so signals reach keycard itself.
 */
export function startMain(env: Record<string, string>): Started {
  return startCommand([process.execPath, "--import", "tsx", "src/app/main.ts"], env);
}

/**
 * Like {@link startMain}, with `argv` as the command (a shell that ends in keycard, as a
 * container's entrypoint does), killed by {@link killStarted} all the same.
 */
export function startCommand(argv: readonly string[], env: Record<string, string>): Started {
  const [command = "", ...args] = argv;
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? "", PORT: "0", HOST: "127.0.0.1", ...env },
  });
  running.push(child);
  let output = "";
  const append = (chunk: Buffer): void => {
    output += chunk.toString();
  };
  child.stdout.on("data", append);
  child.stderr.on("data", append);
  return { child, output: () => output };
}

/** Kills every process {@link startMain} started and has not killed yet; for `afterEach`. */
export function killStarted(): void {
  for (const child of running.splice(0)) {
    child.kill("SIGKILL");
  }
}

/** Waits up to 15 s for `pattern` in the output; throws with the output if it never comes. */
export async function waitFor(started: Started, pattern: RegExp): Promise<RegExpExecArray> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const match = pattern.exec(started.output());
    if (match !== null) {
      return match;
    }
    if (started.child.exitCode !== null) {
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no ${pattern} in output:\n${started.output()}`);
}

/** The exit code of `child`, waiting for the exit if it has not come yet. */
export async function exitCodeOf(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  if (child.exitCode !== null) {
    return child.exitCode;
  }
  const [code] = (await once(child, "exit")) as [number | null];
  return code;
}
