import type { Logger } from "pino";
import { type Clock, epochSeconds } from "../../domain/clock.js";
import type { SecurityNotifier } from "../../domain/ports.js";
import {
  type DeliveryPacing,
  defaultDeliveryPacing,
  type SecurityEvent,
  type SecurityWebhookSettings,
} from "../../domain/security-event.js";
import { signatureOf, webhookBody } from "./webhook-message.js";

/**
 * What became of a delivery, for `keycard_security_webhook_deliveries_total`: an event
 * `delivered` or `failed` (out of tries, or refused), a try `retried`, an event `dropped`
 * undelivered (the queue was full, or keycard stopped).
 */
export type DeliveryOutcome = "delivered" | "retried" | "failed" | "dropped";

/** What the webhook needs. */
export interface SecurityWebhookDeps {
  readonly settings: SecurityWebhookSettings;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly onOutcome: (outcome: DeliveryOutcome) => void;
  /** The jitter's source, in [0, 1); Math.random when absent. */
  readonly random?: () => number;
}

/** What one try's answer means: done, worth another try, or refused for good. */
type Verdict = "delivered" | "retry" | "refused";

/**
 * The wait before retry number `retry` (1 for the first): `firstRetryMs` doubled per
 * retry, of which a random half is waited ("equal jitter"), so that many keycards whose
 * receiver came back do not all retry at the same instant.
 */
export function retryDelayMs(retry: number, firstRetryMs: number, random: () => number): number {
  const full = firstRetryMs * 2 ** (retry - 1);
  return full / 2 + (random() * full) / 2;
}

/** 2xx is delivered; a server error, 408 or 429 may pass on a later try; anything else will not. */
function verdictOf(status: number): Verdict {
  if (status >= 200 && status < 300) {
    return "delivered";
  }
  return status >= 500 || status === 408 || status === 429 ? "retry" : "refused";
}

/** A failed try in a few words for the log (never the URL, which may carry a credential). */
function failureOf(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  if (typeof cause?.code === "string") {
    return cause.code;
  }
  return error instanceof Error ? error.name : "error";
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Delivers security events to SECURITY_WEBHOOK_URL in the background: each POSTed as
 * signed JSON, retried on network errors, timeouts, 5xx, 408 and 429 with growing waits,
 * never on another answer. Events wait in a bounded queue in memory (the oldest dropped
 * when it is full), so a receiver that is down costs memory only up to the bound, and an
 * event still queued when the process dies is lost.
 */
export class SecurityWebhook implements SecurityNotifier {
  private readonly pacing: DeliveryPacing;
  private readonly waiting: SecurityEvent[] = [];
  private readonly delivering = new Set<Promise<void>>();
  private readonly stopped = new AbortController();
  private closing = false;

  constructor(private readonly deps: SecurityWebhookDeps) {
    this.pacing = { ...defaultDeliveryPacing, ...deps.settings.pacing };
  }

  notify(event: SecurityEvent): void {
    if (this.closing) {
      this.drop(event, "keycard is stopping");
      return;
    }
    if (this.waiting.length >= this.pacing.queueSize) {
      const oldest = this.waiting.shift();
      if (oldest !== undefined) {
        this.drop(oldest, "the queue is full");
      }
    }
    this.waiting.push(event);
    this.startDeliveries();
  }

  /**
   * Lets pending deliveries go on for up to `drainMs`, then gives up the rest (logged and
   * counted as dropped); never waits longer, whatever the receiver does.
   */
  async close(): Promise<void> {
    this.closing = true;
    const idle = this.whenIdle();
    const drained = new AbortController();
    await Promise.race([idle, pause(this.pacing.drainMs, drained.signal)]);
    drained.abort();
    const left = this.waiting.length + this.delivering.size;
    if (left === 0) {
      return;
    }
    this.deps.logger.warn(
      { undelivered: left },
      "stopping: security events not yet delivered to SECURITY_WEBHOOK_URL are given up",
    );
    for (const _given of this.waiting.splice(0)) {
      this.deps.onOutcome("dropped");
    }
    this.stopped.abort();
    await idle;
  }

  /** Resolves once no event is queued or being delivered. */
  private async whenIdle(): Promise<void> {
    while (this.delivering.size > 0) {
      await Promise.all(this.delivering);
    }
  }

  /** Starts deliveries from the queue while fewer than `concurrency` are in progress. */
  private startDeliveries(): void {
    while (this.delivering.size < this.pacing.concurrency) {
      const event = this.waiting.shift();
      if (event === undefined) {
        return;
      }
      const delivery: Promise<void> = this.deliver(event)
        .catch((error: unknown) =>
          this.deps.logger.error({ err: error, eventId: event.id }, "security webhook failed"),
        )
        .finally(() => {
          this.delivering.delete(delivery);
          this.startDeliveries();
        });
      this.delivering.add(delivery);
    }
  }

  /** Tries one event until it is delivered, refused, out of tries, or keycard stops. */
  private async deliver(event: SecurityEvent): Promise<void> {
    const body = webhookBody(event);
    for (let attempt = 1; ; attempt += 1) {
      const { verdict, detail } = await this.attempt(event, body);
      if (this.stopped.signal.aborted) {
        this.deps.onOutcome(verdict === "delivered" ? "delivered" : "dropped");
        return;
      }
      if (verdict === "delivered") {
        this.deps.onOutcome("delivered");
        return;
      }
      const fields = { eventId: event.id, type: event.type, attempt, answer: detail };
      if (verdict === "refused" || attempt >= this.pacing.attempts) {
        this.deps.onOutcome("failed");
        this.deps.logger.warn(fields, "security webhook delivery failed; the event is given up");
        return;
      }
      this.deps.onOutcome("retried");
      this.deps.logger.debug(fields, "security webhook delivery failed; retrying");
      const random = this.deps.random ?? Math.random;
      await pause(retryDelayMs(attempt, this.pacing.firstRetryMs, random), this.stopped.signal);
    }
  }

  /** One POST of the event, signed at the time of sending. */
  private async attempt(
    event: SecurityEvent,
    body: string,
  ): Promise<{ verdict: Verdict; detail: string }> {
    const { url, secret } = this.deps.settings;
    const timestamp = epochSeconds(this.deps.clock.now());
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "keycard-webhook",
          "keycard-event-id": event.id,
          "keycard-signature": signatureOf(secret, timestamp, body),
        },
        body,
        // A redirect is not followed: the signed event goes to the configured URL only.
        redirect: "manual",
        signal: AbortSignal.any([
          this.stopped.signal,
          AbortSignal.timeout(this.pacing.attemptTimeoutMs),
        ]),
      });
      // The answer's body is not read; cancelling it frees the connection.
      await response.body?.cancel();
      return { verdict: verdictOf(response.status), detail: `HTTP ${response.status}` };
    } catch (error) {
      return { verdict: "retry", detail: failureOf(error) };
    }
  }

  /** Counts and logs an event given up before it was tried to the end. */
  private drop(event: SecurityEvent, why: string): void {
    this.deps.onOutcome("dropped");
    this.deps.logger.warn(
      { eventId: event.id, type: event.type },
      `security webhook event dropped: ${why}`,
    );
  }
}
