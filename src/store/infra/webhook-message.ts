import { createHmac } from "node:crypto";
import type { SecurityEvent } from "../../domain/security-event.js";

/** A security event as the webhook's JSON body: snake_case, the time as RFC 3339. */
export function webhookBody(event: SecurityEvent): string {
  return JSON.stringify({
    type: event.type,
    id: event.id,
    occurred_at: new Date(event.occurredAt).toISOString(),
    user_id: event.userId,
    email: event.email,
    session_id: event.sessionId,
    device_id: event.deviceId,
    location: event.location,
    ip: event.ip,
    user_agent: event.userAgent,
  });
}

/**
 * The `Keycard-Signature` header of a body sent at `timestamp` (epoch seconds):
 * `t=<timestamp>,v1=<hex HMAC-SHA-256 of "<timestamp>.<body>">`, as Stripe signs its
 * webhooks. Signing the time with the body lets a receiver refuse a replayed old delivery.
 */
export function signatureOf(secret: string, timestamp: number, body: string): string {
  const mac = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
  return `t=${timestamp},v1=${mac}`;
}
