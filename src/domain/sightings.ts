import type { ClientInfo, SessionRecord } from "./session.js";

/**
 * What a login is recognised by: the device it came from (a `device-id` cookie or an API
 * key) and the place its proxy stated (LOCATION_HEADER).
 */
export type SightingKind = "device" | "location";

/** One device or place a login came from, as a user's remembered sightings hold it. */
export interface Sighting {
  readonly kind: SightingKind;
  readonly value: string;
}

/** How long sightings are remembered, and how many of each kind, per user. */
export interface SightingRules {
  /** A device or place not seen for this long is new again: 90 days. */
  readonly windowMs: number;
  /** The newest sightings of each kind a user keeps; older ones are forgotten. */
  readonly perKind: number;
  /**
   * How long after a user's last login the store keeps anything of them (the fact that a
   * kind was ever seen included): 400 days, as long as a browser keeps its `device-id`.
   */
  readonly retainMs: number;
}

const day = 86_400_000;

/** The rules keycard applies: 90 days, 64 devices and 64 places per user, kept 400 days. */
export const sightingRules: SightingRules = {
  windowMs: 90 * day,
  perKind: 64,
  retainMs: 400 * day,
};

/**
 * What a new session was opened from that can be recognised at a later login: its device
 * when the client keeps that id (an API key, a `device-id` cookie it sent, or a browser that
 * is being given one; any other client's device is minted anew at every login, so it would
 * be new every time), and its location when one was stated.
 */
export function sightingsOf(
  session: Pick<SessionRecord, "deviceId" | "apiKeyId" | "location">,
  client: ClientInfo,
  browser: boolean,
): Sighting[] {
  const keptDevice = session.apiKeyId !== undefined || client.deviceId !== undefined || browser;
  return [
    ...(keptDevice && session.deviceId !== undefined
      ? [{ kind: "device" as const, value: session.deviceId }]
      : []),
    ...(session.location === undefined
      ? []
      : [{ kind: "location" as const, value: session.location }]),
  ];
}
