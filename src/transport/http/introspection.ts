import { createHash, timingSafeEqual } from "node:crypto";
import { create, type JsonValue } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { AuthService, ValidateRequestSchema } from "../../../gen/keycard/v1/auth_service_pb.js";
import { CredentialKind } from "../../../gen/keycard/v1/session_pb.js";
import { aalOf, acrOf } from "../../domain/assurance.js";
import { epochSeconds } from "../../domain/clock.js";
import { bearerOf } from "../credentials.js";
import { readBody } from "./body.js";
import { constant, integer, object, text, texts } from "./openapi/json-schema.js";
import { errorResponses, jsonResponse } from "./openapi/responses.js";
import type { PathItem } from "./openapi/types.js";
import {
  callHot,
  type NodeRequest,
  type NodeResponse,
  type RestDeps,
  sendJson,
} from "./rest-handler.js";

/** The `client_id` introspection answers carry: every token is issued by keycard itself. */
const clientId = "keycard";

/** An OAuth 2.0 error answer (RFC 6749 section 5.2), as RFC 7662 uses it. */
class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(description);
  }
}

/** Compares two secrets in time that depends on neither (both are hashed to one length). */
function sameSecret(presented: string, expected: string): boolean {
  const digest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The secret an introspection caller presents, and the scheme it used. */
function presentedSecret(request: NodeRequest): { scheme: "Bearer" | "Basic"; secret: string } {
  const authorization = request.headers.authorization ?? "";
  const basic = /^Basic\s+(\S+)\s*$/i.exec(authorization);
  if (basic?.[1] !== undefined) {
    const decoded = Buffer.from(basic[1], "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return { scheme: "Basic", secret: colon === -1 ? "" : decoded.slice(colon + 1) };
  }
  return { scheme: "Bearer", secret: bearerOf(authorization) };
}

/**
 * Refuses callers without INTROSPECTION_SECRET (none are accepted when it is not set); a
 * wrong secret counts as a guess against the caller's address, which then has to wait.
 */
async function authenticateCaller(
  deps: RestDeps,
  request: NodeRequest,
  expected: string | undefined,
): Promise<void> {
  const { scheme, secret } = presentedSecret(request);
  if (
    expected === undefined ||
    secret === "" ||
    !(await deps.secretGate.prove("introspection_secret", deps.clientOf(request), () =>
      sameSecret(secret, expected),
    ))
  ) {
    throw new OAuthError(401, "invalid_client", "Client authentication failed", {
      "www-authenticate": `${scheme} realm="keycard"`,
    });
  }
}

/**
 * Parses an `application/x-www-form-urlencoded` body strictly: a malformed percent escape
 * or a repeated parameter is an error (RFC 6749 section 3.2), not a silent guess.
 */
function parseForm(request: NodeRequest, body: Buffer): Map<string, string> {
  const type = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    throw new OAuthError(
      400,
      "invalid_request",
      "The body must be application/x-www-form-urlencoded",
    );
  }
  const form = new Map<string, string>();
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    throw new OAuthError(400, "invalid_request", "The body is not valid UTF-8");
  }
  for (const pair of text.split("&")) {
    if (pair === "") {
      continue;
    }
    const equals = pair.indexOf("=");
    const decode = (part: string): string => decodeURIComponent(part.replaceAll("+", " "));
    let name: string;
    let value: string;
    try {
      name = decode(equals === -1 ? pair : pair.slice(0, equals));
      value = equals === -1 ? "" : decode(pair.slice(equals + 1));
    } catch {
      throw new OAuthError(400, "invalid_request", "The body is not a valid form");
    }
    if (form.has(name)) {
      throw new OAuthError(400, "invalid_request", `Parameter ${name} is repeated`);
    }
    form.set(name, value);
  }
  return form;
}

/** The RFC 7662 answer for one token: its claims when active, exactly `{active: false}` otherwise. */
async function introspect(deps: RestDeps, request: NodeRequest, token: string): Promise<JsonValue> {
  // Validate as the token under test, never with the caller's own credentials.
  const answer = await callHot(
    deps,
    AuthService.method.validate,
    create(ValidateRequestSchema, { token }),
    request,
    {},
  );
  if (!answer.active) {
    return { active: false };
  }
  const claims: Record<string, JsonValue> = {
    active: true,
    sub: answer.subject,
    ...(answer.expiresAt === undefined ? {} : { exp: epochSeconds(timestampMs(answer.expiresAt)) }),
    ...(answer.issuedAt === undefined ? {} : { iat: epochSeconds(timestampMs(answer.issuedAt)) }),
    scope: answer.roles.join(" "),
    client_id: clientId,
    username: answer.email,
    token_type: answer.kind === CredentialKind.SESSION ? "session" : "api_key",
  };
  if (answer.sessionId !== "") {
    claims.sid = answer.sessionId;
  }
  if (answer.authTime !== undefined) {
    claims.auth_time = epochSeconds(timestampMs(answer.authTime));
  }
  claims.amr = [...answer.amr];
  claims.acr = acrOf(aalOf(answer.aal));
  return claims;
}

/**
 * `POST /oauth2/introspect` (RFC 7662): resource servers send a form-encoded `token`
 * (`token_type_hint` is accepted and ignored: keycard tells its token kinds apart itself)
 * and authenticate with INTROSPECTION_SECRET, as a bearer token or as the HTTP Basic
 * password. Active tokens answer their claims; every inactive one answers exactly
 * `{"active": false}`, so the answer never says why.
 */
export async function serveIntrospection(
  deps: RestDeps,
  secret: string | undefined,
  request: NodeRequest,
  response: NodeResponse,
): Promise<void> {
  try {
    if (request.method !== "POST") {
      throw new OAuthError(405, "invalid_request", "Use POST for /oauth2/introspect", {
        allow: "POST",
      });
    }
    await authenticateCaller(deps, request, secret);
    const form = parseForm(request, await readBody(request, deps.maxBodyBytes));
    const token = form.get("token") ?? "";
    if (token === "") {
      throw new OAuthError(400, "invalid_request", "The token parameter is required");
    }
    sendJson(response, 200, await introspect(deps, request, token), { pragma: "no-cache" });
  } catch (error) {
    if (!(error instanceof OAuthError)) {
      throw error;
    }
    sendJson(
      response,
      error.status,
      { error: error.error, error_description: error.description },
      error.headers,
    );
  }
}

/** An RFC 7662 answer for an active token, as {@link introspect} builds it. */
const activeClaims = object(
  {
    active: constant(true),
    sub: text("The user's id."),
    exp: integer("When the token stops working, epoch seconds."),
    iat: integer("When it was issued, epoch seconds."),
    scope: text("The user's roles, space-separated."),
    client_id: constant(clientId),
    username: text("The user's email address."),
    token_type: { enum: ["session", "api_key"], description: "Which kind of token it is." },
    sid: text("The session's id (sessions only)."),
    auth_time: integer("When the person last proved themselves, epoch seconds."),
    amr: texts("How they proved themselves (RFC 8176)."),
    acr: text("The assurance level as `aal1` or `aal2`."),
  },
  ["exp", "iat", "sid", "auth_time"],
);

const oauthError = object({
  error: text("The RFC 6749 error code: `invalid_request` or `invalid_client`."),
  error_description: text("A short sentence for people."),
});

/** `/oauth2/introspect` in the OpenAPI document. */
export const introspectionDoc: PathItem = {
  post: {
    operationId: "introspect",
    summary: "RFC 7662 token introspection for resource servers.",
    description:
      'Resource servers authenticate with INTROSPECTION_SECRET (bearer, or the HTTP Basic password) and send a form-encoded `token`. An active token answers its claims; every inactive one answers exactly `{"active": false}`, never why. A wrong secret counts against the caller\'s address.',
    tags: ["Introspection"],
    security: [{ introspectionBearer: [] }, { introspectionBasic: [] }],
    requestBody: {
      required: true,
      content: {
        "application/x-www-form-urlencoded": {
          schema: object(
            {
              token: text("The token to introspect: a session token or an API key."),
              token_type_hint: text("Accepted and ignored: keycard tells its tokens apart."),
            },
            ["token_type_hint"],
          ),
        },
      },
    },
    responses: {
      "200": jsonResponse("The token's claims, or that it is not active.", {
        oneOf: [activeClaims, object({ active: constant(false) })],
      }),
      "400": jsonResponse("Not a form, a repeated parameter, or no `token`.", oauthError),
      "401": jsonResponse("Missing or wrong INTROSPECTION_SECRET (`invalid_client`).", oauthError, {
        "WWW-Authenticate": { description: "The scheme to use.", schema: { type: "string" } },
      }),
      ...errorResponses([413, 429, 503]),
    },
  },
};
