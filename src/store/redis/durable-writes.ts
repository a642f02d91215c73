import { StoreUnavailableError } from "../../domain/errors.js";
import type { ScriptedRedis } from "./scripts.js";

/**
 * How many Redis replicas must hold a revocation before keycard acknowledges it
 * (REDIS_WAIT_REPLICAS; 0 acknowledges at once), and how long to wait for them
 * (REDIS_WAIT_TIMEOUT).
 */
export interface Durability {
  readonly replicas: number;
  readonly timeoutMs: number;
}

/** Acknowledge at once: a deployment without replicas. */
export const noDurability: Durability = { replicas: 0, timeoutMs: 0 };

/**
 * Writes that must survive a failover (revocations): made on a connection of their own and
 * acknowledged only once `replicas` replicas hold them (Redis WAIT, which blocks only the
 * connection that asks, so look-ups on the main connection never queue behind it). When the
 * replicas do not answer in time the write fails with STORE_UNAVAILABLE: it has still been
 * applied on the master, and a caller retrying it is safe.
 */
export class DurableWrites {
  constructor(
    readonly redis: ScriptedRedis,
    private readonly durability: Durability,
  ) {}

  /**
   * Runs `write` on the durable connection, then waits until the replicas hold everything
   * that connection wrote to the node serving `slotKey` (the key the revocation is about),
   * unless `revoked` says of the result that it revoked nothing.
   */
  async run<T>(
    slotKey: string,
    write: (redis: ScriptedRedis) => Promise<T>,
    revoked: (result: T) => boolean = () => true,
  ): Promise<T> {
    const result = await write(this.redis);
    if (this.durability.replicas > 0 && revoked(result)) {
      await this.replicated(slotKey);
    }
    return result;
  }

  /** WAIT on the node of `slotKey`: a keyed command first routes the pipeline there. */
  private async replicated(slotKey: string): Promise<void> {
    const { replicas, timeoutMs } = this.durability;
    const replies = await this.redis.pipeline().exists(slotKey).wait(replicas, timeoutMs).exec();
    const [, acknowledged] = replies?.[1] ?? [];
    if (!(Number(acknowledged) >= replicas)) {
      throw new StoreUnavailableError({
        cause: new Error(
          `${Number(acknowledged ?? 0)} of ${replicas} Redis replicas acknowledged a revocation within ${timeoutMs} ms (REDIS_WAIT_REPLICAS, REDIS_WAIT_TIMEOUT)`,
        ),
      });
    }
  }
}
