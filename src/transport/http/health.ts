import { timestampMs } from "@bufbuild/protobuf/wkt";
import { AuthService } from "../../../gen/keycard/v1/auth_service_pb.js";
import { presentedToken } from "../credentials.js";
import { constant, instantOrNull, object, text } from "./openapi/json-schema.js";
import { errorResponses, jsonResponse } from "./openapi/responses.js";
import { sessionSecurity } from "./openapi/security.js";
import type { PathItem } from "./openapi/types.js";
import { RestError } from "./rest-error.js";
import {
  callFromRest,
  headersOf,
  type NodeRequest,
  type NodeResponse,
  type RestDeps,
  sendJson,
} from "./rest-handler.js";

/**
 * `GET /health`: 200 when the service is up. With a session token it also checks the
 * token, answering 401 with the same `{error, message}` as every other route
 * ("Session token expired", "Invalid session token", ...), as reference 000's clients
 * expect.
 */
export async function serveHealth(
  deps: RestDeps,
  request: NodeRequest,
  response: NodeResponse,
): Promise<void> {
  if (request.method !== "GET") {
    throw new RestError(405, "METHOD_NOT_ALLOWED", "Use GET for /health", { allow: "GET" });
  }
  const headers = headersOf(request);
  if (presentedToken(headers) === "" && !headers.has("x-api-key")) {
    sendJson(response, 200, { status: "ok" });
    return;
  }
  const me = await callFromRest(deps, AuthService.method.getMe, {}, request, response);
  const expiresAt = me.session?.expiresAt;
  sendJson(response, 200, {
    status: "ok",
    user: me.user?.displayName ?? "",
    session_id: me.session?.id ?? "",
    expires_at: expiresAt === undefined ? null : new Date(timestampMs(expiresAt)).toISOString(),
  });
}

/** `/health` in the OpenAPI document. */
export const healthDoc: PathItem = {
  get: {
    operationId: "health",
    summary: "Up, and with a token, whether the token is good (reference 000).",
    description:
      'Without a credential: 200 `{"status": "ok"}`. With one, it is checked too: 401 with keycard\'s error body when it is bad, expired or revoked.',
    tags: ["Probes"],
    security: [...sessionSecurity(true), {}],
    responses: {
      "200": jsonResponse(
        "Up; with a token, the token's session too.",
        object(
          {
            status: constant("ok"),
            user: text("The display name of the token's user."),
            session_id: text("The token's session."),
            expires_at: instantOrNull("When that session ends."),
          },
          ["user", "session_id", "expires_at"],
        ),
      ),
      ...errorResponses([401, 429, 503]),
    },
  },
};
