import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { Ajv2020 } from "ajv/dist/2020.js";
import formats from "ajv-formats";
import type { OpenApiDocument, Operation } from "../../src/transport/http/openapi/types.js";

/** Where the document's components live for ajv: `#/components/...` refs are made absolute. */
const base = "https://keycard.test/openapi.json";

/** A raw HTTP answer: status, headers and the body's text. */
export interface RawReply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/**
 * A copy of a schema for checking real answers: every object with listed properties refuses
 * any other (so an undocumented field fails the test, though the document leaves objects
 * open for clients), and `#/...` references point into the document's components.
 */
export function strictSchema(value: JsonValue): JsonValue {
  if (Array.isArray(value)) {
    return value.map(strictSchema);
  }
  if (typeof value !== "object" || value === null) {
    return value;
  }
  const copy: JsonObject = Object.fromEntries(
    Object.entries(value).map(([key, each]) => [key, strictSchema(each)]),
  );
  if (typeof copy.$ref === "string" && copy.$ref.startsWith("#/")) {
    copy.$ref = `${base}${copy.$ref}`;
  }
  if (copy.properties !== undefined && copy.additionalProperties === undefined) {
    copy.additionalProperties = false;
  }
  return copy;
}

/** An ajv for JSON Schema 2020-12 with formats, in strict mode, knowing the document's components. */
export function schemaValidator(document: OpenApiDocument): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  formats.default(ajv);
  ajv.addKeyword("components");
  ajv.addSchema({ $id: base, components: strictSchema(document.components as JsonObject) });
  return ajv;
}

function asObject(value: JsonValue | undefined): JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? value : {};
}

/**
 * Checks real answers against the document: each answer's status must be one its operation
 * documents, its content type one that response lists, and a JSON body must match the
 * response's schema exactly. Remembers which operations answered which statuses.
 */
export class ResponseChecker {
  private readonly ajv: Ajv2020;
  private readonly operations = new Map<string, Operation>();
  /** The statuses each operation was seen to answer, by operationId. */
  readonly exercised = new Map<string, Set<number>>();

  constructor(private readonly document: OpenApiDocument) {
    this.ajv = schemaValidator(document);
    for (const item of Object.values(document.paths)) {
      for (const operation of Object.values(item)) {
        this.operations.set(operation.operationId, operation);
      }
    }
  }

  /** Every operationId of the document. */
  get operationIds(): string[] {
    return [...this.operations.keys()];
  }

  /** What is wrong with an answer of an operation; empty when it matches the document. */
  problems(operationId: string, reply: RawReply): string[] {
    const operation = this.operations.get(operationId);
    if (operation === undefined) {
      return [`no operation ${operationId}`];
    }
    this.exercised.set(
      operationId,
      new Set([...(this.exercised.get(operationId) ?? []), reply.status]),
    );
    const documented = operation.responses[String(reply.status)];
    if (documented === undefined) {
      return [`${operationId} does not document status ${reply.status}: ${reply.text}`];
    }
    const response =
      typeof documented.$ref === "string"
        ? asObject(this.document.components.responses[documented.$ref.split("/").at(-1) ?? ""])
        : documented;
    const content = asObject(response.content);
    const type = (reply.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
    if (Object.keys(content).length === 0) {
      return reply.text === "" ? [] : [`${operationId} ${reply.status} documents no body`];
    }
    const media = content[type];
    if (media === undefined) {
      return [`${operationId} ${reply.status} does not document ${type || "no content type"}`];
    }
    if (type !== "application/json") {
      return [];
    }
    const validate = this.ajv.compile(strictSchema(asObject(asObject(media).schema)) as JsonObject);
    if (validate(JSON.parse(reply.text))) {
      return [];
    }
    return (validate.errors ?? []).map(
      (error) =>
        `${operationId} ${reply.status} ${error.instancePath} ${error.message} ${JSON.stringify(error.params)}`,
    );
  }
}
