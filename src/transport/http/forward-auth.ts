import { create } from "@bufbuild/protobuf";
import { AuthService, ValidateRequestSchema } from "../../../gen/keycard/v1/auth_service_pb.js";
import { InactiveReason } from "../../../gen/keycard/v1/session_pb.js";
import { inactiveRefusal } from "../../service/session-judge.js";
import { carriedToken, nodeHeaderLookup } from "../credentials.js";
import { domainReasonOf } from "../handlers/auth-service-impl.js";
import { errorResponses, errorSchemaName, jsonResponse, schemaRef } from "./openapi/responses.js";
import type { PathItem } from "./openapi/types.js";
import { RestError } from "./rest-error.js";
import { callHot, type NodeRequest, type NodeResponse, type RestDeps } from "./rest-handler.js";
import { stepUpChallenge, stepUpQuery } from "./step-up.js";

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
 * more than the session has). Any method is answered the same way, because nginx sends
 * its subrequest with the method of the original request.
 */
export async function serveForwardAuth(
  deps: RestDeps,
  request: NodeRequest,
  response: NodeResponse,
): Promise<void> {
  const token = carriedToken(nodeHeaderLookup(request.headers), request.headers.cookie);
  if (token === "" && request.headers["x-api-key"] === undefined) {
    throw new RestError(401, "UNAUTHENTICATED", "Missing session token", {
      "www-authenticate": 'Bearer realm="keycard"',
    });
  }
  const stepUp = stepUpQuery(request.url);
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
      "For nginx `auth_request`, Traefik `forwardAuth` and Caddy `forward_auth`: 200 with an empty body and the identity in `X-Auth-*` headers, or 401 (with an RFC 9470 challenge when `max_age` or `aal` asked for more than the session has). Reads `Authorization: Bearer`, `X-Session-Token`, the `auth-token` cookie, or in hybrid mode `X-API-Key` + `X-TOTP-Code`. Any method is answered alike, since nginx sends its subrequest with the original request's method.",
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
      "400": jsonResponse(
        "`max_age` or `aal` is not a whole number in range.",
        schemaRef(errorSchemaName),
      ),
      "401": jsonResponse(
        "No session, or not a good one (`SESSION_INVALID`, `SESSION_EXPIRED`, `SESSION_REVOKED`, `STEP_UP_REQUIRED`, ...).",
        schemaRef(errorSchemaName),
        { "WWW-Authenticate": identityHeader("A Bearer challenge (RFC 6750, RFC 9470).") },
      ),
      ...errorResponses([429, 503]),
    },
  },
};
