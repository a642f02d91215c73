import {
  create,
  createRegistry,
  type DescField,
  type DescMessage,
  hasOption,
  isFieldSet,
  type MessageShape,
} from "@bufbuild/protobuf";
import { pathToString } from "@bufbuild/protobuf/reflect";
import { createValidator } from "@bufbuild/protovalidate";
import { field as fieldRules } from "../../gen/buf/validate/validate_pb.js";
import { file_keycard_v1_rules } from "../../gen/keycard/v1/rules_pb.js";
import { invalidArgument } from "../domain/errors.js";

/** protovalidate, told about keycard's own predefined rules (proto/keycard/v1/rules.proto). */
const validator = createValidator({ registry: createRegistry(file_keycard_v1_rules) });

/** One field that breaks its proto's rules, and the sentence that says so. */
export interface RuleProblem {
  /** The field's path in the message, as in the proto: `users[0].roles[2]`. */
  readonly field: string;
  /** "<field> must be ...", a sentence a person can act on. */
  readonly message: string;
}

/**
 * What is wrong with a message by the rules its proto declares, one problem per violation
 * (none when it is valid). A rule that cannot be evaluated is a defect of the proto, so it
 * throws.
 */
export function ruleProblems<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
): RuleProblem[] {
  const result = validator.validate(schema, message);
  if (result.kind === "error") {
    throw result.error;
  }
  if (result.kind === "valid") {
    return [];
  }
  return result.violations.map((violation) => {
    const field = pathToString(violation.field);
    return { field, message: `${field} ${violation.message.replace(/^value /, "")}` };
  });
}

/**
 * Per message type, the fields whose values its rules look at (those with rules, and
 * message fields, whose own fields may have some), or null when even an empty message
 * breaks a rule (then every message is checked in full).
 */
const ruledFieldsOf = new WeakMap<DescMessage, readonly DescField[] | null>();

function ruledFields(schema: DescMessage): readonly DescField[] | null {
  let fields = ruledFieldsOf.get(schema);
  if (fields === undefined) {
    fields =
      validator.validate(schema, create(schema)).kind === "valid"
        ? schema.fields.filter(
            (field) => field.fieldKind === "message" || hasOption(field, fieldRules),
          )
        : null;
    ruledFieldsOf.set(schema, fields);
  }
  return fields;
}

/**
 * Whether a message passes its rules without evaluating them: every field a rule looks at
 * is unset, and an empty message passes. Validate's requests rarely set a ruled field, and
 * the full check would otherwise be a sixth of its cost.
 */
function passesTrivially<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>) {
  const fields = ruledFields(schema);
  return fields?.every((field) => !isFieldSet(message, field)) === true;
}

/**
 * Refuses a request message that breaks its proto's rules: INVALID_ARGUMENT naming the first
 * field at fault. Every door runs it once on the way in: the interceptor chain, and the hot
 * path that bypasses it.
 */
export function checkRules<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
): void {
  if (passesTrivially(schema, message)) {
    return;
  }
  const [problem] = ruleProblems(schema, message);
  if (problem !== undefined) {
    throw invalidArgument(problem.field, problem.message);
  }
}
