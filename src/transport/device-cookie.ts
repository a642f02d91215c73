import { parseCookie, stringifySetCookie } from "cookie";
import { isDeviceId } from "../domain/device.js";
import type { ClientInfo, SessionRecord } from "../domain/session.js";
import { type CookiePolicy, cookieAttributes } from "./cookie-policy.js";

/** The long-lived cookie that tells a browser's later logins apart as the same device. */
export const deviceCookieName = "device-id";

/** About 400 days, the longest lifetime browsers keep a cookie for (RFC 6265bis). */
const deviceCookieSeconds = 400 * 86_400;

/**
 * The device id of a request's `device-id` cookie; undefined when there is none or it is
 * not exactly the shape keycard mints (a forged or oversized value is ignored).
 */
export function deviceIdOfCookie(cookieHeader: string | undefined): string | undefined {
  if (cookieHeader === undefined || !cookieHeader.includes(deviceCookieName)) {
    return undefined;
  }
  const deviceId = parseCookie(cookieHeader)[deviceCookieName] ?? "";
  return isDeviceId(deviceId) ? deviceId : undefined;
}

/**
 * Whether a request comes from a browser page: browsers send `Origin` with every POST and
 * `Sec-Fetch-Site` with every request; curl, gRPC and server-side clients send neither, so
 * they get no cookie they would not keep.
 */
export function isBrowserRequest(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): boolean {
  return headers.origin !== undefined || headers["sec-fetch-site"] !== undefined;
}

/**
 * The Set-Cookie header that gives a browser the device id its new session was opened on,
 * when it did not send that id already; undefined for an API key's session (its device is
 * the key) and for a browser that keeps its id.
 */
export function newDeviceCookie(
  session: Pick<SessionRecord, "deviceId" | "apiKeyId">,
  client: ClientInfo,
  cookies: CookiePolicy,
): string | undefined {
  const { deviceId, apiKeyId } = session;
  if (deviceId === undefined || apiKeyId !== undefined || deviceId === client.deviceId) {
    return undefined;
  }
  return stringifySetCookie(
    deviceCookieName,
    deviceId,
    cookieAttributes(cookies, deviceCookieSeconds),
  );
}
