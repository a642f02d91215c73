import { cors } from "@connectrpc/connect";
import { callerHeaders } from "../credentials.js";
import type { NodeRequest, NodeResponse } from "./rest-handler.js";
import { sendJson } from "./rest-handler.js";

/**
 * Answers the CORS part of a request: adds the headers a browser needs to let a listed
 * origin read the response, and answers preflights itself. Returns true when it fully
 * answered the request (a preflight), so the caller must not handle it further.
 */
export type ApplyCors = (request: NodeRequest, response: NodeResponse) => boolean;

function lowerUnique(names: readonly string[]): readonly string[] {
  return [...new Set(names.map((name) => name.toLowerCase()))];
}

/** Methods a browser may use: Connect's (POST, GET) and the REST paths' DELETE. */
export const corsAllowedMethods: readonly string[] = lowerUnique([
  ...cors.allowedMethods,
  "DELETE",
  "OPTIONS",
]).map((method) => method.toUpperCase());

/** Request headers a browser may send: Connect's and gRPC-Web's, plus keycard's credentials. */
export const corsAllowedHeaders: readonly string[] = lowerUnique([
  ...cors.allowedHeaders,
  ...callerHeaders,
]);

/**
 * Response headers page scripts may read: Connect's and gRPC-Web's status headers, and the
 * rate-limit headers so a page can tell its user when to retry. Listed one by one: with
 * credentials a browser does not honour `*`.
 */
export const corsExposedHeaders: readonly string[] = lowerUnique([
  ...cors.exposedHeaders,
  "retry-after",
  "x-ratelimit-limit",
  "x-ratelimit-remaining",
  "x-ratelimit-reset",
]);

/** How long, in seconds, a browser may reuse a preflight answer (Chromium caps it at 2 hours). */
export const corsMaxAgeSeconds = 7200;

/** The serialized origin of an entry, or the entry itself when it is not a URL. */
function normalized(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return origin;
  }
}

function appendVary(response: NodeResponse, value: string): void {
  const existing = response.getHeader("vary");
  const listed = typeof existing === "string" ? existing : "";
  const names = listed.split(",").map((name) => name.trim().toLowerCase());
  if (!names.includes(value.toLowerCase())) {
    response.setHeader("vary", listed === "" ? value : `${listed}, ${value}`);
  }
}

/**
 * The CORS policy for `allowedOrigins` (ALLOWED_ORIGINS). Only a listed origin is echoed in
 * Access-Control-Allow-Origin, always with credentials allowed; any other origin gets no
 * CORS headers at all, so its page scripts cannot read keycard's answers, and its preflights
 * are refused with 403 `{error: "ORIGIN_NOT_ALLOWED"}`. A request without Origin (same-origin
 * navigation, curl, servers) passes through untouched. CORS only decides what a page may
 * read; refusing cross-site cookie requests that change state is checkCookieOrigin's job.
 */
export function corsPolicy(allowedOrigins: readonly string[]): ApplyCors {
  const allowed = new Set(allowedOrigins.map(normalized));
  const preflightHeaders = {
    "access-control-allow-credentials": "true",
    "access-control-allow-methods": corsAllowedMethods.join(", "),
    "access-control-allow-headers": corsAllowedHeaders.join(", "),
    "access-control-max-age": String(corsMaxAgeSeconds),
  };
  const exposed = corsExposedHeaders.join(", ");
  return (request, response) => {
    if (allowed.size > 0) {
      // The answer depends on Origin, so caches must key on it even when no CORS header is set.
      appendVary(response, "Origin");
    }
    const origin = request.headers.origin;
    if (origin === undefined) {
      return false;
    }
    const listed = allowed.has(origin);
    const preflight =
      request.method === "OPTIONS" &&
      request.headers["access-control-request-method"] !== undefined;
    if (preflight) {
      if (!listed) {
        sendJson(response, 403, {
          error: "ORIGIN_NOT_ALLOWED",
          message: "This origin is not allowed to call keycard from a browser",
        });
        return true;
      }
      response.writeHead(204, {
        ...preflightHeaders,
        "access-control-allow-origin": origin,
        "content-length": "0",
      });
      response.end();
      return true;
    }
    if (listed) {
      response.setHeader("access-control-allow-origin", origin);
      response.setHeader("access-control-allow-credentials", "true");
      response.setHeader("access-control-expose-headers", exposed);
    }
    return false;
  };
}
