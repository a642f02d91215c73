import type { JsonObject } from "@bufbuild/protobuf";

/** A JSON Schema (2020-12, the dialect of OpenAPI 3.1). */
export type Schema = JsonObject;

/** The methods an OpenAPI path item may hold, as keycard uses them. */
export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

/** One operation of the OpenAPI document, generated from the proto or written by hand. */
export type Operation = {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  /** Alternatives, each naming the schemes it needs together; `[]` for none. */
  security?: Record<string, string[]>[];
  parameters?: JsonObject[];
  requestBody?: JsonObject;
  /** By status code as text ("200"); each an OpenAPI response object or a `$ref`. */
  responses: Record<string, JsonObject>;
};

/** The operations of one path. */
export type PathItem = { [M in HttpMethod]?: Operation };

/** A path of keycard that is not generated from the proto, with its hand-written entry. */
export type DocumentedPath = readonly [path: string, item: PathItem];

/** The OpenAPI document keycard serves at /openapi.json. */
export type OpenApiDocument = {
  openapi: "3.1.0";
  info: JsonObject;
  tags: JsonObject[];
  paths: Record<string, PathItem>;
  components: {
    schemas: Record<string, Schema>;
    responses: Record<string, JsonObject>;
    securitySchemes: Record<string, JsonObject>;
  };
};
