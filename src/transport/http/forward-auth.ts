import { parseCookie } from "cookie";
import { AuthService } from "../../../gen/keycard/v1/auth_service_pb.js";
import { InactiveReason } from "../../../gen/keycard/v1/session_pb.js";
import { presentedToken } from "../credentials.js";
import { RestError } from "./rest-error.js";
import { headersOf, type NodeRequest, type NodeResponse, type RestDeps } from "./rest-handler.js";

/** The session cookie of reference 002 (the `api-v1-auth` profile), which proxies also see. */
const sessionCookie = "auth-token";

/** The REST `{error, message}` of each reason a token is not active. */
const refusals: Readonly<Record<InactiveReason, readonly [string, string]>> = {
  [InactiveReason.UNSPECIFIED]: ["SESSION_INVALID", "Invalid session token"],
  [InactiveReason.UNKNOWN]: ["SESSION_INVALID", "Invalid session token"],
  [InactiveReason.MALFORMED]: ["SESSION_INVALID", "Invalid session token"],
  [InactiveReason.EXPIRED]: ["SESSION_EXPIRED", "Session token expired"],
  [InactiveReason.IDLE_TIMEOUT]: ["SESSION_EXPIRED", "Session token expired after inactivity"],
  [InactiveReason.REVOKED]: ["SESSION_REVOKED", "Session token revoked"],
  [InactiveReason.TOTP_REQUIRED]: ["TOTP_REQUIRED", "TOTP code required"],
  [InactiveReason.TOTP_INVALID]: ["TOTP_INVALID", "Invalid or already used TOTP code"],
};

/** The token a proxied request carries: Bearer, then X-Session-Token, then the session cookie. */
function carriedToken(request: NodeRequest): string {
  const fromHeaders = presentedToken(headersOf(request));
  if (fromHeaders !== "" || request.headers.cookie === undefined) {
    return fromHeaders;
  }
  return parseCookie(request.headers.cookie)[sessionCookie] ?? "";
}

/** A header value Node will send: anything outside visible ASCII is percent-encoded. */
function headerValue(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, (char) => encodeURIComponent(char));
}

/**
 * `GET /auth/verify`, the forward-auth endpoint of reverse proxies (nginx `auth_request`,
 * Traefik `forwardAuth`, Caddy `forward_auth`): 200 with an empty body and the identity in
 * `X-Auth-User`, `X-Auth-Email`, `X-Auth-Roles` (comma-separated) and `X-Auth-Session`, or
 * 401 with `{error, message}`. Any method is answered the same way, because nginx sends
 * its subrequest with the method of the original request.
 */
export async function serveForwardAuth(
  deps: RestDeps,
  request: NodeRequest,
  response: NodeResponse,
): Promise<void> {
  const token = carriedToken(request);
  const headers = headersOf(request);
  if (token === "" && !headers.has("x-api-key")) {
    throw new RestError(401, "UNAUTHENTICATED", "Missing session token", {
      "www-authenticate": 'Bearer realm="keycard"',
    });
  }
  const answer = await deps.caller.call(
    AuthService.method.validate,
    { token },
    {
      header: headers,
      contextValues: deps.contextValuesOf(request),
      signal: new AbortController().signal,
    },
  );
  if (!answer.active) {
    const [error, message] = refusals[answer.reason];
    throw new RestError(401, error, message, {
      "www-authenticate": 'Bearer realm="keycard", error="invalid_token"',
    });
  }
  response.writeHead(200, {
    "x-auth-user": headerValue(answer.subject),
    "x-auth-email": headerValue(answer.email),
    "x-auth-roles": headerValue(answer.roles.join(",")),
    "x-auth-session": headerValue(answer.sessionId),
    "cache-control": "no-store",
    "content-length": 0,
  });
  response.end();
}
