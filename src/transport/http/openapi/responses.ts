import type { JsonObject } from "@bufbuild/protobuf";
import type { Schema } from "./types.js";

/** A `$ref` to a component schema. */
export function schemaRef(name: string): Schema {
  return { $ref: `#/components/schemas/${name}` };
}

/** A response with a JSON body of the given schema. */
export function jsonResponse(
  description: string,
  schema: Schema,
  headers: Record<string, JsonObject> = {},
): JsonObject {
  return {
    description,
    ...(Object.keys(headers).length === 0 ? {} : { headers }),
    content: { "application/json": { schema } },
  };
}

/** A response header holding a whole number. */
export function integerHeader(description: string): JsonObject {
  return { description, schema: { type: "integer", minimum: 0 } };
}

/** The headers a throttled answer may carry, whatever its body. */
export const rateLimitHeaders: Record<string, JsonObject> = {
  "Retry-After": integerHeader("Seconds to wait before the same request may succeed."),
  "X-RateLimit-Limit": integerHeader("Requests the limit allows in its window."),
  "X-RateLimit-Remaining": integerHeader("Requests left in the current window."),
  "X-RateLimit-Reset": integerHeader("When the window resets, in seconds since the epoch."),
};

/** The name of the error body schema of keycard's own paths. */
export const errorSchemaName = "Error";

/** The body of every refusal on keycard's own paths (not the compatibility profiles). */
export const errorSchema: Schema = {
  type: "object",
  description:
    "A refused request. Switch on `error`, not on `message`, which is for people and may change.",
  properties: {
    error: {
      type: "string",
      description:
        "The reason: the name of a `keycard.v1.ErrorReason` value (see that schema for when each is returned and what to do), such as `INVALID_CREDENTIALS`; for a failure before any call runs, `NOT_FOUND`, `METHOD_NOT_ALLOWED`, `PAYLOAD_TOO_LARGE` or `INVALID_ARGUMENT`; otherwise the status code's name, such as `UNAUTHENTICATED`. New reasons may be added: treat an unknown one by the HTTP status alone.",
    },
    message: { type: "string", description: "A short sentence for people." },
    retry_after_seconds: {
      type: "integer",
      minimum: 0,
      description: "On a 429 only: seconds to wait before the same request may succeed.",
    },
  },
  required: ["error", "message"],
};

/** What each error status means on keycard's own paths. */
const errorStatuses: Readonly<Record<number, string>> = {
  400: "The request is malformed (`INVALID_ARGUMENT`, naming the field: a body that is not a JSON object, an unknown body field, a wrong type, a value against the field's rules), or a precondition failed (`TOTP_NOT_ENROLLED`, `SESSION_REQUIRED`, `ENCRYPTION_KEY_MISSING`, `SIGNING_KEY_FIXED`).",
  401: "The credential is missing, wrong, expired or revoked, or the session must be proven again (`SESSION_INVALID`, `SESSION_EXPIRED`, `SESSION_REVOKED`, `INVALID_CREDENTIALS`, `TOTP_REQUIRED`, `TOTP_INVALID`, `STEP_UP_REQUIRED`, `ADMIN_TOKEN_REQUIRED`, ...).",
  403: "The caller is known but not allowed (`PERMISSION_DENIED`).",
  404: "The user, API key or session named does not exist or is not the caller's (`NOT_FOUND`).",
  409: "A user with this email already exists (`USER_EXISTS`).",
  413: "The body is larger than MAX_BODY_BYTES (`PAYLOAD_TOO_LARGE`).",
  429: "Too many requests or failed attempts (`RATE_LIMITED`): wait `Retry-After` seconds.",
  503: "keycard's store did not answer (`STORE_UNAVAILABLE`): retry shortly, with backoff.",
};

/** The error statuses keycard's own paths document, in order. */
export const documentedErrorStatuses: readonly number[] = Object.keys(errorStatuses).map(Number);

/** The components.responses of keycard's error statuses: `Error400`, `Error401`, ... */
export function errorResponseComponents(): Record<string, JsonObject> {
  return Object.fromEntries(
    documentedErrorStatuses.map((status) => [
      `Error${status}`,
      jsonResponse(
        errorStatuses[status] ?? "",
        schemaRef(errorSchemaName),
        status === 429 ? rateLimitHeaders : {},
      ),
    ]),
  );
}

/** References to the error responses of the given statuses, by status. */
export function errorResponses(statuses: Iterable<number>): Record<string, JsonObject> {
  return Object.fromEntries(
    [...new Set(statuses)]
      .filter((status) => errorStatuses[status] !== undefined)
      .sort((a, b) => a - b)
      .map((status) => [String(status), { $ref: `#/components/responses/Error${status}` }]),
  );
}
