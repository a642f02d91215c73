import {
  type DescField,
  type DescMessage,
  fromJson,
  type JsonValue,
  type MessageShape,
  ScalarType,
} from "@bufbuild/protobuf";
import { invalidArgument } from "../../domain/errors.js";

function findField(message: DescMessage, key: string): DescField | undefined {
  return message.fields.find((field) => field.name === key || field.jsonName === key);
}

/**
 * A query or path value as the JSON the field expects. Enum values may be given by their
 * short name in any case: `scope=all` means REVOKE_SCOPE_ALL.
 */
function jsonOfText(field: DescField, text: string): JsonValue {
  if (field.fieldKind === "enum") {
    const value = field.enum.values.find(
      (candidate) =>
        candidate.name === text || candidate.localName.toLowerCase() === text.toLowerCase(),
    );
    return value?.name ?? text;
  }
  if (field.fieldKind === "scalar" && field.scalar === ScalarType.BOOL) {
    return text === "true" || text === "1";
  }
  return text;
}

/**
 * Refuses a body field the request message does not have, naming it: a typo such as
 * `"pasword"` would otherwise be dropped silently and the call fail for another reason.
 */
function refuseUnknownFields(message: DescMessage, body: Record<string, JsonValue>): void {
  const unknown = Object.keys(body).find((key) => findField(message, key) === undefined);
  if (unknown !== undefined) {
    const known = message.fields.map((field) => field.name).join(", ");
    throw invalidArgument(
      unknown,
      `Unknown field "${unknown}" in the body; ${message.name} has ${known || "no fields"}`,
    );
  }
}

/**
 * The RPC request for a REST call: the JSON body (when the route maps it), then query
 * parameters, then path variables, which win. Accepts proto and JSON field names. An unknown
 * body field (at any depth) fails with INVALID_ARGUMENT naming it; unknown query parameters
 * are ignored (proxies and caches add their own). Wrong types fail with INVALID_ARGUMENT.
 */
export function restInput<Desc extends DescMessage>(
  message: Desc,
  body: Record<string, JsonValue>,
  query: URLSearchParams,
  pathValues: Readonly<Record<string, string>>,
): MessageShape<Desc> {
  refuseUnknownFields(message, body);
  const json: Record<string, JsonValue> = { ...body };
  for (const [key, text] of query) {
    const field = findField(message, key);
    if (field === undefined) {
      continue;
    }
    const value = jsonOfText(field, text);
    if (field.fieldKind === "list") {
      const existing = json[field.name];
      json[field.name] = [...(Array.isArray(existing) ? existing : []), value];
    } else {
      json[field.name] = value;
    }
  }
  for (const [name, text] of Object.entries(pathValues)) {
    const field = findField(message, name);
    if (field !== undefined) {
      json[field.name] = jsonOfText(field, text);
    }
  }
  try {
    return fromJson(message, json);
  } catch (error) {
    throw invalidArgument("body", `Invalid request: ${(error as Error).message}`);
  }
}
