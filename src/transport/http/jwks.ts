import type { JwtKeys } from "../../service/signing-keyring.js";
import type { NodeRequest, NodeResponse } from "../server/front-door.js";
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
