import type { SecurityNotifier, SightingStore } from "../domain/ports.js";
import { withoutRequestDeadline } from "../domain/request-deadline.js";
import { eventOfKind, type SecurityEvent } from "../domain/security-event.js";
import type { ClientInfo, SessionRecord } from "../domain/session.js";
import { type Sighting, sightingRules, sightingsOf } from "../domain/sightings.js";
import { newId } from "../domain/token.js";
import type { AuditLog } from "./audit.js";

/** What telling logins from new devices and places needs. */
export interface LoginSignalsDeps {
  readonly sightings: SightingStore;
  readonly audit: AuditLog;
  /** Where the events go besides the audit log (SECURITY_WEBHOOK_URL); nowhere when absent. */
  readonly notifier?: SecurityNotifier;
  /** Told when a login's sightings could not be recorded; the login has succeeded anyway. */
  readonly onFailure: (error: unknown) => void;
}

/**
 * Tells logins from a device or place the account has not used in 90 days: audits each
 * as `login.new_device` or `login.new_location` and hands it to the notifier. It looks
 * after the session is open, in the background, so a login waits for none of it and
 * succeeds even when the store cannot record what it came from.
 */
export class LoginSignals {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly deps: LoginSignalsDeps) {}

  /**
   * Starts looking at a new session's device and place (see sightingsOf; `browser` says
   * whether the client is being given its `device-id` cookie); returns at once, never fails.
   */
  notice(session: SessionRecord, client: ClientInfo, browser: boolean): void {
    const seen = sightingsOf(session, client, browser);
    if (seen.length === 0) {
      return;
    }
    // Outside the login's store deadline: the login has answered, and this is bounded by
    // REDIS_COMMAND_TIMEOUT alone.
    const look = withoutRequestDeadline(() => this.look(session, seen))
      .catch(this.deps.onFailure)
      .finally(() => this.pending.delete(look));
    this.pending.add(look);
  }

  /** Resolves once every login noticed so far has been looked at (before stopping). */
  async settle(): Promise<void> {
    await Promise.all(this.pending);
  }

  private async look(session: SessionRecord, seen: readonly Sighting[]): Promise<void> {
    const fresh = await this.deps.sightings.record(
      session.userId,
      seen,
      session.createdAt,
      sightingRules,
    );
    seen.forEach((sighting, index) => {
      if (fresh[index] === true) {
        this.signal(session, sighting);
      }
    });
  }

  private signal(session: SessionRecord, sighting: Sighting): void {
    const event: SecurityEvent = {
      type: eventOfKind[sighting.kind],
      id: newId(),
      occurredAt: session.createdAt,
      userId: session.userId,
      email: session.email,
      sessionId: session.id,
      deviceId: session.deviceId ?? "",
      location: session.location ?? "",
      ip: session.ip,
      userAgent: session.userAgent,
    };
    this.deps.audit(event.type, {
      userId: event.userId,
      sessionId: event.sessionId,
      deviceId: event.deviceId,
      device: session.deviceLabel,
      ...(session.location === undefined ? {} : { location: session.location }),
      ip: event.ip,
      eventId: event.id,
    });
    this.deps.notifier?.notify(event);
  }
}
