import type { JsonObject } from "@bufbuild/protobuf";
import { AdminService } from "../../../../gen/keycard/v1/admin_service_pb.js";
import { AuthService } from "../../../../gen/keycard/v1/auth_service_pb.js";
import { ErrorReasonSchema } from "../../../../gen/keycard/v1/error_reason_pb.js";
import type { Profile } from "../profiles/profile.js";
import type { RestRoute } from "../rest-routes.js";
import { enumSchema, protoDescription, SchemaComponents } from "./message-schema.js";
import { profileErrorSchemaName, profileOperations } from "./profile-operations.js";
import { errorResponseComponents, errorSchema, errorSchemaName } from "./responses.js";
import { restOperations } from "./rest-operations.js";
import { securitySchemes } from "./security.js";
import type { DocumentedPath, OpenApiDocument, PathItem } from "./types.js";

/** What the document describes: exactly the paths this server serves. */
export interface DocumentSources {
  /** The REST routes compiled from the proto's google.api.http annotations. */
  readonly routes: readonly RestRoute[];
  /** The compatibility profiles HTTP_PROFILES switches on. */
  readonly profiles: readonly Profile[];
  /** Every other path, with its hand-written entry. */
  readonly paths: readonly DocumentedPath[];
  /** AUTH_MODE=hybrid: an API key (and TOTP code) authenticates user calls too. */
  readonly hybrid: boolean;
}

const description = `keycard's HTTP API: its own REST paths, generated from the google.api.http annotations of \`proto/keycard/v1\` by the code that serves them (every RPC is also served over Connect, gRPC and gRPC-Web), the enabled compatibility profiles, and the paths for proxies, resource servers and operators.

REST bodies and answers are protobuf JSON with proto (snake_case) field names; a body may use JSON (lowerCamelCase) names too. Answers write every field without explicit presence, defaults included; enums are value names, 64-bit integers strings, timestamps RFC 3339.`;

/** Tags of the paths that are not a service or a profile. */
const fixedTags: Readonly<Record<string, string>> = {
  "Forward auth": "For reverse proxies that ask keycard about each request.",
  Portal: "The way back from keycard's sign-in portal to the page a browser was going to.",
  Introspection: "RFC 7662, for resource servers.",
  Discovery: "What offline JWT verifiers need.",
  Probes: "For orchestrators and load balancers.",
  Metrics: "For Prometheus.",
  Documentation: "This document, and a page that shows it.",
};

function tagsOf(paths: Record<string, PathItem>, profiles: readonly Profile[]): JsonObject[] {
  const described = new Map<string, string>([
    [AuthService.name, protoDescription(AuthService.typeName)],
    [AdminService.name, protoDescription(AdminService.typeName)],
    ...profiles.map((profile): [string, string] => [profile.name, profile.description]),
    ...Object.entries(fixedTags),
  ]);
  const used = new Set(
    Object.values(paths).flatMap((item) => Object.values(item).flatMap((op) => op.tags)),
  );
  return [...described]
    .filter(([name]) => used.has(name))
    .map(([name, text]) => ({ name, description: text }));
}

/**
 * The OpenAPI 3.1 document of keycard's HTTP API as this server serves it: the REST
 * routes with schemas from their messages, the enabled profiles from their route tables,
 * and the other paths' hand-written entries.
 */
export function openApiDocument(sources: DocumentSources): OpenApiDocument {
  const components = new SchemaComponents();
  const paths: Record<string, PathItem> = {};
  const operations = [
    ...restOperations(sources.routes, components, sources.hybrid),
    ...profileOperations(sources.profiles),
  ];
  for (const [path, method, operation] of operations) {
    paths[path] = { ...paths[path], [method]: operation };
  }
  for (const [path, item] of sources.paths) {
    paths[path] = { ...paths[path], ...item };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "keycard",
      version: "v1",
      description,
      license: { name: "MIT", identifier: "MIT" },
    },
    tags: tagsOf(paths, sources.profiles),
    paths,
    components: {
      schemas: {
        [errorSchemaName]: errorSchema,
        [ErrorReasonSchema.typeName]: enumSchema(ErrorReasonSchema),
        ...Object.fromEntries(
          sources.profiles.map((profile) => [profileErrorSchemaName(profile), profile.errorSchema]),
        ),
        ...components.schemas,
      },
      responses: errorResponseComponents(),
      securitySchemes,
    },
  };
}
