/**
 * Child processes of a bench run: redis-server, keycard and the peer servers, each pinned to
 * a CPU when the machine has two or more (the server under test on one, Redis and the load
 * generator on the other), and stopped at the end whatever happens.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import os from "node:os";
import { Redis } from "ioredis";
import { freePort } from "../../test/helpers/redis-server.js";

export { freePort };

/** The CPU the server under test runs on, and the one Redis and the load generator share. */
export const cpus = { server: 0, load: 1 } as const;

const canPin = ((): boolean => {
  if (os.availableParallelism() < 2) {
    return false;
  }
  try {
    execFileSync("taskset", ["-c", "0", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** Whether commands are pinned with taskset (two or more CPUs and taskset installed). */
export function pinning(): boolean {
  return canPin;
}

/** `command argv` prefixed with `taskset -c <cpu>` when pinning is possible. */
export function pinned(cpu: number, command: string, argv: readonly string[]): [string, string[]] {
  return canPin ? ["taskset", ["-c", String(cpu), command, ...argv]] : [command, [...argv]];
}

/** A child process that this run started and must stop. */
export interface Started {
  readonly pid: number;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

const running = new Set<Started>();

/** Stops every process still running; called once at the end of a run and on a crash. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((started) => started.stop()));
}

/**
 * Spawns `command` (pinned to `cpu`) and resolves once its stdout matches `ready`. Output
 * after that is drained and dropped, so a chatty server never blocks on a full pipe.
 */
export function startProcess(options: {
  readonly command: string;
  readonly argv: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly ready: RegExp;
  readonly cpu: number;
  readonly timeoutMs?: number;
}): Promise<Started> {
  const [command, argv] = pinned(options.cpu, options.command, options.argv);
  const child = spawn(command, argv, {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const started: Started = {
    pid: child.pid ?? 0,
    child,
    stop: async () => {
      running.delete(started);
      if (child.exitCode !== null || child.signalCode !== null) {
        return;
      }
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
  running.add(started);
  return new Promise((resolve, reject) => {
    let output = "";
    let ready = false;
    const timer = setTimeout(() => {
      void started.stop();
      reject(new Error(`${options.command} was not ready within 30 s:\n${output}`));
    }, options.timeoutMs ?? 30_000);
    const collect = (chunk: Buffer): void => {
      if (ready) {
        return;
      }
      output += chunk.toString();
      if (options.ready.test(output)) {
        ready = true;
        clearTimeout(timer);
        resolve(started);
      }
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${options.command}: ${error.message}`));
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      running.delete(started);
      if (!ready) {
        reject(new Error(`${options.command} exited with ${code} before it was ready:\n${output}`));
      }
    });
  });
}

/** A private, empty redis-server without persistence. */
export interface BenchRedis extends Started {
  readonly url: string;
}

/** Starts a private redis-server on a free port, on the load generator's CPU. */
export async function startRedis(): Promise<BenchRedis> {
  const port = await freePort();
  const started = await startProcess({
    command: "redis-server",
    argv: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    ready: /Ready to accept connections/,
    cpu: cpus.load,
  });
  return { ...started, url: `redis://127.0.0.1:${port}` };
}

/** Resident set size of a process in bytes (Linux /proc), or undefined elsewhere. */
export function rssOf(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** A client for reading Redis figures (INFO, MEMORY USAGE) in the bench process itself. */
export function redisClient(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1 });
}
