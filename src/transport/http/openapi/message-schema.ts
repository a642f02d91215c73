import { type DescEnum, type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import { docComments } from "../../../../gen/keycard/v1/doc_comments.js";
import { requiredFields, ruleKeywords } from "./field-rules.js";
import { schemaRef } from "./responses.js";
import type { Schema } from "./types.js";

/**
 * A proto comment as a description: paragraphs kept, the lines of each joined (the proto
 * wraps at 100 columns, a reader should not). Empty when the element has none.
 */
export function protoDescription(fullName: string): string {
  return (docComments[fullName] ?? "")
    .split(/\n\s*\n/)
    .map((paragraph) => paragraph.replace(/\s*\n\s*/g, " "))
    .join("\n\n");
}

/** The first sentence of a comment, for a summary. */
export function firstSentence(text: string): string {
  return /^.*?[.!?](?=\s|$)/s.exec(text)?.[0] ?? text;
}

const int64 = { type: "string", format: "int64", pattern: "^-?[0-9]+$" };
const uint64 = { type: "string", pattern: "^[0-9]+$" };
const uint32 = { type: "integer", minimum: 0, maximum: 4_294_967_295 };

/** Scalars as protobuf JSON writes them: 64-bit integers as strings, bytes as base64. */
function scalarSchema(scalar: ScalarType): Schema {
  switch (scalar) {
    case ScalarType.STRING:
      return { type: "string" };
    case ScalarType.BOOL:
      return { type: "boolean" };
    case ScalarType.BYTES:
      return { type: "string", contentEncoding: "base64" };
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return { type: "number" };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { ...int64 };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { ...uint64 };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { ...uint32 };
    default:
      return { type: "integer", format: "int32" };
  }
}

/** Well-known types by their JSON forms (RFC 3339 timestamps, "1.5s" durations, bare wrappers). */
const wellKnown: Readonly<Record<string, Schema>> = {
  "google.protobuf.Timestamp": { type: "string", format: "date-time" },
  "google.protobuf.Duration": { type: "string", pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$" },
  "google.protobuf.FieldMask": { type: "string" },
  "google.protobuf.Struct": { type: "object" },
  "google.protobuf.Value": {},
  "google.protobuf.ListValue": { type: "array" },
  "google.protobuf.Empty": { type: "object" },
  "google.protobuf.Any": { type: "object", properties: { "@type": { type: "string" } } },
  "google.protobuf.DoubleValue": { type: "number" },
  "google.protobuf.FloatValue": { type: "number" },
  "google.protobuf.Int64Value": int64,
  "google.protobuf.UInt64Value": uint64,
  "google.protobuf.Int32Value": { type: "integer", format: "int32" },
  "google.protobuf.UInt32Value": uint32,
  "google.protobuf.BoolValue": { type: "boolean" },
  "google.protobuf.StringValue": { type: "string" },
  "google.protobuf.BytesValue": { type: "string", contentEncoding: "base64" },
};

/**
 * Whether protobuf JSON always writes a field, as keycard's REST answers (with
 * `alwaysEmitImplicit`): lists, maps, and singular fields without explicit presence.
 */
function alwaysWritten(field: DescField): boolean {
  if (field.fieldKind === "list" || field.fieldKind === "map") {
    return true;
  }
  return (
    field.oneof === undefined &&
    field.fieldKind !== "message" &&
    field.presence === FeatureSet_FieldPresence.IMPLICIT
  );
}

/** How a message is used: sent by clients, or answered by keycard. */
export type Direction = "input" | "output";

/**
 * The JSON Schemas of the messages and enums an API uses, gathered as components while
 * its operations are described: each message and enum once, by full name, with its proto
 * comments. An answered message lists the fields keycard always writes as `required`; a
 * sent one, those its rules require. A message used both ways is described as sent.
 */
export class SchemaComponents {
  readonly schemas: Record<string, Schema> = {};
  private readonly directions = new Map<string, Direction>();

  /** A reference to a message's schema, described on first use. */
  messageRef(message: DescMessage, direction: Direction): Schema {
    const known = wellKnown[message.typeName];
    if (known !== undefined) {
      return { ...known };
    }
    const previous = this.directions.get(message.typeName);
    if (previous === undefined || (previous === "output" && direction === "input")) {
      this.directions.set(message.typeName, direction);
      this.schemas[message.typeName] = this.objectSchema(message, direction, []);
    }
    return schemaRef(message.typeName);
  }

  /** A message's own object schema, leaving out the fields a path binds. */
  objectSchema(message: DescMessage, direction: Direction, omit: readonly string[]): Schema {
    const fields = message.fields.filter((field) => !omit.includes(field.name));
    const required =
      direction === "output"
        ? fields.filter(alwaysWritten).map((field) => field.name)
        : requiredFields(message).filter((name) => !omit.includes(name));
    const description = protoDescription(message.typeName);
    return {
      type: "object",
      ...(description === "" ? {} : { description }),
      properties: Object.fromEntries(
        fields.map((field) => [
          field.name,
          this.fieldSchema(field, direction, required.includes(field.name)),
        ]),
      ),
      ...(required.length === 0 ? {} : { required }),
    };
  }

  /** A field's schema: its value's, its rules' keywords, and its comment. */
  fieldSchema(field: DescField, direction: Direction, required: boolean): Schema {
    const rules = ruleKeywords(field);
    const nonEmpty = required && direction === "input" ? { minLength: 1 } : {};
    let schema: Schema;
    switch (field.fieldKind) {
      case "list": {
        const item =
          field.listKind === "message"
            ? this.messageRef(field.message, direction)
            : field.listKind === "enum"
              ? this.enumRef(field.enum)
              : { ...scalarSchema(field.scalar), ...rules.value };
        schema = { type: "array", items: item, ...rules.list };
        break;
      }
      case "map": {
        const value =
          field.mapKind === "message"
            ? this.messageRef(field.message, direction)
            : field.mapKind === "enum"
              ? this.enumRef(field.enum)
              : scalarSchema(field.scalar);
        schema = { type: "object", additionalProperties: value };
        break;
      }
      case "message":
        schema = this.messageRef(field.message, direction);
        break;
      case "enum":
        schema = this.enumRef(field.enum);
        break;
      default:
        schema = {
          ...scalarSchema(field.scalar),
          ...(field.scalar === ScalarType.STRING ? nonEmpty : {}),
          ...rules.value,
        };
    }
    const description = protoDescription(`${field.parent.typeName}.${field.name}`);
    return {
      ...schema,
      ...(description === "" ? {} : { description }),
      ...(field.deprecated ? { deprecated: true } : {}),
    };
  }

  /** A reference to an enum's schema: its value names, each described. */
  enumRef(desc: DescEnum): Schema {
    if (this.schemas[desc.typeName] === undefined) {
      this.schemas[desc.typeName] = enumSchema(desc);
    }
    return schemaRef(desc.typeName);
  }
}

/** An enum as protobuf JSON writes it: the value's name. */
export function enumSchema(desc: DescEnum): Schema {
  const values = desc.values.map((value) => {
    const text = protoDescription(`${desc.typeName}.${value.name}`);
    return `- \`${value.name}\`${text === "" ? "" : `: ${text}`}`;
  });
  const description = [protoDescription(desc.typeName), ...values].filter(Boolean).join("\n");
  return {
    type: "string",
    enum: desc.values.map((value) => value.name),
    description,
  };
}
