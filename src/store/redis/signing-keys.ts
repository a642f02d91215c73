import type { SigningKeyStore } from "../../domain/ports.js";
import type { SigningKeySet, StoredSigningKey } from "../../domain/signing-keys.js";
import type { DurableWrites } from "./durable-writes.js";
import { guarded } from "./guarded.js";
import type { ScriptedRedis } from "./scripts.js";

/** The hash field that holds the set's generation; a key id never starts with `#`. */
const generationField = "#generation";

/** Adds a key and drops retired ones if the set is still at the expected generation. */
const addScript = `
local generation = tonumber(redis.call('HGET', KEYS[1], '${generationField}') or '0')
if generation ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], '${generationField}', generation + 1, ARGV[2], ARGV[3])
for i = 4, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
return 1`;

/**
 * The JWT signing keys in one Redis hash (one slot, so one script can change the set
 * atomically on a Cluster): a field per key id holding the key as JSON, and the set's
 * generation. Adding a key waits for the replicas like a revocation does: a key lost in a
 * failover would leave JWTs nobody can verify.
 */
export class RedisSigningKeyStore implements SigningKeyStore {
  constructor(
    private readonly redis: ScriptedRedis,
    private readonly key: string,
    private readonly durable: DurableWrites,
  ) {}

  read(): Promise<SigningKeySet> {
    return guarded(async () => {
      const fields = await this.redis.hgetall(this.key);
      const keys = Object.entries(fields)
        .filter(([field]) => field !== generationField)
        .map(([, json]) => JSON.parse(json) as StoredSigningKey);
      return { generation: Number(fields[generationField] ?? 0), keys };
    });
  }

  add(generation: number, key: StoredSigningKey, retire: readonly string[]): Promise<boolean> {
    return guarded(async () => {
      const added = await this.durable.run(this.key, (client) =>
        client.eval(addScript, 1, this.key, generation, key.kid, JSON.stringify(key), ...retire),
      );
      return added === 1;
    });
  }
}
