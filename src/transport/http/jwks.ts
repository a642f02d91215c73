import type { JwtKeys } from "../../service/signing-keyring.js";
import type { NodeRequest, NodeResponse } from "../server/front-door.js";
import { object, text, texts } from "./openapi/json-schema.js";
import { errorResponses, jsonResponse } from "./openapi/responses.js";
import type { PathItem } from "./openapi/types.js";
import { onlyGetOrHead } from "./rest-error.js";
import { sendJson } from "./rest-handler.js";

/** How long verifiers may keep the JWKS: well under how long a key is published before it signs. */
const jwksMaxAgeSeconds = 300;

/** What the `/.well-known/` documents say: the JWT issuer and its keys. */
export interface WellKnownDeps {
  readonly keys: JwtKeys;
  /** JWT_ISSUER: the `iss` of keycard's JWTs. */
  readonly issuer: string;
}

/**
 * `GET /.well-known/jwks.json`: the public keys of keycard's JWTs (RFC 7517), those about
 * to sign included, for any verifier to cache `jwksMaxAgeSeconds`. Public, so any origin
 * may read it. Empty with HS256: a shared secret is never published.
 */
export async function serveJwks(
  deps: WellKnownDeps,
  request: NodeRequest,
  response: NodeResponse,
): Promise<void> {
  onlyGetOrHead(request.method, "/.well-known/jwks.json");
  sendJson(
    response,
    200,
    { keys: await deps.keys.publicKeys() },
    {
      "cache-control": `public, max-age=${jwksMaxAgeSeconds}`,
      "access-control-allow-origin": "*",
    },
  );
}

/**
 * `GET /.well-known/openid-configuration`: just enough OpenID Connect discovery for JWT
 * libraries to find the keys: the issuer and `jwks_uri`, plus the introspection endpoint
 * and the `acr` values keycard's tokens carry. The URLs are under JWT_ISSUER when it is an
 * https or http URL, else under the host the request named (not cached then, since a
 * request chooses its Host).
 */
export function serveOpenIdConfiguration(
  deps: WellKnownDeps,
  request: NodeRequest,
  response: NodeResponse,
): void {
  onlyGetOrHead(request.method, "/.well-known/openid-configuration");
  const issuerIsUrl = /^https?:\/\//.test(deps.issuer);
  const base = issuerIsUrl ? deps.issuer.replace(/\/+$/, "") : requestOrigin(request);
  sendJson(
    response,
    200,
    {
      issuer: deps.issuer,
      jwks_uri: `${base}/.well-known/jwks.json`,
      introspection_endpoint: `${base}/oauth2/introspect`,
      acr_values_supported: ["aal1", "aal2"],
      claims_supported: [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "nbf",
        "jti",
        "sid",
        "auth_time",
        "amr",
        "acr",
        "roles",
        "email",
      ],
    },
    issuerIsUrl ? { "cache-control": `public, max-age=${jwksMaxAgeSeconds}` } : {},
  );
}

/** The origin a request addressed: its scheme (TLS or not) and Host. */
function requestOrigin(request: NodeRequest): string {
  const encrypted = "encrypted" in request.socket && request.socket.encrypted === true;
  const host = request.headers.host ?? request.headers[":authority"] ?? "localhost";
  return `${encrypted ? "https" : "http"}://${host}`;
}

const jwk = {
  ...object(
    {
      kty: text("The key type: `OKP` (Ed25519) or `EC` (P-256)."),
      kid: text("The key's id (its RFC 7638 thumbprint), as JWT headers name it."),
      alg: text("`EdDSA` or `ES256`."),
      use: text("`sig`."),
      crv: text("The curve."),
      x: text("The public key (base64url)."),
      y: text("The public key's y coordinate (EC only)."),
    },
    ["alg", "use", "crv", "x", "y"],
    "A public key (RFC 7517).",
  ),
  additionalProperties: { type: "string" },
};

/** `/.well-known/jwks.json` in the OpenAPI document. */
export const jwksDoc: PathItem = {
  get: {
    operationId: "jwks",
    summary: "The public keys of keycard's JWTs (RFC 7517), for offline verifiers.",
    description: `Those about to sign included; cacheable for ${jwksMaxAgeSeconds} seconds, readable from any origin. Empty with HS256 (JWT_SECRET): a shared secret is never published.`,
    tags: ["Discovery"],
    responses: {
      "200": jsonResponse("The key set.", object({ keys: { type: "array", items: jwk } })),
      ...errorResponses([503]),
    },
  },
};

/** `/.well-known/openid-configuration` in the OpenAPI document. */
export const openIdConfigurationDoc: PathItem = {
  get: {
    operationId: "openidConfiguration",
    summary: "Just enough OpenID Connect discovery for JWT libraries to find the keys.",
    tags: ["Discovery"],
    responses: {
      "200": jsonResponse(
        "The issuer and where its keys are.",
        object({
          issuer: text("JWT_ISSUER: the `iss` of keycard's JWTs."),
          jwks_uri: text("The URL of the key set.", { format: "uri" }),
          introspection_endpoint: text("The URL of RFC 7662 introspection.", {
            format: "uri",
          }),
          acr_values_supported: texts("The `acr` values keycard's tokens carry."),
          claims_supported: texts("The claims of keycard's JWTs."),
        }),
      ),
    },
  },
};
