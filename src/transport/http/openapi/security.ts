import type { JsonObject } from "@bufbuild/protobuf";
import { sessionCookieName } from "../../credentials.js";
import type { Operation } from "./types.js";

/** The credentials keycard accepts, as OpenAPI security schemes. */
export const securitySchemes: Record<string, JsonObject> = {
  sessionBearer: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "<prefix>_sess_<43 base64url characters>",
    description: "A session token from Login, as `Authorization: Bearer <token>`.",
  },
  sessionToken: {
    type: "apiKey",
    in: "header",
    name: "X-Session-Token",
    description: "A session token from Login, as reference 000's clients send it.",
  },
  apiKey: {
    type: "apiKey",
    in: "header",
    name: "X-API-Key",
    description:
      "Hybrid mode (AUTH_MODE=hybrid) only: an API key on each request instead of a session token, with `X-TOTP-Code` unless the key skips TOTP. Methods that need a session refuse it (`SESSION_REQUIRED`).",
  },
  totpCode: {
    type: "apiKey",
    in: "header",
    name: "X-TOTP-Code",
    description:
      "Hybrid mode only: the current TOTP code of the API key's user; each is used once.",
  },
  adminToken: {
    type: "http",
    scheme: "bearer",
    description: "The administrator token, KEYCARD_ADMIN_TOKEN, as `Authorization: Bearer`.",
  },
  sessionCookie: {
    type: "apiKey",
    in: "cookie",
    name: sessionCookieName,
    description:
      "The HttpOnly session cookie the api-v1-auth profile sets; forward auth reads it too. A state-changing request carrying it must come from an allowed origin (ALLOWED_ORIGINS).",
  },
  introspectionBearer: {
    type: "http",
    scheme: "bearer",
    description: "INTROSPECTION_SECRET, for resource servers calling /oauth2/introspect.",
  },
  introspectionBasic: {
    type: "http",
    scheme: "basic",
    description: "INTROSPECTION_SECRET as the HTTP Basic password (any client id).",
  },
};

type Security = NonNullable<Operation["security"]>;

/** No credential: the operation is public, or its body carries its credential. */
export const noCredential: Security = [];

/** A session token, either header; in hybrid mode an API key (and TOTP code) instead. */
export function sessionSecurity(hybrid: boolean): Security {
  return [
    { sessionBearer: [] },
    { sessionToken: [] },
    ...(hybrid ? [{ apiKey: [], totpCode: [] }, { apiKey: [] }] : []),
  ];
}

/** The administrator token. */
export const adminSecurity: Security = [{ adminToken: [] }];
