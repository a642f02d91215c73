import SwaggerParser from "@apidevtools/swagger-parser";
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { forwardAuthDoc } from "../../src/transport/http/forward-auth.js";
import { healthDoc } from "../../src/transport/http/health.js";
import { introspectionDoc } from "../../src/transport/http/introspection.js";
import { jwksDoc, openIdConfigurationDoc } from "../../src/transport/http/jwks.js";
import {
  type DocumentSources,
  openApiDocument,
} from "../../src/transport/http/openapi/document.js";
import { openApiDoc, referencePageDoc } from "../../src/transport/http/openapi/serve.js";
import type { OpenApiDocument, Operation } from "../../src/transport/http/openapi/types.js";
import { livenessDoc, readinessDoc } from "../../src/transport/http/probes.js";
import { enabledProfiles, knownProfiles } from "../../src/transport/http/profiles/index.js";
import { restRoutes } from "../../src/transport/http/rest-routes.js";
import { services } from "../../src/transport/routes.js";
import { schemaValidator, strictSchema } from "../helpers/openapi-check.js";

const routes = restRoutes(services);

function sources(overrides: Partial<DocumentSources> = {}): DocumentSources {
  return {
    routes,
    profiles: enabledProfiles(knownProfiles),
    paths: [
      ["/auth/verify", forwardAuthDoc],
      ["/health", healthDoc],
      ["/oauth2/introspect", introspectionDoc],
      ["/.well-known/jwks.json", jwksDoc],
      ["/.well-known/openid-configuration", openIdConfigurationDoc],
      ["/healthz", livenessDoc],
      ["/readyz", readinessDoc],
      ["/openapi.json", openApiDoc],
      ["/docs", referencePageDoc],
    ],
    hybrid: false,
    ...overrides,
  };
}

const document = openApiDocument(sources());

function operations(doc: OpenApiDocument): [string, string, Operation][] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]): [string, string, Operation] => [
      path,
      method,
      operation,
    ]),
  );
}

function operation(id: string): Operation {
  const found = operations(document).find(([, , each]) => each.operationId === id);
  if (found === undefined) {
    throw new Error(`no operation ${id}`);
  }
  return found[2];
}

function component(name: string): JsonObject {
  const schema = document.components.schemas[name];
  if (schema === undefined) {
    throw new Error(`no schema ${name}`);
  }
  return schema;
}

/** The JSON body schema of an operation's request. */
function bodySchema(op: Operation): JsonObject {
  const content = (op.requestBody?.content ?? {}) as Record<string, JsonObject>;
  return (content["application/json"]?.schema ?? {}) as JsonObject;
}

function property(schema: JsonObject, name: string): JsonObject {
  return (schema.properties as Record<string, JsonObject>)[name] ?? {};
}

/** Every JSON Schema of the document that is not a component: bodies and parameters. */
function inlineSchemas(doc: OpenApiDocument): JsonValue[] {
  return operations(doc).flatMap(([, , op]) => [
    ...(op.parameters ?? []).map((parameter) => parameter.schema ?? {}),
    ...[op.requestBody, ...Object.values(op.responses)].flatMap((part) =>
      Object.values((part?.content ?? {}) as Record<string, JsonObject>).map(
        (media) => media.schema ?? {},
      ),
    ),
  ]);
}

describe("the OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document (swagger-parser)", async () => {
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeDefined();
  });

  it("holds only valid JSON Schema 2020-12, which ajv compiles in strict mode", () => {
    const ajv = schemaValidator(document);
    for (const schema of inlineSchemas(document)) {
      expect(() => ajv.compile(strictSchema(schema) as JsonObject)).not.toThrow();
    }
    for (const name of Object.keys(document.components.schemas)) {
      expect(() =>
        ajv.compile({ $ref: `https://keycard.test/openapi.json#/components/schemas/${name}` }),
      ).not.toThrow();
    }
  });

  it("describes every REST route once, with a unique operationId and every path variable", () => {
    const restOps = routes.map((route) => {
      const op = document.paths[route.template]?.[route.httpMethod.toLowerCase() as "get"];
      expect(op, `${route.httpMethod} ${route.template}`).toBeDefined();
      return op as Operation;
    });
    expect(restOps).toHaveLength(43);
    const ids = operations(document).map(([, , op]) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [path, , op] of operations(document)) {
      const variables = [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => name);
      const bound = (op.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name);
      expect(bound, `${op.operationId}`).toEqual(variables);
    }
  });

  it("describes every operation and every field of keycard's messages with the proto's comments", () => {
    for (const [, , op] of operations(document)) {
      expect(op.summary, op.operationId).not.toBe("");
    }
    expect(operation("AuthService_Login").description).toContain(
      "Login checks credentials and starts a session.",
    );
    for (const [name, schema] of Object.entries(document.components.schemas)) {
      expect(schema.description, name).toBeTruthy();
      for (const [field, each] of Object.entries(
        (schema.properties ?? {}) as Record<string, JsonObject>,
      )) {
        expect(each.description, `${name}.${field}`).toBeTruthy();
      }
    }
  });

  it("writes protobuf JSON shapes: names for enums, RFC 3339 timestamps, wrappers bare, lists, deprecation", () => {
    const session = component("keycard.v1.Session");
    expect(property(session, "created_at")).toMatchObject({ type: "string", format: "date-time" });
    expect(property(session, "authentication_methods")).toMatchObject({
      type: "array",
      items: { $ref: "#/components/schemas/keycard.v1.AuthMethod" },
    });
    expect(property(session, "auth_methods")).toMatchObject({ deprecated: true });
    expect(component("keycard.v1.AuthMethod").enum).toContain("AUTH_METHOD_TOTP");
    expect(component("keycard.v1.AuthMethod").description).toContain(
      "- `AUTH_METHOD_TOTP`: A one-time code",
    );
    const login = component("keycard.v1.LoginResponse");
    expect(property(login, "recovery_codes_remaining")).toMatchObject({ type: "integer" });
    expect(component("keycard.v1.ErrorReason").enum).toContain("RATE_LIMITED");
  });

  it("requires in answers the fields keycard always writes, and not those it may leave out", () => {
    const validate = component("keycard.v1.ValidateResponse");
    expect(validate.required).toEqual(expect.arrayContaining(["active", "reason", "roles", "aal"]));
    expect(validate.required).not.toContain("expires_at");
    expect(component("keycard.v1.LoginResponse").required).not.toContain(
      "recovery_codes_remaining",
    );
  });

  it("maps request messages onto path, query and body as the REST layer reads them, with their rules", () => {
    const rename = operation("AuthService_RenameSession");
    expect(Object.keys(bodySchema(rename).properties as JsonObject)).toEqual(["label"]);
    expect(rename.parameters?.map((p) => `${p.in} ${p.name}`)).toEqual(["path session_id"]);
    const list = operation("AuthService_ListSessions");
    expect(list.parameters?.map((p) => `${p.in} ${p.name}`)).toEqual([
      "query page_size",
      "query page_token",
    ]);
    const create = operation("AdminService_CreateUser");
    const user = bodySchema(create);
    expect(user.required).toEqual(["email", "display_name", "password"]);
    expect(property(user, "password")).toMatchObject({ maxLength: 1024 });
    expect(property(user, "roles")).toMatchObject({
      maxItems: 100,
      items: { pattern: "^[A-Za-z0-9._:-]{1,64}$" },
    });
    expect(property(bodySchema(operation("AuthService_Validate")), "min_aal")).toMatchObject({
      minimum: 0,
      maximum: 2,
    });
    expect(operation("AuthService_RevokeSession_2").parameters?.map((p) => p.name)).toEqual([
      "session_id",
      "scope",
    ]);
  });

  it("names the credential each operation needs", () => {
    expect(operation("AuthService_Login").security).toEqual([]);
    expect(operation("AuthService_ResetPassword").security).toEqual([]);
    expect(operation("AuthService_GetMe").security).toEqual([
      { sessionBearer: [] },
      { sessionToken: [] },
    ]);
    expect(operation("AdminService_ListUsers").security).toEqual([{ adminToken: [] }]);
    expect(operation("apiV1Auth_token").security).toEqual([{ sessionCookie: [] }]);
    const hybrid = openApiDocument(sources({ hybrid: true }));
    expect(hybrid.paths["/auth/me"]?.get?.security).toContainEqual({ apiKey: [], totpCode: [] });
  });

  it("lists the error statuses of each operation: its credential's, and those its proto comment names", () => {
    const statuses = (id: string) => Object.keys(operation(id).responses);
    expect(statuses("AuthService_Validate")).toEqual(["200", "400", "413", "429", "503"]);
    expect(statuses("AuthService_Login")).toContain("401");
    expect(statuses("AuthService_RevokeSession")).toContain("404");
    expect(statuses("AdminService_CreateUser")).toEqual(
      expect.arrayContaining(["401", "403", "409"]),
    );
    expect(statuses("AdminService_DisableUser")).toContain("404");
    expect(statuses("AuthService_ChangePassword")).toContain("403");
  });

  it("describes exactly the enabled profiles", () => {
    const onlyAdminPanel = openApiDocument(sources({ profiles: enabledProfiles(["admin-panel"]) }));
    const paths = Object.keys(onlyAdminPanel.paths);
    expect(paths).toContain("/api/admin/login");
    expect(paths.filter((path) => path.startsWith("/api/v1/"))).toEqual([]);
    expect(onlyAdminPanel.tags.map((tag) => tag.name)).not.toContain("api-v1-auth");
  });
});
