import { create } from "@bufbuild/protobuf";
import { AuthService, ValidateRequestSchema } from "../../../gen/keycard/v1/auth_service_pb.js";
import { InactiveReason } from "../../../gen/keycard/v1/session_pb.js";
import type { RedirectPolicy } from "../../domain/redirect-target.js";
import { inactiveRefusal } from "../../service/session-judge.js";
import { carriedToken, nodeHeaderLookup } from "../credentials.js";
import { domainReasonOf } from "../handlers/auth-service-impl.js";
import { errorResponses, errorSchemaName, jsonResponse, schemaRef } from "./openapi/responses.js";
import type { PathItem } from "./openapi/types.js";
import {
  isBrowserNavigation,
  originalUrlOf,
  portalLocation,
  portalOf,
  sendToPortal,
} from "./portal-redirect.js";
import { RestError } from "./rest-error.js";
import { callHot, type NodeRequest, type NodeResponse, type RestDeps } from "./rest-handler.js";
import { type StepUpQuery, stepUpChallenge, stepUpQuery } from "./step-up.js";

/** A header value Node will send: anything outside visible ASCII is percent-encoded. */
function headerValue(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, (char) => encodeURIComponent(char));
}

/**
 * `GET /auth/verify`, the forward-auth endpoint of reverse proxies (nginx `auth_request`,
 * Traefik `forwardAuth`, Caddy `forward_auth`): 200 with an empty body and the identity in
 * `X-Auth-User`, `X-Auth-Email`, `X-Auth-Roles` (comma-separated), `X-Auth-Session`,
 * `X-Auth-AAL` (1 or 2) and `X-Auth-Time` (the last login, epoch seconds), or 401 with
 * `{error, message}` (and an RFC 9470 challenge when `?max_age=` or `?aal=` asked for
 * more than the session has). Any method is answered the same way, since proxies differ in
 * the method they ask with (nginx, Traefik and Caddy ask with GET, others may not).
 *
 * With `?rd=<portal URL>` (a safe redirect target, else 400), a refused browser navigation
 * (GET or HEAD asking for `text/html`) is sent to the portal instead, with the original URL
 * as the portal's `rd` and, after a failed step-up, the `aal` and `max_age` asked: 302 for
 * Traefik and Caddy, 401 + `Location` when the request carries nginx's `X-Original-URL`
 * (see {@link sendToPortal}). API clients still get the 401. nginx states the browser's
 * method in `X-Forwarded-Method`, as Traefik and Caddy do, since its subrequest is a GET.
 */
export async function serveForwardAuth(
  deps: RestDeps,
  redirects: RedirectPolicy,
  request: NodeRequest,
  response: NodeResponse,
): Promise<void> {
  const stepUp = stepUpQuery(request.url);
  const portal = portalOf(request.url, redirects);
  try {
    await answerIdentity(deps, stepUp, request, response);
  } catch (error) {
    if (
      portal === undefined ||
      !(error instanceof RestError) ||
      error.status !== 401 ||
      !isBrowserNavigation(request)
    ) {
      throw error;
    }
    const failedStepUp = error.code === "STEP_UP_REQUIRED" ? stepUp : undefined;
    const original = originalUrlOf(request, redirects);
    sendToPortal(request, response, error, portalLocation(portal, original, failedStepUp));
  }
}

/** 200 with the identity of the request's session, or a RestError 401 saying why not. */
async function answerIdentity(
  deps: RestDeps,
  stepUp: StepUpQuery,
  request: NodeRequest,
  response: NodeResponse,
): Promise<void> {
  const token = carriedToken(nodeHeaderLookup(request.headers), request.headers.cookie);
  if (token === "" && request.headers["x-api-key"] === undefined) {
    throw new RestError(401, "UNAUTHENTICATED", "Missing session token", {
      "www-authenticate": 'Bearer realm="keycard"',
    });
  }
  const answer = await callHot(
    deps,
    AuthService.method.validate,
    create(ValidateRequestSchema, {
      token,
      maxAuthAgeSeconds: stepUp.maxAuthAgeSeconds,
      minAal: stepUp.minAal,
    }),
    request,
  );
  if (!answer.active) {
    const [error, message] = inactiveRefusal(domainReasonOf(answer.reason));
    const challenge =
      answer.reason === InactiveReason.STEP_UP_REQUIRED
        ? stepUpChallenge(stepUp)
        : 'Bearer realm="keycard", error="invalid_token"';
    throw new RestError(401, error, message, { "www-authenticate": challenge });
  }
  response.writeHead(200, {
    "x-auth-user": headerValue(answer.subject),
    "x-auth-email": headerValue(answer.email),
    "x-auth-roles": headerValue(answer.roles.join(",")),
    "x-auth-session": headerValue(answer.sessionId),
    "x-auth-aal": String(answer.aal),
    "x-auth-time": String(answer.authTime?.seconds ?? 0),
    "cache-control": "no-store",
    "content-length": 0,
  });
  response.end();
}

/** A header of the identity forward auth answers. */
function identityHeader(description: string): { description: string; schema: { type: string } } {
  return { description, schema: { type: "string" } };
}

/** `/auth/verify` in the OpenAPI document. */
export const forwardAuthDoc: PathItem = {
  get: {
    operationId: "forwardAuth",
    summary: "Forward auth for reverse proxies: is the request's session good?",
    description:
      "For nginx `auth_request`, Traefik `forwardAuth` and Caddy `forward_auth`: 200 with an empty body and the identity in `X-Auth-*` headers, or 401 (with an RFC 9470 challenge when `max_age` or `aal` asked for more than the session has). Reads `Authorization: Bearer`, `X-Session-Token`, the `auth-token` cookie, or in hybrid mode `X-API-Key` + `X-TOTP-Code`. Any method is answered alike, since proxies differ in the method they ask with.\n\nWith `rd` (the sign-in portal's URL, such as auth.example.com's `/ui/`), a refused browser navigation (GET or HEAD by `X-Forwarded-Method` when present, `Accept` naming `text/html`) is sent to the portal with `rd` set to the original URL (`X-Original-URL`, or `X-Forwarded-Proto` + `X-Forwarded-Host` + `X-Forwarded-Uri`; left out when absent or not under `ALLOWED_REDIRECT_DOMAINS`) and, when a step-up failed, the `aal` and `max_age` asked: a 302 for Traefik and Caddy, or, when the request carries `X-Original-URL` (nginx, whose `auth_request` takes any status but 2xx, 401 and 403 for an error), the 401 with a `Location` header that the proxy's `error_page 401` turns into a 302. API clients get the 401.",
    tags: ["Forward auth"],
    security: [
      { sessionBearer: [] },
      { sessionToken: [] },
      { sessionCookie: [] },
      { apiKey: [], totpCode: [] },
      { apiKey: [] },
    ],
    parameters: [
      {
        name: "max_age",
        in: "query",
        required: false,
        description: "Step-up: the most seconds since the person last proved themselves.",
        schema: { type: "integer", minimum: 0, maximum: 2_147_483_647 },
      },
      {
        name: "aal",
        in: "query",
        required: false,
        description: "Step-up: the least assurance level, 1 or 2.",
        schema: { type: "integer", minimum: 0, maximum: 2 },
      },
      {
        name: "rd",
        in: "query",
        required: false,
        description:
          "The sign-in portal to send refused browsers to: a URL under ALLOWED_REDIRECT_DOMAINS or a path on keycard.",
        schema: { type: "string", maxLength: 2048 },
      },
    ],
    responses: {
      "200": {
        description: "The session is good; the identity is in the headers.",
        headers: {
          "X-Auth-User": identityHeader("The user's id."),
          "X-Auth-Email": identityHeader("The user's email address."),
          "X-Auth-Roles": identityHeader("The user's roles, comma-separated."),
          "X-Auth-Session": identityHeader("The session's id."),
          "X-Auth-AAL": identityHeader("The session's assurance level, 1 or 2."),
          "X-Auth-Time": identityHeader("When the person last proved themselves, epoch seconds."),
        },
      },
      "302": {
        description:
          "A refused browser navigation, sent to the portal given in `rd` (not when the request carries `X-Original-URL`: then the 401 carries the `Location`).",
        headers: {
          Location: identityHeader(
            "The portal, with `rd` and after a failed step-up `aal` and `max_age`.",
          ),
          "WWW-Authenticate": identityHeader("The Bearer challenge the 401 would carry."),
        },
      },
      "400": jsonResponse(
        "`max_age` or `aal` is not a whole number in range, or `rd` is not a safe redirect target.",
        schemaRef(errorSchemaName),
      ),
      "401": jsonResponse(
        "No session, or not a good one (`SESSION_INVALID`, `SESSION_EXPIRED`, `SESSION_REVOKED`, `STEP_UP_REQUIRED`, ...).",
        schemaRef(errorSchemaName),
        {
          "WWW-Authenticate": identityHeader("A Bearer challenge (RFC 6750, RFC 9470)."),
          Location: identityHeader(
            "With `rd`, for a browser navigation that carries `X-Original-URL` (nginx): the portal to redirect to.",
          ),
        },
      ),
      ...errorResponses([429, 503]),
    },
  },
};
