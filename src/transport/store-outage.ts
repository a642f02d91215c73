import type { Logger } from "pino";
import { LogThrottle } from "./log-throttle.js";

/**
 * ioredis's and Redis's words where they mislead an operator of keycard, said in keycard's
 * terms: Redis's refusals of REDIS_URL's credentials, ioredis's
 * advice to raise `maxRetriesPerRequest` (keycard keeps it at 0 on purpose: a request never
 * waits for a reconnection), "All sentinels are unreachable" (also said when the Sentinels
 * answered but named no master that answers) and "Too many Cluster redirections" (said for a
 * node that is down, not for one that redirects).
 */
const rewrites: readonly [RegExp, string][] = [
  [
    /Reached the max retries per request limit.*/,
    "the connection to Redis was lost before it answered (keycard does not retry a command; it reconnects by itself)",
  ],
  [
    /All sentinels are unreachable.*/,
    "no master reachable through the Sentinels yet (they may be electing one, or the master they name is down); retrying",
  ],
  [
    /^WRONGPASS.*/,
    "Redis rejected the credentials (WRONGPASS): check the user name and password in REDIS_URL (redis://<user>:<password>@host:6379)",
  ],
  [
    /^NOAUTH.*/,
    "Redis wants a password and REDIS_URL gives none (NOAUTH): put it in REDIS_URL (redis://:<password>@host:6379)",
  ],
  [
    /^ERR AUTH <password> called without any password configured.*/,
    "REDIS_URL gives a password but this Redis has none set: remove it from REDIS_URL, or set requirepass on Redis",
  ],
  [
    /Too many Cluster redirections\. Last error: (?:Error: )?(.*)/,
    "the Cluster node serving the key did not answer within REDIS_COMMAND_TIMEOUT (last error: $1)",
  ],
];

/** One error message in keycard's terms (see `rewrites`). */
export function reworded(message: string): string {
  return rewrites.reduce((text, [pattern, words]) => text.replace(pattern, words), message);
}

/** The messages of an error and its causes, joined: what went wrong, without a stack. */
export function causeOf(error: unknown): string {
  const messages: string[] = [];
  for (let link = error; link instanceof Error && messages.length < 4; link = link.cause) {
    messages.push(reworded(link.message));
  }
  return messages.join(": ") || String(error);
}

/**
 * Logs the store's outages as state changes, not per failed call (calls are counted in
 * `keycard_rpc_duration_seconds` by code): a line when calls start failing with
 * STORE_UNAVAILABLE (with the cause), one every 10 s while they go on failing (how many
 * failed), and one when a call is answered again (how long it lasted, how many failed).
 * Lines about failures come at most once per 10 s, however the store flaps.
 */
export class StoreOutageLog {
  private startedAt: number | undefined;
  private announced = false;
  private failedCalls = 0;
  private readonly lines: LogThrottle;

  constructor(
    private readonly logger: Logger,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lines = new LogThrottle(now);
  }

  /** A call failed because the store could not answer it. */
  failed(cause: unknown): void {
    const now = this.now();
    if (this.startedAt === undefined) {
      this.startedAt = now;
      this.announced = false;
      this.failedCalls = 0;
    }
    this.failedCalls += 1;
    const unreported = this.lines.count();
    if (unreported === 0) {
      return;
    }
    const fields = { event: "store_unavailable", cause: causeOf(cause), failedCalls: unreported };
    if (this.announced) {
      this.logger.warn({ ...fields, seconds: this.secondsSince(now) }, "store still unavailable");
    } else {
      this.logger.error(
        fields,
        "store unavailable: calls that need it answer 503 until it is back",
      );
    }
    this.announced = true;
  }

  /** A call was answered: an outage under way is over. */
  answered(): void {
    if (this.startedAt === undefined) {
      return;
    }
    if (this.announced) {
      this.logger.info(
        {
          event: "store_back",
          failedCalls: this.failedCalls,
          seconds: this.secondsSince(this.now()),
        },
        "store answering again",
      );
    }
    this.startedAt = undefined;
  }

  private secondsSince(now: number): number {
    return Math.round((now - (this.startedAt ?? now)) / 100) / 10;
  }
}
