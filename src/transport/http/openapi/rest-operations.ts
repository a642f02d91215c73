import type { DescField, DescMethodUnary, JsonObject } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { codeToHttpStatus } from "@connectrpc/connect/protocol-connect";
import { AdminService } from "../../../../gen/keycard/v1/admin_service_pb.js";
import { AuthService } from "../../../../gen/keycard/v1/auth_service_pb.js";
import { type ErrorReason, errorCatalogue, KeycardError } from "../../../domain/errors.js";
import { asConnectError } from "../../handlers/errors.js";
import { publicMethods } from "../../interceptors/auth.js";
import type { RestRoute } from "../rest-routes.js";
import { codeName } from "../status.js";
import { firstSentence, protoDescription, type SchemaComponents } from "./message-schema.js";
import { errorResponses, jsonResponse } from "./responses.js";
import { adminSecurity, noCredential, sessionSecurity } from "./security.js";
import type { HttpMethod, Operation } from "./types.js";

/** The HTTP status of every code name and reason a proto comment may mention. */
const statusOfName: ReadonlyMap<string, number> = new Map([
  ...Object.values(Code)
    .filter((code): code is Code => typeof code === "number")
    .map((code) => [codeName(code), codeToHttpStatus(code)] as const),
  ...(Object.keys(errorCatalogue) as ErrorReason[]).map(
    (reason) =>
      [reason, codeToHttpStatus(asConnectError(new KeycardError(reason, "")).code)] as const,
  ),
]);

/** The statuses of the code and reason names a text mentions that `pattern` captures. */
function statusesNamed(text: string, pattern: RegExp): number[] {
  return [...text.matchAll(pattern)].flatMap(([, name = ""]) => {
    const status = statusOfName.get(name);
    return status === undefined ? [] : [status];
  });
}

/**
 * The error statuses an RPC answers over REST: what any call may meet (a malformed request,
 * throttling, the store down, a body too large), its credential's refusals, and the codes
 * and reasons the proto names: any in the method's comment, and those its request fields'
 * comments say a value "fails with". The comment is the contract.
 */
function errorStatusesOf(route: RestRoute, authenticated: boolean): number[] {
  const { method } = route;
  const fieldComments = method.input.fields
    .map((field) => protoDescription(`${method.input.typeName}.${field.name}`))
    .join("\n");
  const named = [
    ...statusesNamed(
      protoDescription(`${method.parent.typeName}.${method.name}`),
      /\b([A-Z][A-Z_]{2,})\b/g,
    ),
    ...statusesNamed(fieldComments, /\bfails?\s+(?:\w+\s+)?with\s+([A-Z][A-Z_]{2,})\b/g),
  ];
  return [
    400,
    429,
    503,
    ...(route.bodyIsMessage ? [413] : []),
    ...(authenticated ? [401] : []),
    ...(route.method.parent.typeName === AdminService.typeName ? [403] : []),
    ...named,
  ];
}

function securityOf(method: DescMethodUnary, hybrid: boolean): Operation["security"] {
  if (method.parent.typeName === AdminService.typeName) {
    return adminSecurity;
  }
  if (method.parent.typeName === AuthService.typeName && publicMethods.has(method.name)) {
    return noCredential;
  }
  return sessionSecurity(hybrid);
}

/** Fields a query string can carry: scalars and enums, single or repeated. */
function queryable(field: DescField): boolean {
  return (
    field.fieldKind === "scalar" ||
    field.fieldKind === "enum" ||
    (field.fieldKind === "list" && field.listKind !== "message")
  );
}

function parameters(route: RestRoute, components: SchemaComponents): JsonObject[] {
  const { input } = route.method;
  const parameter = (field: DescField, where: "path" | "query"): JsonObject => {
    const { description, ...schema } = components.fieldSchema(field, "input", where === "path");
    return {
      name: field.name,
      in: where,
      required: where === "path",
      ...(typeof description === "string" ? { description } : {}),
      schema,
    };
  };
  const bound = route.pathFields.flatMap((name) => input.fields.filter((f) => f.name === name));
  const query = route.bodyIsMessage
    ? []
    : input.fields.filter((field) => queryable(field) && !route.pathFields.includes(field.name));
  return [
    ...bound.map((field) => parameter(field, "path")),
    ...query.map((field) => parameter(field, "query")),
  ];
}

/**
 * The OpenAPI operation of one REST route compiled from a google.api.http annotation:
 * its RPC's comment, the path and query parameters and JSON body its request message maps
 * to, its response message, the credential it needs and the errors it may answer. A second
 * binding of one RPC gets the operationId suffix `_2`, a third `_3`.
 */
export function restOperation(
  route: RestRoute,
  binding: number,
  components: SchemaComponents,
  hybrid: boolean,
): [path: string, method: HttpMethod, operation: Operation] {
  const { method } = route;
  const service = method.parent;
  const description = protoDescription(`${service.typeName}.${method.name}`);
  const security = securityOf(method, hybrid);
  const params = parameters(route, components);
  const output = method.output;
  const operation: Operation = {
    operationId: `${service.name}_${method.name}${binding === 0 ? "" : `_${binding + 1}`}`,
    summary: firstSentence(description) || method.name,
    description: `${description}\n\nRPC: \`${service.typeName}/${method.name}\`.`,
    tags: [service.name],
    ...(security === undefined ? {} : { security }),
    ...(params.length === 0 ? {} : { parameters: params }),
    ...(route.bodyIsMessage
      ? {
          requestBody: {
            required: false,
            description:
              "The request message as JSON (proto or JSON field names); an unknown field is refused with 400 `INVALID_ARGUMENT` naming it.",
            content: {
              "application/json": {
                schema: components.objectSchema(method.input, "input", route.pathFields),
              },
            },
          },
        }
      : {}),
    responses: {
      "200": jsonResponse(
        firstSentence(protoDescription(output.typeName)) || output.name,
        components.messageRef(output, "output"),
      ),
      ...errorResponses(errorStatusesOf(route, security !== noCredential)),
    },
  };
  return [route.template, route.httpMethod.toLowerCase() as HttpMethod, operation];
}

/** Every REST route's operation, numbering the extra bindings of an RPC. */
export function restOperations(
  routes: readonly RestRoute[],
  components: SchemaComponents,
  hybrid: boolean,
): [string, HttpMethod, Operation][] {
  const seen = new Map<DescMethodUnary, number>();
  return routes.map((route) => {
    const binding = seen.get(route.method) ?? 0;
    seen.set(route.method, binding + 1);
    return restOperation(route, binding, components, hybrid);
  });
}
