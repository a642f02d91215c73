import { create, type DescMessage, type JsonObject } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  CreateApiKeyRequestSchema,
  CreateUserRequestSchema,
} from "../../gen/keycard/v1/admin_service_pb.js";
import {
  LoginRequestSchema,
  ReauthenticateRequestSchema,
  RenameSessionRequestSchema,
  ValidateRequestSchema,
} from "../../gen/keycard/v1/auth_service_pb.js";
import { SchemaComponents } from "../../src/transport/http/openapi/message-schema.js";
import type { OpenApiDocument } from "../../src/transport/http/openapi/types.js";
import { ruleProblems } from "../../src/transport/proto-rules.js";
import { schemaValidator } from "../helpers/openapi-check.js";

/**
 * The JSON Schema keywords the document gives a field's buf.validate rules, against
 * keycard's own verdict (protovalidate on the same value): a value the schema refuses is
 * refused by keycard, so a client that checks a form by the document never refuses what
 * keycard takes; and for the rules the schema can say exactly, the converse.
 */
const ajv = schemaValidator({ components: { schemas: {} } } as unknown as OpenApiDocument);

function schemaOf(message: DescMessage, field: string): JsonObject {
  const object = new SchemaComponents().objectSchema(message, "input", []);
  return (object.properties as Record<string, JsonObject>)[field] ?? {};
}

function schemaAccepts(message: DescMessage, field: string, value: unknown): boolean {
  const { description: _, ...schema } = schemaOf(message, field);
  return ajv.validate(schema, value) === true;
}

function keycardAccepts(message: DescMessage, field: string, value: unknown): boolean {
  const desc = message.fields.find((each) => each.name === field);
  const init = { [desc?.localName ?? field]: value };
  const problems = ruleProblems(message, create(message, init as never));
  return !problems.some((problem) => problem.field.split("[")[0] === field);
}

const long = (length: number, char = "x") => char.repeat(length);

const cases: [string, DescMessage, string, "exact" | "lenient", unknown[]][] = [
  [
    "email",
    CreateUserRequestSchema,
    "email",
    "exact",
    ["a@b", " a@b ", "ab", "a@b@c", "", `${long(250)}@b.c`, `${long(249)}@b.c`, "a @b"],
  ],
  [
    "display name",
    CreateUserRequestSchema,
    "display_name",
    "exact",
    ["Alice", " ", "", long(200), long(201), "é"],
  ],
  [
    "password (bytes)",
    CreateUserRequestSchema,
    "password",
    "lenient",
    ["short", "12345678", long(600, "é"), long(1025), long(1024), ""],
  ],
  [
    "roles",
    CreateUserRequestSchema,
    "roles",
    "exact",
    [
      ["admin"],
      ["a b"],
      [long(65)],
      ["a:b-c.d_e"],
      [""],
      Array.from({ length: 101 }, (_, i) => `r${i}`),
      [],
    ],
  ],
  [
    "session label",
    RenameSessionRequestSchema,
    "label",
    "exact",
    ["Work laptop", " ", "tab\there", long(64), long(65), "", "é"],
  ],
  [
    "API key name",
    CreateApiKeyRequestSchema,
    "name",
    "exact",
    ["ci", " ", long(100), long(101), ""],
  ],
  [
    "max_bytes",
    ReauthenticateRequestSchema,
    "password",
    "lenient",
    [long(513, "é"), long(1024), long(1025), ""],
  ],
  [
    "max_len",
    LoginRequestSchema,
    "recovery_code",
    "exact",
    [long(32), long(33), long(32, "é"), ""],
  ],
  ["int32 bounds", ValidateRequestSchema, "min_aal", "exact", [0, 1, 2, 3, -1]],
];

describe("the document's field rules", () => {
  it.each(cases)("for %s agree with keycard's", (_, message, field, precision, values) => {
    for (const value of values) {
      const bySchema = schemaAccepts(message, field, value);
      const byKeycard = keycardAccepts(message, field, value);
      const label = `${field} = ${JSON.stringify(value).slice(0, 40)}`;
      if (precision === "exact") {
        expect(bySchema, label).toBe(byKeycard);
      } else if (!bySchema) {
        expect(byKeycard, label).toBe(false);
      }
    }
  });

  it("say a request field is required when keycard refuses it empty", () => {
    expect(
      new SchemaComponents().objectSchema(CreateUserRequestSchema, "input", []).required,
    ).toEqual(["email", "display_name", "password"]);
    expect(
      new SchemaComponents().objectSchema(LoginRequestSchema, "input", []).required,
    ).toBeUndefined();
  });
});
