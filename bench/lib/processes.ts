/**
 * Child processes of a bench run: redis-server, keycard, the floors and the peer servers,
 * stopped at the end whatever happens. Processes run unpinned unless a scenario asks for a
 * CPU: pinning the server under test apart from Redis and the load generator starves any
 * server that needs Redis on every request (the floors, the peers, keycard without its
 * cache), so only the login-storm and memory scenarios, which compare keycard with itself,
 * still pin. Also the per-process CPU time and listening-socket checks the bench relies on.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import os from "node:os";
import { Redis } from "ioredis";
import { freePort } from "../../test/helpers/redis-server.js";

export { freePort };

/**
 * The CPUs of the scenarios that still pin: the server under test on one, Redis and the load
 * generator on the other.
 */
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

/**
 * `command argv` prefixed with `taskset -c <cpu>` when a CPU is asked for and pinning is
 * possible; unchanged otherwise.
 */
export function pinned(
  cpu: number | undefined,
  command: string,
  argv: readonly string[],
): [string, string[]] {
  return canPin && cpu !== undefined
    ? ["taskset", ["-c", String(cpu), command, ...argv]]
    : [command, [...argv]];
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
 * Spawns `command` (pinned to `cpu` when given) and resolves once its stdout matches `ready`. Output
 * after that is drained and dropped, so a chatty server never blocks on a full pipe.
 */
export function startProcess(options: {
  readonly command: string;
  readonly argv: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly ready: RegExp;
  readonly cpu?: number;
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

/** Starts a private redis-server on a free port, pinned to `cpu` when given. */
export async function startRedis(cpu?: number): Promise<BenchRedis> {
  const port = await freePort();
  const started = await startProcess({
    command: "redis-server",
    argv: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    ready: /Ready to accept connections/,
    ...(cpu === undefined ? {} : { cpu }),
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

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`; 100 on Linux). */
export const clockTicksPerSecond = ((): number => {
  try {
    const ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU time a process has used so far, in microseconds: utime + stime of /proc/<pid>/stat
 * (fields 14 and 15), summed over all its threads (libuv's pool and GC included).
 */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may hold spaces: field 3 on.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  if (!Number.isFinite(ticks)) {
    throw new Error(`unreadable /proc/${pid}/stat: ${stat}`);
  }
  return (ticks * 1_000_000) / clockTicksPerSecond;
}

/** The inodes of the sockets listening on TCP `port` (IPv4 or IPv6), from /proc/net. */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const columns = line.trim().split(/\s+/);
      // local_address is column 1 ("0100007F:1F90"), st column 3 (0A: LISTEN), inode column 9.
      if (columns[1]?.endsWith(`:${hexPort}`) && columns[3] === "0A" && columns[9] !== undefined) {
        inodes.add(columns[9]);
      }
    }
  }
  return inodes;
}

/**
 * Throws unless process `pid` itself holds the socket listening on `port`: CPU time read
 * from a launcher (npm, tsx's CLI, taskset that did not exec) whose child serves the port
 * would be close to zero and meaningless.
 */
export function assertServes(pid: number, port: number, label: string): void {
  const inodes = listeningInodes(port);
  let held = false;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (inodes.has(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? "")) {
        held = true;
        break;
      }
    } catch {
      // The descriptor was closed while we looked.
    }
  }
  if (!held) {
    throw new Error(
      `${label}: process ${pid} does not hold the socket listening on port ${port}, so its CPU time would not be the server's`,
    );
  }
}
