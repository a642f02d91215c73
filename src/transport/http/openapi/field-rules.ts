import {
  create,
  type DescField,
  type DescMessage,
  getExtension,
  getOption,
  hasExtension,
  hasOption,
  type JsonObject,
} from "@bufbuild/protobuf";
import {
  type FieldRules,
  field as fieldOption,
  type RepeatedRules,
  type StringRules,
} from "../../../../gen/buf/validate/validate_pb.js";
import {
  api_key_name,
  display_name,
  email_address,
  password,
  role,
  roles,
  session_label,
} from "../../../../gen/keycard/v1/rules_pb.js";
import { ruleProblems } from "../../proto-rules.js";

/**
 * keycard's predefined string rules (proto/keycard/v1/rules.proto) as JSON Schema. Their CEL
 * is the truth: test/unit/openapi-rules.test.ts checks that a value these refuse is refused
 * by keycard too, and the converse for all but `password`, whose bounds are in bytes (JSON
 * Schema counts characters; at most 1024 bytes implies at most 1024 characters, and the
 * lower bound has no JSON Schema form).
 */
const predefinedStringRules = [
  [email_address, { maxLength: 254, pattern: "^\\s*[^@\\s]+@[^@\\s]+\\s*$" }],
  [display_name, { minLength: 1, maxLength: 200, pattern: "\\S" }],
  [password, { maxLength: 1024 }],
  [role, { pattern: "^[A-Za-z0-9._:-]{1,64}$" }],
  [api_key_name, { minLength: 1, maxLength: 100, pattern: "\\S" }],
  [session_label, { minLength: 1, maxLength: 64, pattern: "^(?=.*\\S)[^\\x00-\\x1f\\x7f]+$" }],
] as const;

function stringKeywords(rules: StringRules): JsonObject {
  const keywords: JsonObject = {};
  for (const [extension, mapped] of predefinedStringRules) {
    if (hasExtension(rules, extension) && getExtension(rules, extension)) {
      Object.assign(keywords, mapped);
    }
  }
  if (rules.minLen > 0n) {
    keywords.minLength = Number(rules.minLen);
  }
  // A value of at most N bytes has at most N characters: a bound JSON Schema can say.
  const maxLength = [rules.maxLen, rules.maxBytes].filter((max) => max > 0n).map(Number);
  if (maxLength.length > 0) {
    keywords.maxLength = Math.min(...maxLength);
  }
  if (rules.pattern !== "") {
    keywords.pattern = rules.pattern;
  }
  return keywords;
}

function repeatedKeywords(rules: RepeatedRules): JsonObject {
  const keywords: JsonObject = {};
  if (hasExtension(rules, roles) && getExtension(rules, roles)) {
    keywords.maxItems = 100;
  }
  if (rules.minItems > 0n) {
    keywords.minItems = Number(rules.minItems);
  }
  if (rules.maxItems > 0n) {
    keywords.maxItems = Number(rules.maxItems);
  }
  return keywords;
}

/** The keywords of one field's rules that apply to a single value (a list's items' too). */
function valueKeywords(rules: FieldRules): JsonObject {
  const { type } = rules;
  switch (type.case) {
    case "string":
      return stringKeywords(type.value);
    case "int32":
      return {
        ...(type.value.greaterThan.case === "gte" ? { minimum: type.value.greaterThan.value } : {}),
        ...(type.value.lessThan.case === "lte" ? { maximum: type.value.lessThan.value } : {}),
      };
    default:
      return {};
  }
}

/**
 * The JSON Schema keywords of a field's buf.validate rules: lengths and patterns of
 * strings, bounds of integers, sizes of lists and the rules of their items. Rules with no
 * JSON Schema form (CEL expressions of their own, byte counts) stay in the field's
 * description, which the proto writes.
 */
export function ruleKeywords(field: DescField): { value: JsonObject; list: JsonObject } {
  if (!hasOption(field, fieldOption)) {
    return { value: {}, list: {} };
  }
  const rules = getOption(field, fieldOption);
  if (rules.type.case === "repeated") {
    const items = rules.type.value.items;
    return {
      value: items === undefined ? {} : valueKeywords(items),
      list: repeatedKeywords(rules.type.value),
    };
  }
  return { value: valueKeywords(rules), list: {} };
}

/**
 * The fields a request must carry: those whose rules refuse the field's zero value, as
 * keycard itself judges an empty message (`required`, and rules such as a password's
 * length that an empty string breaks).
 */
export function requiredFields(message: DescMessage): string[] {
  const empty = ruleProblems(message, create(message)).map((problem) => problem.field);
  return message.fields.filter((field) => empty.includes(field.name)).map((field) => field.name);
}
