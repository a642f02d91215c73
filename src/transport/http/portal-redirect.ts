import { type RedirectPolicy, safeRedirectTarget } from "../../domain/redirect-target.js";
import { queryOf } from "../request-target.js";
import { RestError } from "./rest-error.js";
import { type NodeRequest, type NodeResponse, sendJson } from "./rest-handler.js";
import type { StepUpQuery } from "./step-up.js";

/** The base that resolves a portal given as a path on keycard, then is dropped again. */
const pathBase = "https://keycard.invalid";

/** A request header sent once; undefined when absent or repeated. */
function singleHeader(request: NodeRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === "string" ? value : undefined;
}

/** The non-empty values of query parameter `name` in a request target. */
export function queryValues(url: string | undefined, name: string): string[] {
  return (queryOf(url)?.getAll(name) ?? []).filter((value) => value !== "");
}

/**
 * The sign-in portal a forward-auth request names in `?rd=`, undefined when it names none.
 * A portal that is not a safe redirect target (or `rd` given twice) is refused with 400 on
 * every request, signed in or not, so a misconfigured proxy shows on its first request and
 * no browser is ever sent there.
 */
export function portalOf(url: string | undefined, policy: RedirectPolicy): string | undefined {
  const values = queryValues(url, "rd");
  const [only] = values;
  if (only === undefined) {
    return undefined;
  }
  const portal = values.length === 1 ? safeRedirectTarget(only, policy) : undefined;
  if (portal === undefined) {
    throw new RestError(
      400,
      "INVALID_ARGUMENT",
      "rd must be one sign-in portal URL under ALLOWED_REDIRECT_DOMAINS (https://, or http:// with COOKIE_SECURE=false) or a path on keycard",
    );
  }
  return portal;
}

/** X-Forwarded-Proto + X-Forwarded-Host + X-Forwarded-Uri, as Traefik and Caddy send them. */
function forwardedUrl(request: NodeRequest): string | undefined {
  const proto = singleHeader(request, "x-forwarded-proto");
  const host = singleHeader(request, "x-forwarded-host");
  const uri = singleHeader(request, "x-forwarded-uri");
  if (proto === undefined || host === undefined || uri?.startsWith("/") !== true) {
    return undefined;
  }
  return `${proto}://${host}${uri}`;
}

/**
 * The URL the browser asked the proxy for, to come back to after sign-in: `X-Original-URL`
 * (nginx), else the `X-Forwarded-*` triple (Traefik, Caddy); undefined when absent or not a
 * safe redirect target, and then the portal is sent no `rd`.
 */
export function originalUrlOf(request: NodeRequest, policy: RedirectPolicy): string | undefined {
  const stated = singleHeader(request, "x-original-url") ?? forwardedUrl(request);
  return stated === undefined ? undefined : safeRedirectTarget(stated, policy);
}

/**
 * A browser navigating to a page, which a redirect helps (an API client, a form POST or a
 * script's fetch is better told 401): GET or HEAD, by the proxy's `X-Forwarded-Method`
 * when it states one (Traefik and Caddy ask with GET whatever the browser sent), and an
 * `Accept` that names `text/html`.
 */
export function isBrowserNavigation(request: NodeRequest): boolean {
  const method = singleHeader(request, "x-forwarded-method") ?? request.method;
  const accept = request.headers.accept ?? "";
  return (method === "GET" || method === "HEAD") && /\btext\/html\b/i.test(accept);
}

/**
 * The portal's URL for this browser: `rd` the original URL (when known and safe), and after
 * a failed step-up the `aal` and `max_age` the proxy asked, so the portal makes the person
 * prove themselves again. A portal given as a path stays a path.
 */
export function portalLocation(
  portal: string,
  original: string | undefined,
  stepUp: StepUpQuery | undefined,
): string {
  const url = new URL(portal, pathBase);
  if (original !== undefined) {
    url.searchParams.set("rd", original);
  }
  if (stepUp !== undefined && stepUp.minAal > 0) {
    url.searchParams.set("aal", String(stepUp.minAal));
  }
  if (stepUp !== undefined && stepUp.maxAuthAgeSeconds > 0) {
    url.searchParams.set("max_age", String(stepUp.maxAuthAgeSeconds));
  }
  return portal.startsWith("/") ? `${url.pathname}${url.search}${url.hash}` : url.href;
}

/**
 * Answers a browser's refused forward-auth request with the way to the portal. Traefik and
 * Caddy pass a non-2xx answer on to the browser, so they get a 302. nginx `auth_request`
 * takes anything but 2xx, 401 and 403 for an error, so a request through nginx (it carries
 * `X-Original-URL`) gets the refusal's 401 with a `Location` header, which the snippet's
 * `error_page 401` turns into the 302. Both keep the refusal's `WWW-Authenticate`.
 */
export function sendToPortal(
  request: NodeRequest,
  response: NodeResponse,
  refusal: RestError,
  location: string,
): void {
  const headers = { ...refusal.headers, location };
  if (singleHeader(request, "x-original-url") !== undefined) {
    sendJson(response, 401, { error: refusal.code, message: refusal.message }, headers);
    return;
  }
  response.writeHead(302, { ...headers, "cache-control": "no-store", "content-length": 0 });
  response.end();
}
