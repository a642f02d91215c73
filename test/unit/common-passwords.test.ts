import { describe, expect, it } from "vitest";
import { isCommonPassword, newPasswordProblem } from "../../src/domain/common-passwords.js";

describe("the common-password check", () => {
  it("knows the passwords people pick most, whatever their case", () => {
    expect(isCommonPassword("password1")).toBe(true);
    expect(isCommonPassword("Qwerty123")).toBe(true);
    expect(isCommonPassword("iloveyou")).toBe(true);
  });

  it("lets a passphrase through", () => {
    expect(isCommonPassword("correct horse battery staple")).toBe(false);
    expect(newPasswordProblem("new_password", "violet tractor on the moon")).toBeUndefined();
  });

  it("refuses a common one as INVALID_ARGUMENT naming the field", () => {
    expect(newPasswordProblem("new_password", "Password123")).toMatchObject({
      reason: "INVALID_ARGUMENT",
      field: "new_password",
      message: expect.stringContaining("new_password is one of the most common passwords"),
    });
  });
});
