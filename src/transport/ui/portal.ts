import { sendJson } from "../http/rest-handler.js";
import { queryOf } from "../request-target.js";
import type { NodeRequest, NodeResponse } from "../server/front-door.js";
import type { PortalAssets } from "./portal-assets.js";

/**
 * The portal's Content-Security-Policy: scripts, styles and connections only from keycard
 * itself, no inline script or style, images from keycard or `data:` (the TOTP QR code), no
 * framing, no plugins, forms posting nowhere else. The pages send no third-party request.
 */
export const portalPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

/** Headers of every portal answer: the policy and the usual hardening of pages that hold sessions. */
const pageHeaders = {
  "content-security-policy": portalPolicy,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-resource-policy": "same-origin",
  "cache-control": "no-cache",
};

/** Whether a request's path belongs to the portal. */
export function isPortalPath(path: string): boolean {
  return path === "/ui" || path.startsWith("/ui/");
}

/** What the portal's pages are served from. */
export interface PortalDeps {
  readonly assets: PortalAssets;
  /** Whether the request's `auth-token` cookie holds a live session. */
  readonly signedIn: (request: NodeRequest) => Promise<boolean>;
  /**
   * Whether the pages are served over HTTPS (COOKIE_SECURE): only then do they carry
   * Cross-Origin-Opener-Policy, which browsers ignore, with a console error, over plain HTTP.
   */
  readonly https: boolean;
}

function redirect(response: NodeResponse, status: 301 | 302, location: string): void {
  response.writeHead(status, { location, "cache-control": "no-store", "content-length": 0 });
  response.end();
}

/**
 * Where a page request goes instead of its page, if anywhere: the sign-in page of a browser
 * already signed in goes on (to `rd` through `/ui/continue`, or the account page) unless a
 * proxy asked for step-up (`aal`, `max_age`); the account page of a browser not signed in
 * goes to sign in. Decided here, so neither page's script starts with a refused call.
 */
async function pageRedirect(
  deps: PortalDeps,
  path: string,
  request: NodeRequest,
): Promise<string | undefined> {
  if (path === "/ui/account") {
    return (await deps.signedIn(request)) ? undefined : "/ui/";
  }
  const query = queryOf(request.url) ?? new URLSearchParams();
  if (path !== "/ui/" || query.has("aal") || query.has("max_age")) {
    return undefined;
  }
  if (!(await deps.signedIn(request))) {
    return undefined;
  }
  const rd = query.get("rd") ?? "";
  return rd === "" ? "/ui/account" : `/ui/continue?rd=${encodeURIComponent(rd)}`;
}

/**
 * Serves the sign-in portal (`/ui/` the sign-in page, `/ui/account` the account page,
 * `/ui/assets/*`), GET and HEAD only. `/ui` moves to `/ui/`. When the portal was not built
 * (`npm run build` makes it), each page answers 503 saying so.
 */
export async function servePortal(
  deps: PortalDeps,
  path: string,
  request: NodeRequest,
  response: NodeResponse,
): Promise<void> {
  if (request.method !== "GET" && request.method !== "HEAD") {
    sendJson(
      response,
      405,
      { error: "METHOD_NOT_ALLOWED", message: `Use GET for ${path}` },
      { allow: "GET, HEAD" },
    );
    return;
  }
  if (path === "/ui") {
    redirect(response, 301, "/ui/");
    return;
  }
  if (deps.assets.size === 0) {
    sendJson(response, 503, {
      error: "PORTAL_NOT_BUILT",
      message: "keycard's sign-in pages are not built: run `npm run build` (npm start does it)",
    });
    return;
  }
  const asset = deps.assets.get(path);
  if (asset === undefined) {
    sendJson(response, 404, { error: "NOT_FOUND", message: `No portal page at ${path}` });
    return;
  }
  const elsewhere = await pageRedirect(deps, path, request);
  if (elsewhere !== undefined) {
    redirect(response, 302, elsewhere);
    return;
  }
  response.writeHead(200, {
    ...pageHeaders,
    ...(deps.https ? { "cross-origin-opener-policy": "same-origin" } : {}),
    "content-type": asset.type,
    "content-length": asset.body.length,
  });
  if (request.method === "HEAD") {
    response.end();
    return;
  }
  response.end(asset.body);
}
