import { join } from "node:path";
import { keySlot } from "../../src/store/redis/slots.js";
import {
  info,
  makeTempDir,
  probe,
  type RedisProcess,
  removeTempDir,
  runTool,
  startRedisProcess,
  waitFor,
} from "./redis-process.js";
import { freePort } from "./redis-server.js";

/** A 3-master, 3-replica Redis Cluster of local redis-server processes. */
export interface RedisClusterHandle {
  /** Every node's port, masters and replicas. */
  readonly ports: readonly number[];
  /** `redis+cluster://` with every node as a seed, as REDIS_URL takes it. */
  readonly url: string;
  /** Ports of the nodes that are masters now (alive ones only). */
  masters(): Promise<number[]>;
  /** Resolves once every replica has acknowledged everything its master has written. */
  replicasCaughtUp(timeoutMs?: number): Promise<void>;
  /** SIGKILLs the node on `port`, as a crash would. */
  kill(port: number): Promise<void>;
  /** SIGSTOPs (or SIGCONTs) the node on `port`: a replica paused cannot take over. */
  pause(port: number, paused: boolean): void;
  /** Resolves once every live node says `cluster_state:ok` and 3 live masters serve the slots. */
  healthy(timeoutMs?: number): Promise<void>;
  /** Kills every node and removes the cluster's files. */
  stop(): Promise<void>;
}

/** One line of CLUSTER NODES: its port, whether it is a master and whether it failed. */
interface NodeLine {
  readonly port: number;
  readonly master: boolean;
  readonly failed: boolean;
}

function parseNodes(text: string): NodeLine[] {
  return text
    .trim()
    .split("\n")
    .map((line) => {
      const [, address = "", flags = ""] = line.split(" ");
      return {
        port: Number(address.split("@")[0]?.split(":")[1]),
        master: flags.split(",").includes("master"),
        failed: /fail/.test(flags),
      };
    });
}

/** Which nodes serve a key, from one reading of `CLUSTER NODES`. */
export interface ClusterLayout {
  /** The ports of the master serving `key` and of its replicas. */
  shardOf(key: string): number[];
}

/** Reads the cluster's slot ranges and replicas from the node on `anyNode`. */
export async function clusterLayout(anyNode: number): Promise<ClusterLayout> {
  const nodes = String(await probe(anyNode, "CLUSTER", ["NODES"]))
    .trim()
    .split("\n")
    .map((line) => line.split(" "));
  const portOf = (fields: string[]) => Number(fields[1]?.split("@")[0]?.split(":")[1]);
  return {
    shardOf: (key) => {
      const slot = keySlot(key);
      const serves = (ranges: string[]) =>
        ranges.some((range) => {
          const [first = -1, last = first] = range.split("-").map(Number);
          return first <= slot && slot <= Number(last);
        });
      const master = nodes.find(
        (fields) => fields[2]?.includes("master") && serves(fields.slice(8)),
      );
      if (master === undefined) {
        throw new Error(`no master serves slot ${slot}`);
      }
      const replicas = nodes.filter((fields) => fields[3] === master[0]);
      return [master, ...replicas].map(portOf);
    },
  };
}

/** How the test cluster runs; by default as Redis does. */
export interface ClusterOptions {
  /**
   * `cluster-require-full-coverage`: false keeps the surviving masters answering while a
   * shard has no master (as they do anyway until its failure is declared).
   */
  readonly requireFullCoverage?: boolean;
}

/**
 * Starts 6 redis-server nodes on free ports (node timeout 1 s, no persistence), joins them
 * with `redis-cli --cluster create --cluster-replicas 1` and waits until every node says
 * `cluster_state:ok`. Stop it in afterAll.
 */
export async function startRedisCluster(options: ClusterOptions = {}): Promise<RedisClusterHandle> {
  const dir = await makeTempDir("cluster");
  const nodes = new Map<number, RedisProcess>();
  const stop = async (): Promise<void> => {
    await Promise.all([...nodes.values()].map((node) => node.kill()));
    await removeTempDir(dir);
  };
  try {
    const ports: number[] = [];
    while (ports.length < 6) {
      const port = await freePort();
      if (!ports.includes(port)) {
        ports.push(port);
      }
    }
    await Promise.all(
      ports.map(async (port) => {
        const node = await startRedisProcess(port, [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--dir",
          dir,
          "--logfile",
          join(dir, `node-${port}.log`),
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          join(dir, `nodes-${port}.conf`),
          "--cluster-node-timeout",
          "1000",
          "--cluster-require-full-coverage",
          options.requireFullCoverage === false ? "no" : "yes",
          "--save",
          "",
          "--appendonly",
          "no",
        ]);
        nodes.set(port, node);
      }),
    );
    await runTool("redis-cli", [
      "--cluster",
      "create",
      ...ports.map((port) => `127.0.0.1:${port}`),
      "--cluster-replicas",
      "1",
      "--cluster-yes",
    ]);
    const alive = (): number[] => ports.filter((port) => nodes.get(port)?.running === true);
    const masters = async (): Promise<number[]> => {
      const [first] = alive();
      if (first === undefined) {
        return [];
      }
      const lines = parseNodes(String(await probe(first, "CLUSTER", ["NODES"])));
      const running = new Set(alive());
      return lines
        .filter((line) => line.master && !line.failed && running.has(line.port))
        .map((line) => line.port);
    };
    const healthy = async (timeoutMs = 15_000): Promise<void> => {
      await waitFor(
        "the cluster to be ok on every node, with 3 masters",
        async () => {
          for (const port of alive()) {
            const state = String(await probe(port, "CLUSTER", ["INFO"]));
            if (!state.includes("cluster_state:ok")) {
              return false;
            }
          }
          return (await masters()).length === 3;
        },
        timeoutMs,
      );
    };
    const replicasCaughtUp = async (timeoutMs = 10_000): Promise<void> => {
      await waitFor(
        "every replica to acknowledge its master's writes",
        async () => {
          for (const port of await masters()) {
            if (!(await replicasHaveAll(port))) {
              return false;
            }
          }
          return true;
        },
        timeoutMs,
      );
    };
    await healthy();
    await replicasCaughtUp();
    return {
      ports,
      url: `redis+cluster://${ports.map((port) => `127.0.0.1:${port}`).join(",")}`,
      masters,
      replicasCaughtUp,
      kill: async (port) => {
        await nodes.get(port)?.kill();
      },
      pause: (port, paused) => nodes.get(port)?.pause(paused),
      healthy,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Whether the master on `port` has at least one online replica and every replica's
 * acknowledged offset has reached the master's replication offset.
 */
export async function replicasHaveAll(port: number): Promise<boolean> {
  const replication = await info(port, "replication");
  const masterOffset = Number(replication.get("master_repl_offset"));
  const replicas = [...replication.entries()]
    .filter(([name]) => /^slave\d+$/.test(name))
    .map(([, value]) => Object.fromEntries(value.split(",").map((pair) => pair.split("="))));
  return (
    replicas.length > 0 &&
    replicas.every(
      (replica) => replica.state === "online" && Number(replica.offset) >= masterOffset,
    )
  );
}
