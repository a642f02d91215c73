import { parseCookie } from "cookie";

/** The session cookie of reference 002 (the `api-v1-auth` profile), which proxies also see. */
export const sessionCookieName = "auth-token";

/** What credential parsing reads of request headers: web Headers or a lean stand-in. */
export interface HeaderLookup {
  get(name: string): string | null;
}

/** The headers of a Node request (either HTTP version) as a lookup, joining repeated ones. */
export function nodeHeaderLookup(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): HeaderLookup {
  return {
    get(name) {
      const value = headers[name];
      return typeof value === "string" ? value : (value?.join(", ") ?? null);
    },
  };
}

/**
 * The request headers keycard reads from a caller: its credentials and its request id. An
 * RPC sees these and no others; a browser may send them (CORS).
 */
export const callerHeaders: readonly string[] = [
  "authorization",
  "x-session-token",
  "x-api-key",
  "x-totp-code",
  "x-request-id",
  "x-session-cookie",
];

/**
 * The session token a request presents: `Authorization: Bearer <token>` first, then
 * `X-Session-Token`. Empty when there is none.
 */
export function presentedToken(headers: HeaderLookup): string {
  return bearerToken(headers) || (headers.get("x-session-token")?.trim() ?? "");
}

/** The token of `Authorization: Bearer <token>`; empty when there is none. */
export function bearerToken(headers: HeaderLookup): string {
  return bearerOf(headers.get("authorization"));
}

/**
 * The token of an Authorization header's value `Bearer <token>` (any case, one token);
 * empty for another scheme or none. The one place keycard reads a Bearer credential.
 */
export function bearerOf(authorization: string | null | undefined): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  return match?.[1] ?? "";
}

/**
 * The token a request proxied to keycard carries (forward auth, Envoy ext_authz): Bearer,
 * then X-Session-Token, then the session cookie in `cookieHeader`.
 */
export function carriedToken(headers: HeaderLookup, cookieHeader: string | undefined): string {
  const fromHeaders = presentedToken(headers);
  return fromHeaders !== "" ? fromHeaders : sessionCookieToken(cookieHeader);
}

/** The token of the `auth-token` session cookie in a Cookie header; empty when there is none. */
export function sessionCookieToken(cookieHeader: string | undefined): string {
  return cookieHeader === undefined ? "" : (parseCookie(cookieHeader)[sessionCookieName] ?? "");
}
