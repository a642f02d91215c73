import { newId } from "./token.js";

/** A device id as keycard mints it: 22 base64url characters (128 random bits), no leading `-`. */
const deviceIdPattern = /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/;

/**
 * A location as a trusted proxy states it: a country code (`DE`, Cloudflare's `XX` and `T1`)
 * or a short place name, 1 to 64 printable ASCII characters.
 */
const locationPattern = /^[\x20-\x7E]{1,64}$/;

/**
 * A new random id for a browser that has none: sent back as its `device-id` cookie, so
 * that its later logins are known as the same device.
 */
export function mintDeviceId(): string {
  return newId();
}

/**
 * Whether text has the exact shape of a device id keycard mints. A cookie is client input:
 * anything else (forged, oversized) is ignored, never stored.
 */
export function isDeviceId(text: string): boolean {
  return deviceIdPattern.test(text);
}

/**
 * The location a trusted header states, trimmed; undefined when it is absent or not a
 * short printable text (then nothing is recorded rather than something made up).
 */
export function locationOf(header: string | undefined): string | undefined {
  const location = header?.trim() ?? "";
  return locationPattern.test(location) ? location : undefined;
}
