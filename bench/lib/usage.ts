/**
 * What a load run cost outside the load generator: the server's CPU time (from /proc, all
 * its threads), Redis's CPU time, and the commands Redis processed, read right before and
 * right after the measured run. Divided by the successful requests they give CPU µs per
 * request and Redis commands per request, which show where a throughput figure comes from
 * (a cache answering from memory reads Redis on almost no request).
 */
import type { Redis } from "ioredis";
import { cpuMicros } from "./processes.js";

/** Resources used during one measured run. */
export interface Usage {
  readonly serverCpuMicros: number;
  readonly redisCpuMicros: number;
  readonly redisCommands: number;
}

/** Starts readings; the function it resolves with ends them and returns the difference. */
export type Meter = () => Promise<() => Promise<Usage>>;

async function commandsProcessed(redis: Redis): Promise<number> {
  const info = await redis.info("stats");
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

/**
 * A meter of the server process `serverPid` and of the redis-server `redisPid`, read through
 * `redis` (its own INFO call, counted by Redis, is taken off).
 */
export function usageMeter(serverPid: number, redisPid: number, redis: Redis): Meter {
  return async () => {
    const commandsBefore = await commandsProcessed(redis);
    const serverBefore = cpuMicros(serverPid);
    const redisBefore = cpuMicros(redisPid);
    return async () => {
      const serverCpuMicros = cpuMicros(serverPid) - serverBefore;
      const redisCpuMicros = cpuMicros(redisPid) - redisBefore;
      const redisCommands = (await commandsProcessed(redis)) - commandsBefore - 1;
      return { serverCpuMicros, redisCpuMicros, redisCommands };
    };
  };
}
