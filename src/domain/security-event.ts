import type { SightingKind } from "./sightings.js";

/** What an application may tell the account's holder about: a login from somewhere new. */
export type SecurityEventType = "login.new_device" | "login.new_location";

/** The event of a new sighting, by its kind. */
export const eventOfKind: Readonly<Record<SightingKind, SecurityEventType>> = {
  device: "login.new_device",
  location: "login.new_location",
};

/** One security event, as the SECURITY_WEBHOOK_URL receiver gets it (never a secret). */
export interface SecurityEvent {
  readonly type: SecurityEventType;
  /** Unique per event: a receiver that sees one twice (a retried delivery) acts once. */
  readonly id: string;
  /** When the login happened (epoch ms). */
  readonly occurredAt: number;
  readonly userId: string;
  readonly email: string;
  readonly sessionId: string;
  readonly deviceId: string;
  /** The location LOCATION_HEADER stated; empty when none was. */
  readonly location: string;
  readonly ip: string;
  readonly userAgent: string;
}

/**
 * How security events are delivered: SECURITY_WEBHOOK_URL, its signing secret, and the
 * pace of deliveries (the defaults in production; tests make it fast).
 */
export interface SecurityWebhookSettings {
  readonly url: string;
  /** SECURITY_WEBHOOK_SECRET: the HMAC-SHA-256 key of `Keycard-Signature`, 32+ bytes. */
  readonly secret: string;
  readonly pacing?: Partial<DeliveryPacing>;
}

/** How hard and how long a webhook delivery is tried. */
export interface DeliveryPacing {
  /** Tries per event, the first included. */
  readonly attempts: number;
  /** The wait before the first retry; each later one waits twice as long (with jitter). */
  readonly firstRetryMs: number;
  /** How long one try may take before it counts as failed. */
  readonly attemptTimeoutMs: number;
  /** Events waiting for delivery; beyond it the oldest is dropped. */
  readonly queueSize: number;
  /** Deliveries in progress at once. */
  readonly concurrency: number;
  /** How long stopping keycard waits for pending deliveries before it gives them up. */
  readonly drainMs: number;
}

/** The production pace: 6 tries over about 30 s, 5 s each, 1,000 waiting, 2 s to drain. */
export const defaultDeliveryPacing: DeliveryPacing = {
  attempts: 6,
  firstRetryMs: 1_000,
  attemptTimeoutMs: 5_000,
  queueSize: 1_000,
  concurrency: 4,
  drainMs: 2_000,
};
