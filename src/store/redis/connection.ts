import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import { Cluster, Redis, type RedisOptions } from "ioredis";
import { keepReconnecting } from "./keep-reconnecting.js";

/** A host and port of a Sentinel or a Cluster node named in REDIS_URL. */
export interface RedisEndpoint {
  readonly host: string;
  readonly port: number;
}

/** Credentials of the Redis data nodes (never of the Sentinels). */
export interface RedisAuth {
  readonly username?: string;
  readonly password?: string;
}

/**
 * Where the store's data lives, as parsed from REDIS_URL:
 * - `redis://` / `rediss://`: one Redis, the URL handed to ioredis unchanged;
 * - `redis+sentinel://[user:pass@]h:p,h:p/<master-name>[/<db>]`: the master a Sentinel
 *   group names, followed through failovers;
 * - `redis+cluster://[user:pass@]h:p,h:p`: a Redis Cluster found from any of its seed nodes.
 * A `rediss` scheme turns TLS on for every connection, Sentinels included.
 */
export type RedisTarget =
  | { readonly kind: "standalone"; readonly url: string; readonly tls: boolean }
  | {
      readonly kind: "sentinel";
      readonly tls: boolean;
      readonly sentinels: readonly RedisEndpoint[];
      readonly masterName: string;
      readonly db: number;
      readonly auth: RedisAuth;
      readonly sentinelAuth: RedisAuth;
    }
  | {
      readonly kind: "cluster";
      readonly tls: boolean;
      readonly nodes: readonly RedisEndpoint[];
      readonly auth: RedisAuth;
    };

/** REDIS_URL or REDIS_TLS_CA_FILE cannot be used; the message names the setting. */
export class RedisConfigError extends Error {
  override readonly name = "RedisConfigError";
}

const multiHostPattern =
  /^(rediss?)\+(sentinel|cluster):\/\/(?:([^@/?#]*)@)?([^/?#]+)(?:\/([^?#]*))?(?:\?([^#]*))?$/;

/** Splits `user:pass` (percent-encoded) into credentials; an empty part is left out. */
function parseAuth(userInfo: string | undefined): RedisAuth {
  if (userInfo === undefined || userInfo === "") {
    return {};
  }
  const colon = userInfo.indexOf(":");
  const username = decodeURIComponent(colon === -1 ? userInfo : userInfo.slice(0, colon));
  const password = colon === -1 ? "" : decodeURIComponent(userInfo.slice(colon + 1));
  return {
    ...(username === "" ? {} : { username }),
    ...(password === "" ? {} : { password }),
  };
}

/** Parses `host:port,[v6]:port,host` (ports default to `defaultPort`). */
function parseHosts(list: string, defaultPort: number): RedisEndpoint[] {
  return list.split(",").map((entry) => {
    const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+))(?::(\d{1,5}))?$/.exec(entry.trim());
    const host = match?.[1] ?? match?.[2];
    const port = match?.[3] === undefined ? defaultPort : Number(match[3]);
    if (host === undefined || port < 1 || port > 65_535) {
      throw new RedisConfigError(`REDIS_URL host "${entry}" is not host:port`);
    }
    return { host, port };
  });
}

/**
 * Parses REDIS_URL into the kind of deployment it names. Throws RedisConfigError with a
 * message naming the setting for anything else, so that a typo fails at start, not later.
 */
export function parseRedisUrl(url: string): RedisTarget {
  if (/^rediss?:\/\/[^\s]+$/.test(url)) {
    return { kind: "standalone", url, tls: url.startsWith("rediss:") };
  }
  const match = multiHostPattern.exec(url);
  if (match === null) {
    throw new RedisConfigError(
      "REDIS_URL must start with redis://, rediss://, redis+sentinel://, rediss+sentinel://, redis+cluster:// or rediss+cluster://",
    );
  }
  const [, scheme, kind, userInfo, hostList = "", path = "", query = ""] = match;
  const tls = scheme === "rediss";
  let auth: RedisAuth;
  try {
    auth = parseAuth(userInfo);
  } catch {
    throw new RedisConfigError("REDIS_URL credentials are not valid percent-encoding");
  }
  const params = new URLSearchParams(query);
  if (kind === "cluster") {
    if (path !== "" || query !== "") {
      throw new RedisConfigError(
        "REDIS_URL of a Redis Cluster takes no database or options: redis+cluster://host:port,host:port",
      );
    }
    return { kind: "cluster", tls, nodes: parseHosts(hostList, 6379), auth };
  }
  const [masterName = "", db = "0", ...rest] = path.split("/");
  if (masterName === "" || rest.length > 0 || !/^\d{1,2}$/.test(db)) {
    throw new RedisConfigError(
      "REDIS_URL of a Sentinel group must name its master: redis+sentinel://host:port,host:port/<master-name>[/<db>]",
    );
  }
  const unknown = [...params.keys()].filter(
    (key) => key !== "sentinelUsername" && key !== "sentinelPassword",
  );
  if (unknown.length > 0) {
    throw new RedisConfigError(
      `REDIS_URL option "${unknown[0]}" is not known (only sentinelUsername and sentinelPassword are)`,
    );
  }
  const sentinelUsername = params.get("sentinelUsername");
  const sentinelPassword = params.get("sentinelPassword");
  return {
    kind: "sentinel",
    tls,
    sentinels: parseHosts(hostList, 26379),
    masterName: decodeURIComponent(masterName),
    db: Number(db),
    auth,
    sentinelAuth: {
      ...(sentinelUsername === null ? {} : { username: sentinelUsername }),
      ...(sentinelPassword === null ? {} : { password: sentinelPassword }),
    },
  };
}

/** What every connection to Redis must honour, whatever the deployment. */
export interface RedisClientOptions {
  /** Longest any command may take, retries and redirections included, before it fails. */
  readonly commandTimeoutMs: number;
  /** PEM file of the CA that signed the Redis servers' certificates (TLS schemes only). */
  readonly tlsCaFile?: string;
}

/**
 * Connection settings that never let a request wait for a Redis that is down: no offline
 * queue, a timeout on every command, and reconnection in the background forever.
 */
export function redisConnectionOptions(options: RedisClientOptions): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: Math.max(options.commandTimeoutMs, 1000),
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    // Commands issued in the same tick go out in one write: under concurrent Validate
    // calls, one syscall carries many lookups instead of one each.
    enableAutoPipelining: true,
  };
}

/** The TLS settings of a `rediss` target: the system CAs, or only the one in the CA file. */
function tlsOptions(
  target: RedisTarget,
  caFile: string | undefined,
): ConnectionOptions | undefined {
  if (caFile !== undefined && !target.tls) {
    throw new RedisConfigError(
      "REDIS_TLS_CA_FILE is set but REDIS_URL does not use TLS (use rediss://, rediss+sentinel:// or rediss+cluster://)",
    );
  }
  if (!target.tls) {
    return undefined;
  }
  if (caFile === undefined) {
    return {};
  }
  try {
    return { ca: readFileSync(caFile) };
  } catch (error) {
    throw new RedisConfigError(
      `REDIS_TLS_CA_FILE "${caFile}" cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
}

/**
 * Opens the client for a parsed REDIS_URL with the fail-fast settings on every connection.
 * Throws RedisConfigError when the CA file is unreadable or does not fit the URL.
 *
 * A Cluster client is returned typed as `Redis`: the store only sends single-key commands
 * and scripts over one user's hash tag, which both clients route the same way, and
 * rate-limiter-flexible accepts either. That one cast is the price of a single store type.
 */
export function createRedisClient(target: RedisTarget, options: RedisClientOptions): Redis {
  return keepReconnecting(openRedisClient(target, options));
}

/** The ioredis client of the URL's topology, with the fail-fast settings. */
function openRedisClient(target: RedisTarget, options: RedisClientOptions): Redis {
  const tls = tlsOptions(target, options.tlsCaFile);
  const base = redisConnectionOptions(options);
  const withTls = tls === undefined ? {} : { tls };
  switch (target.kind) {
    case "standalone":
      return new Redis(target.url, { ...base, ...withTls, replyMapping: "legacy" });
    case "sentinel":
      return new Redis({
        ...base,
        ...target.auth,
        ...withTls,
        sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
        name: target.masterName,
        db: target.db,
        ...(target.sentinelAuth.username === undefined
          ? {}
          : { sentinelUsername: target.sentinelAuth.username }),
        ...(target.sentinelAuth.password === undefined
          ? {}
          : { sentinelPassword: target.sentinelAuth.password }),
        ...(tls === undefined ? {} : { enableTLSForSentinelMode: true, sentinelTLS: tls }),
        // Bounded so that a dead Sentinel does not hold up finding the new master.
        sentinelCommandTimeout: options.commandTimeoutMs,
        sentinelRetryStrategy: (attempt) => Math.min(attempt * 100, 1000),
        // Reconnect to the new master as soon as a Sentinel announces +switch-master.
        failoverDetector: true,
        replyMapping: "legacy",
      });
    case "cluster": {
      // Nodes take ioredis's own cluster defaults for queueing and reconnection (a lost
      // node is dropped and found again through MOVED); the fail-fast part is the cluster's.
      const { enableOfflineQueue: _queue, retryStrategy: _retry, ...nodeOptions } = base;
      const cluster = new Cluster(
        target.nodes.map(({ host, port }) => ({ host, port })),
        {
          enableOfflineQueue: false,
          // A lost node is waited for through MOVED and a refreshed slot map; commands
          // keep being retried (every 100 ms) until their command timeout ends them.
          retryDelayOnFailover: 100,
          retryDelayOnClusterDown: 100,
          retryDelayOnTryAgain: 100,
          maxRedirections: Math.max(16, Math.ceil(options.commandTimeoutMs / 100) + 2),
          clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 1000),
          slotsRefreshTimeout: Math.max(options.commandTimeoutMs, 1000),
          slotsRefreshInterval: 2_000,
          redisOptions: { ...nodeOptions, ...target.auth, ...withTls, replyMapping: "legacy" },
        },
      );
      return cluster as unknown as Redis;
    }
  }
}
