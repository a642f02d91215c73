import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { ValidateResponseSchema } from "../../gen/keycard/v1/auth_service_pb.js";

/**
 * keycard patches protobuf-es's toBinary to reuse one writer (patches/README.md): what it
 * encodes must not depend on what it encoded before, nor on an encoding that failed.
 */
const small = create(ValidateResponseSchema, { active: false, reason: 2 });
const large = create(ValidateResponseSchema, {
  active: true,
  subject: "u".repeat(3000),
  roles: Array.from({ length: 50 }, (_, index) => `role-${index}`),
  authTime: timestampFromMs(Date.UTC(2030, 0, 1)),
  amr: ["pwd", "otp"],
  aal: 2,
});

describe("toBinary with the spare writer", () => {
  it("encodes a message the same before and after a larger one", () => {
    const before = toBinary(ValidateResponseSchema, small);
    const big = toBinary(ValidateResponseSchema, large);
    const after = toBinary(ValidateResponseSchema, small);
    expect(after).toEqual(before);
    expect(after.length).toBeLessThan(10);
    expect(fromBinary(ValidateResponseSchema, big)).toEqual(large);
    expect(big).not.toBe(toBinary(ValidateResponseSchema, large));
  });

  it("hands out bytes no later call overwrites", () => {
    const first = toBinary(ValidateResponseSchema, large);
    const copy = Uint8Array.from(first);
    toBinary(ValidateResponseSchema, small);
    toBinary(ValidateResponseSchema, large);
    expect(first).toEqual(copy);
  });

  it("encodes correctly after an encoding that threw midway", () => {
    const broken = { ...large, expiresIn: 2 ** 40 };
    expect(() => toBinary(ValidateResponseSchema, broken)).toThrow();
    const fresh = new BinaryWriter();
    fresh.tag(2, 0).int32(2);
    expect(toBinary(ValidateResponseSchema, small)).toEqual(fresh.finish());
  });
});
