import { sessionCookieToken } from "./credentials.js";
import { checkCookieOrigin, type OriginCheckedRequest } from "./http/origin-check.js";

/**
 * The request header by which a page asks for cookie mode on an RPC: the session travels in
 * keycard's HttpOnly `auth-token` cookie instead of the page's hands. keycard's portal sends
 * it on every call. Being a custom header it cannot be sent from another site's page
 * without a CORS preflight, which keycard grants only to ALLOWED_ORIGINS, so a forged form
 * or image can never ride on the cookie.
 */
export const cookieModeHeader = "x-session-cookie";

/** What the front door learned of a cookie-mode request. */
export interface CookieMode {
  /** The session token of the request's `auth-token` cookie; empty when there is none. */
  readonly cookieToken: string;
  /** Whether the page asking is keycard's own or an allowed origin (checkCookieOrigin). */
  readonly origin: "ok" | "forbidden";
}

/**
 * The cookie mode of a request, or undefined when it did not ask for it (then keycard never
 * reads a cookie for an RPC, as before). Every cookie-mode request is origin checked, the
 * login too: a foreign page must not log a visitor in to the attacker's account either.
 */
export function cookieModeOf(
  request: OriginCheckedRequest,
  allowedOrigins: readonly string[],
): CookieMode | undefined {
  if (request.headers[cookieModeHeader] === undefined) {
    return undefined;
  }
  return {
    cookieToken: sessionCookieToken(request.headers.cookie),
    origin: checkCookieOrigin(request, allowedOrigins),
  };
}
