import type { IncomingHttpHeaders } from "node:http";

/** The part of a request the origin check reads; both HTTP versions' requests fit. */
export interface OriginCheckedRequest {
  readonly method?: string | undefined;
  readonly headers: IncomingHttpHeaders;
}

/** Methods that change state and so must not be forged from another site. */
const stateChanging = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** The serialized origin of a URL, or undefined when the text is not an absolute URL. */
function originOf(text: string): string | undefined {
  try {
    const origin = new URL(text).origin;
    return origin === "null" ? undefined : origin;
  } catch {
    return undefined;
  }
}

/**
 * The origin a request was sent to, from Host (or HTTP/2's :authority) and the scheme of
 * the origin it is compared with, so that a default port written out still compares equal.
 */
function requestedOrigin(headers: IncomingHttpHeaders, protocol: string): string | undefined {
  const host = headers.host ?? headers[":authority"];
  return typeof host === "string" && host !== "" ? originOf(`${protocol}//${host}`) : undefined;
}

/**
 * CSRF defence for cookie sessions (reference 002: "Origin validation on state-changing
 * operations, Referer header checks"): decides whether a state-changing request
 * authenticated by a cookie may proceed, from where the browser says it came from.
 *
 * Contract: call it only for requests whose credential is a cookie. A bearer token or API
 * key in a header cannot be attached by another site's page, so such requests are not
 * subject to the check; the caller decides which credential authenticates a request and
 * answers 403 on "forbidden". Safe methods (GET, HEAD, OPTIONS) are always "ok": they must
 * not change state, and SameSite=Lax already keeps the cookie off cross-site subrequests.
 *
 * The request's origin is its Origin header or, when absent, the origin of its Referer. It
 * is "ok" when it is one of `allowedOrigins` (ALLOWED_ORIGINS, serialized origins such as
 * `https://app.example.com`), equals `selfOrigin` when given, or, without `selfOrigin`, has
 * the host the request was sent to (Host or :authority; the scheme is not compared because
 * TLS usually ends at a proxy in front of keycard). A page on another host that happens to
 * resolve to keycard (DNS rebinding) passes that comparison, but its requests carry that
 * host's cookies, never keycard's. An Origin of "null" (sandboxed frames, no-referrer
 * pages) or an unparseable header is "forbidden".
 *
 * When neither Origin nor Referer is present the answer is "ok": browsers send Origin on
 * every POST, PUT, PATCH and DELETE, so such a request comes from curl, Python requests or
 * another program. CSRF needs a victim's browser to attach the victim's cookie to a request
 * the attacker chose; a program sending its own cookie jar has no victim.
 */
export function checkCookieOrigin(
  request: OriginCheckedRequest,
  allowedOrigins: readonly string[],
  selfOrigin?: string,
): "ok" | "forbidden" {
  if (!stateChanging.has((request.method ?? "GET").toUpperCase())) {
    return "ok";
  }
  const { origin, referer } = request.headers;
  if (origin === undefined && referer === undefined) {
    return "ok";
  }
  const claimed = origin !== undefined ? originOf(origin) : originOf(referer ?? "");
  if (claimed === undefined) {
    return "forbidden";
  }
  if (allowedOrigins.some((allowed) => originOf(allowed) === claimed)) {
    return "ok";
  }
  if (selfOrigin !== undefined) {
    return originOf(selfOrigin) === claimed ? "ok" : "forbidden";
  }
  const self = requestedOrigin(request.headers, new URL(claimed).protocol);
  return self === claimed ? "ok" : "forbidden";
}
