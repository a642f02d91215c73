import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Json } from "./rest.js";

/** One POST the receiver got, with what it made of it. */
export interface Delivery {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly event: Json;
  /** The `t` of `Keycard-Signature` (epoch seconds). */
  readonly timestamp: number;
  /** Whether `Keycard-Signature` is the HMAC-SHA-256 of `<t>.<body>` under the secret. */
  readonly signed: boolean;
  /** What the receiver answered. */
  readonly status: number | "hang";
}

/** What the receiver answers: a status, or nothing at all (the request hangs). */
export type Answer = number | "hang";

/**
 * A security-webhook receiver on node:http, as an application would write one: it reads
 * the raw body, checks `Keycard-Signature` against the shared secret (in constant time),
 * keeps every delivery, and answers 204 unless told to answer a user's deliveries otherwise.
 */
export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  private readonly answers = new Map<string, Answer[]>();
  private readonly hanging: ServerResponse[] = [];
  private readonly server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const event = JSON.parse(body) as Json;
      const status = this.answers.get(String(event.user_id))?.shift() ?? 204;
      const signature = String(request.headers["keycard-signature"] ?? "");
      const timestamp = Number(/^t=(\d+),/.exec(signature)?.[1] ?? Number.NaN);
      const signed = this.verifies(signature, body);
      this.deliveries.push({ headers: request.headers, body, event, timestamp, signed, status });
      if (status === "hang") {
        this.hanging.push(response);
      } else {
        response.writeHead(status).end();
      }
    });
  });

  constructor(private readonly secret: string) {}

  /** Listens on 127.0.0.1 (an ephemeral port unless given one) and answers the URL to POST to. */
  async listen(port = 0): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/keycard`;
  }

  /** Makes the next deliveries of a user's events answer these, in order (then 204). */
  answer(userId: string, answers: readonly Answer[]): void {
    this.answers.set(userId, [...answers]);
  }

  /** The deliveries of one user's events, in the order they came. */
  of(userId: string): Delivery[] {
    return this.deliveries.filter((delivery) => delivery.event.user_id === userId);
  }

  async close(): Promise<void> {
    for (const response of this.hanging) {
      response.destroy();
    }
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Checks `t=<t>,v1=<hex>` as Stripe's receivers do: HMAC-SHA-256 of `<t>.<raw body>`. */
  private verifies(signature: string, body: string): boolean {
    const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature);
    if (match === null) {
      return false;
    }
    const expected = createHmac("sha256", this.secret).update(`${match[1]}.${body}`).digest();
    return timingSafeEqual(expected, Buffer.from(match[2] ?? "", "hex"));
  }
}

/** A port nothing listens on (one the system just handed out and took back). */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
