import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { replicasHaveAll } from "./redis-cluster.js";
import {
  makeTempDir,
  probe,
  type RedisProcess,
  removeTempDir,
  startRedisProcess,
  waitFor,
} from "./redis-process.js";
import { freePort } from "./redis-server.js";

/** The master name the test Sentinels monitor. */
export const sentinelMasterName = "keycard-test";

/** A master, one replica and three Sentinels (quorum 2) of local redis-server processes. */
export interface RedisSentinelGroup {
  /** `redis+sentinel://` naming every Sentinel and the master, as REDIS_URL takes it. */
  readonly url: string;
  /** The port of the master the Sentinels name now. */
  master(): Promise<number>;
  /** Resolves once the replica has acknowledged everything the master has written. */
  replicaCaughtUp(timeoutMs?: number): Promise<void>;
  /** SIGKILLs the current master; resolves with its port. */
  killMaster(): Promise<number>;
  /**
   * Stalls the replica (SIGSTOP) and, with `dropLink`, has the master drop its replication
   * link, so that what the master writes next never reaches it; or lets it go on.
   */
  stallReplica(stalled: boolean, dropLink?: boolean): Promise<void>;
  /** Resolves once the Sentinels name a master other than `oldPort` and it answers as one. */
  failedOverFrom(oldPort: number, timeoutMs?: number): Promise<number>;
  /** Kills every process and removes the group's files. */
  stop(): Promise<void>;
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    if (!ports.includes(port)) {
      ports.push(port);
    }
  }
  return ports;
}

/**
 * Starts the group (Sentinels decide a master is down after 1 s, failover timeout 5 s) and
 * waits until every Sentinel knows the replica and the other Sentinels. Stop it in afterAll.
 */
export async function startRedisSentinel(): Promise<RedisSentinelGroup> {
  const dir = await makeTempDir("sentinel");
  const processes = new Map<number, RedisProcess>();
  const stop = async (): Promise<void> => {
    await Promise.all([...processes.values()].map((child) => child.kill()));
    await removeTempDir(dir);
  };
  try {
    const [masterPort = 0, replicaPort = 0, ...sentinelPorts] = await distinctFreePorts(5);
    const dataArgs = (port: number): string[] => [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--logfile",
      join(dir, `redis-${port}.log`),
      "--save",
      "",
      "--appendonly",
      "no",
    ];
    processes.set(masterPort, await startRedisProcess(masterPort, dataArgs(masterPort)));
    processes.set(
      replicaPort,
      await startRedisProcess(replicaPort, [
        ...dataArgs(replicaPort),
        "--replicaof",
        "127.0.0.1",
        String(masterPort),
      ]),
    );
    await Promise.all(
      sentinelPorts.map(async (port) => {
        const file = join(dir, `sentinel-${port}.conf`);
        await writeFile(
          file,
          [
            `port ${port}`,
            "bind 127.0.0.1",
            `dir ${dir}`,
            `logfile ${join(dir, `sentinel-${port}.log`)}`,
            `sentinel monitor ${sentinelMasterName} 127.0.0.1 ${masterPort} 2`,
            `sentinel down-after-milliseconds ${sentinelMasterName} 1000`,
            `sentinel failover-timeout ${sentinelMasterName} 5000`,
            `sentinel parallel-syncs ${sentinelMasterName} 1`,
            "",
          ].join("\n"),
        );
        processes.set(port, await startRedisProcess(port, [file, "--sentinel"]));
      }),
    );
    const sentinelsAlive = (): number[] =>
      sentinelPorts.filter((port) => processes.get(port)?.running === true);
    const master = async (): Promise<number> => {
      for (const port of sentinelsAlive()) {
        const reply = (await probe(port, "SENTINEL", [
          "GET-MASTER-ADDR-BY-NAME",
          sentinelMasterName,
        ]).catch(() => null)) as [string, string] | null;
        if (reply !== null) {
          return Number(reply[1]);
        }
      }
      throw new Error("no Sentinel answered");
    };
    await waitFor(
      "every Sentinel to know the replica and the two other Sentinels",
      async () => {
        for (const port of sentinelPorts) {
          const state = (await probe(port, "SENTINEL", ["MASTER", sentinelMasterName])) as string[];
          const field = (name: string): number => Number(state[state.indexOf(name) + 1]);
          if (field("num-slaves") < 1 || field("num-other-sentinels") < 2) {
            return false;
          }
        }
        return true;
      },
      15_000,
    );
    const replicaCaughtUp = async (timeoutMs = 10_000): Promise<void> => {
      await waitFor(
        "the replica to acknowledge the master's writes",
        async () => replicasHaveAll(await master()),
        timeoutMs,
      );
    };
    await replicaCaughtUp();
    return {
      url: `redis+sentinel://${sentinelPorts.map((port) => `127.0.0.1:${port}`).join(",")}/${sentinelMasterName}`,
      master,
      replicaCaughtUp,
      killMaster: async () => {
        const port = await master();
        await processes.get(port)?.kill();
        return port;
      },
      stallReplica: async (stalled, dropLink = false) => {
        const current = await master().catch(() => 0);
        const replica = current === masterPort ? replicaPort : masterPort;
        processes.get(replica)?.pause(stalled);
        if (dropLink) {
          await probe(current, "CLIENT", ["KILL", "TYPE", "replica"]);
        }
      },
      failedOverFrom: async (oldPort, timeoutMs = 20_000) => {
        let promoted = 0;
        await waitFor(
          "the Sentinels to promote the replica",
          async () => {
            promoted = await master();
            if (promoted === oldPort) {
              return false;
            }
            const role = (await probe(promoted, "ROLE")) as [string, ...unknown[]];
            return role[0] === "master";
          },
          timeoutMs,
        );
        return promoted;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
