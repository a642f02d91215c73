import pino from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { DeliveryPacing, SecurityEvent } from "../../src/domain/security-event.js";
import {
  type DeliveryOutcome,
  retryDelayMs,
  SecurityWebhook,
} from "../../src/store/infra/security-webhook.js";
import { signatureOf, webhookBody } from "../../src/store/infra/webhook-message.js";
import { FakeClock } from "../helpers/fake-clock.js";

const secret = "whsec-test-0123456789abcdef0123456789";

function eventNumbered(index: number): SecurityEvent {
  return {
    type: "login.new_device",
    id: `event-${index}`,
    occurredAt: Date.UTC(2026, 0, 1, 10, 15, 0),
    userId: "user-1",
    email: "alice@example.com",
    sessionId: "session-1",
    deviceId: "device-1",
    location: "",
    ip: "192.0.2.7",
    userAgent: "Mozilla/5.0",
  };
}

describe("the webhook's message", () => {
  it("signs `<t>.<body>` with HMAC-SHA-256 of the secret, as Stripe does", () => {
    // Computed apart: python3 -c 'import hmac,hashlib; print(hmac.new(key, msg, hashlib.sha256).hexdigest())'
    expect(signatureOf(secret, 1_767_225_600, '{"type":"login.new_device"}')).toBe(
      "t=1767225600,v1=59d2c60f31dd1e1250760ebad569c480d9c3cee247a96c8b474f078855d6f08d",
    );
  });

  it("carries the event in snake_case with the time in RFC 3339", () => {
    expect(JSON.parse(webhookBody(eventNumbered(1)))).toEqual({
      type: "login.new_device",
      id: "event-1",
      occurred_at: "2026-01-01T10:15:00.000Z",
      user_id: "user-1",
      email: "alice@example.com",
      session_id: "session-1",
      device_id: "device-1",
      location: "",
      ip: "192.0.2.7",
      user_agent: "Mozilla/5.0",
    });
  });
});

describe("retryDelayMs", () => {
  it("doubles per retry, waiting a random half on top of the other half", () => {
    expect([1, 2, 3, 4, 5].map((retry) => retryDelayMs(retry, 1_000, () => 0))).toEqual([
      500, 1_000, 2_000, 4_000, 8_000,
    ]);
    expect([1, 2, 3].map((retry) => retryDelayMs(retry, 1_000, () => 0.999_999))).toEqual([
      expect.closeTo(1_000, 0),
      expect.closeTo(2_000, 0),
      expect.closeTo(4_000, 0),
    ]);
  });
});

/** A fetch stand-in whose answers the test releases one by one. */
function heldFetch(): { calls: string[]; release: (status: number) => void } {
  const calls: string[] = [];
  const held: ((response: Response) => void)[] = [];
  vi.stubGlobal("fetch", (_url: string, init: RequestInit) => {
    calls.push(String((init.headers as Record<string, string>)["keycard-event-id"]));
    return new Promise<Response>((resolve, reject) => {
      held.push(resolve);
      init.signal?.addEventListener("abort", () => reject(init.signal?.reason));
    });
  });
  return {
    calls,
    release: (status) => held.shift()?.(new Response(null, { status })),
  };
}

describe("SecurityWebhook's queue", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  function webhook(pacing: Partial<DeliveryPacing>, outcomes: DeliveryOutcome[]): SecurityWebhook {
    return new SecurityWebhook({
      settings: { url: "https://receiver.test/hook", secret, pacing },
      clock: new FakeClock(),
      logger: pino({ level: "silent" }),
      onOutcome: (outcome) => outcomes.push(outcome),
    });
  }

  it("drops the oldest waiting event when the queue is full, and delivers the rest in order", async () => {
    const receiver = heldFetch();
    const outcomes: DeliveryOutcome[] = [];
    const hook = webhook({ concurrency: 1, queueSize: 2 }, outcomes);
    for (const index of [1, 2, 3, 4]) {
      hook.notify(eventNumbered(index));
    }
    expect(outcomes).toEqual(["dropped"]);
    for (let delivered = 1; delivered <= 3; delivered += 1) {
      await vi.waitFor(() => expect(receiver.calls).toHaveLength(delivered));
      receiver.release(204);
    }
    await hook.close();
    expect(receiver.calls).toEqual(["event-1", "event-3", "event-4"]);
    expect(outcomes).toEqual(["dropped", "delivered", "delivered", "delivered"]);
  });

  it("stops after drainMs with deliveries pending, dropping them, and refuses new events", async () => {
    const receiver = heldFetch();
    const outcomes: DeliveryOutcome[] = [];
    const hook = webhook({ concurrency: 1, drainMs: 50 }, outcomes);
    hook.notify(eventNumbered(1));
    hook.notify(eventNumbered(2));
    await vi.waitFor(() => expect(receiver.calls).toHaveLength(1));
    const started = performance.now();
    await hook.close();
    expect(performance.now() - started).toBeLessThan(2_000);
    hook.notify(eventNumbered(3));
    expect(receiver.calls).toEqual(["event-1"]);
    expect(outcomes).toEqual(["dropped", "dropped", "dropped"]);
  });

  it("stops at once when nothing is pending", async () => {
    heldFetch();
    const hook = webhook({ drainMs: 60_000 }, []);
    const started = performance.now();
    await hook.close();
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
