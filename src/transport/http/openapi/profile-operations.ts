import type { JsonObject } from "@bufbuild/protobuf";
import type { Carrier, Profile, ProfileRoute } from "../profiles/profile.js";
import { jsonResponse, rateLimitHeaders, schemaRef } from "./responses.js";
import type { HttpMethod, Operation } from "./types.js";

/** The credentials each carrier reads, as security alternatives. */
const carrierSecurity: Readonly<Record<Carrier, NonNullable<Operation["security"]>>> = {
  none: [],
  bearer: [{ sessionBearer: [] }],
  cookie: [{ sessionCookie: [] }],
  "cookie-or-bearer": [{ sessionCookie: [] }, { sessionBearer: [] }],
};

/** The name of a profile's error schema among the components. */
export function profileErrorSchemaName(profile: Profile): string {
  return `${profile.name}.Error`;
}

/** `api-v1-auth` and `/api/v1/auth/login` as `apiV1Auth_login`. */
function operationIdOf(profile: Profile, route: ProfileRoute): string {
  const name = profile.name.replace(/-(\w)/g, (_, letter: string) => letter.toUpperCase());
  return `${name}_${route.path.split("/").at(-1) ?? ""}`;
}

function responsesOf(profile: Profile, route: ProfileRoute): Record<string, JsonObject> {
  const cookie: Record<string, JsonObject> =
    profile.cookieName === undefined
      ? {}
      : {
          "Set-Cookie": {
            description: `The \`${profile.cookieName}\` cookie, when the route sets, renews or clears it.`,
            schema: { type: "string" },
          },
        };
  const error = schemaRef(profileErrorSchemaName(profile));
  const refusals = route.doc.errors.map((status) => [
    String(status),
    jsonResponse(`Refused (${status}).`, error, status === 429 ? rateLimitHeaders : {}),
  ]);
  const answers = Object.entries(route.doc.answers).map(([status, answer]) => [
    status,
    jsonResponse(answer.description, answer.schema, status === "200" ? cookie : {}),
  ]);
  return Object.fromEntries([...refusals, ...answers]);
}

/**
 * The operations of the enabled compatibility profiles, from their route tables: method,
 * path, the credential the carrier reads, and the bodies and statuses each route's `doc`
 * declares next to it.
 */
export function profileOperations(profiles: readonly Profile[]): [string, HttpMethod, Operation][] {
  return profiles.flatMap((profile) =>
    profile.routes.map((route): [string, HttpMethod, Operation] => {
      const { doc } = route;
      const operation: Operation = {
        operationId: operationIdOf(profile, route),
        summary: doc.summary,
        description: doc.description,
        tags: [profile.name],
        security: carrierSecurity[route.carrier],
        ...(doc.body === undefined
          ? {}
          : {
              requestBody: {
                required: (route.required ?? []).length > 0,
                content: { "application/json": { schema: doc.body } },
              },
            }),
        responses: responsesOf(profile, route),
      };
      return [route.path, route.method.toLowerCase() as HttpMethod, operation];
    }),
  );
}
