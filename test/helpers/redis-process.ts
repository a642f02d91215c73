import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { Redis, type RedisOptions } from "ioredis";

const run = promisify(execFile);

/** One redis-server (data node or Sentinel) started by a test, killed by it. */
export interface RedisProcess {
  readonly port: number;
  /** Whether it still runs (false once killed or crashed). */
  readonly running: boolean;
  /** SIGKILLs it, as a crash would, and waits for it to be gone. */
  kill(): Promise<void>;
  /** Stops it (SIGSTOP), as a stalled machine would, or lets it go on (SIGCONT). */
  pause(paused: boolean): void;
}

/** A private temporary directory, for config files, certificates and logs. */
export function makeTempDir(name: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `keycard-${name}-`));
}

/** Removes a directory made by makeTempDir; never fails. */
export async function removeTempDir(dir: string | undefined): Promise<void> {
  if (dir !== undefined) {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

/** Polls `check` every 50 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(50);
  }
}

/** A short-lived connection for setup and inspection, which never retries or queues. */
export function probeClient(port: number, options: RedisOptions = {}): Redis {
  const client = new Redis({
    host: "127.0.0.1",
    port,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
    commandTimeout: 2_000,
    ...options,
    replyMapping: "legacy",
  });
  client.on("error", () => {});
  return client;
}

/** Runs one command on a fresh probe connection and returns its reply. */
export async function probe(
  port: number,
  command: string,
  args: (string | number)[] = [],
  options: RedisOptions = {},
): Promise<unknown> {
  const client = probeClient(port, options);
  try {
    await client.connect();
    return await client.call(command, ...args);
  } finally {
    client.disconnect();
  }
}

/** `INFO <section>` of the server on `port` as a field map. */
export async function info(port: number, section: string): Promise<Map<string, string>> {
  const text = String(await probe(port, "INFO", [section]));
  const fields = new Map<string, string>();
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      fields.set(line.slice(0, colon), line.slice(colon + 1));
    }
  }
  return fields;
}

/**
 * Starts `redis-server` with `args` (which must make it listen on `port`) and waits until
 * it answers PING, over TLS when `probeOptions` says so.
 */
export async function startRedisProcess(
  port: number,
  args: readonly string[],
  probeOptions: RedisOptions = {},
): Promise<RedisProcess> {
  const child: ChildProcess = spawn("redis-server", [...args], { stdio: "ignore" });
  let spawnError: Error | undefined;
  child.on("error", (error) => {
    spawnError = error;
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
    }
  };
  try {
    await waitFor(`redis-server on port ${port}`, async () => {
      if (spawnError !== undefined) {
        throw new Error(`could not start redis-server (is it installed?): ${spawnError.message}`);
      }
      return (await probe(port, "PING", [], probeOptions)) === "PONG";
    });
  } catch (error) {
    await stop();
    throw spawnError ?? error;
  }
  return {
    port,
    get running() {
      return child.exitCode === null && child.signalCode === null;
    },
    kill: stop,
    pause: (paused) => {
      child.kill(paused ? "SIGSTOP" : "SIGCONT");
    },
  };
}

/** Runs a program (redis-cli, openssl) and returns its standard output; throws with its stderr. */
export async function runTool(program: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await run(program, [...args], { timeout: 30_000 });
    return stdout;
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`${program} ${args.join(" ")} failed: ${stderr ?? ""}${stdout ?? ""}`);
  }
}
