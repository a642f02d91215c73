import type { Cluster, Redis } from "ioredis";

type Client = Redis | Cluster;

/** How long an ended client waits before it connects again. */
const reviveDelayMs = 500;

const closedOnPurpose = new WeakSet<Client>();

/**
 * ioredis ends a client for good when a reconnection attempt is cut short: its Sentinel
 * failover detector disconnects the connector while it is still asking the Sentinels for
 * the master, and from then on every command fails with "Connection is closed." (seen in
 * the failover test under load). keycard's clients keep reconnecting until
 * {@link closeRedisClient} closes them.
 */
export function keepReconnecting<C extends Client>(client: C): C {
  client.on("end", () => {
    if (closedOnPurpose.has(client)) {
      return;
    }
    setTimeout(() => {
      if (!closedOnPurpose.has(client) && client.status === "end") {
        client.connect().catch(() => undefined);
      }
    }, reviveDelayMs).unref();
  });
  return client;
}

/** Closes a client for good: QUIT, or a plain disconnect if QUIT cannot be sent. */
export async function closeRedisClient(client: Client): Promise<void> {
  closedOnPurpose.add(client);
  await client.quit().catch(() => client.disconnect());
}
