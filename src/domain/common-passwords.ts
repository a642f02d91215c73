import { dictionary } from "@zxcvbn-ts/language-common";
import { invalidArgument, type KeycardError } from "./errors.js";

/**
 * The passwords people pick most often (zxcvbn-ts's common list, about 49,000 entries,
 * lower-case, from leaked password sets), looked up as typed without case. The package
 * unpacks its list on import (about 70 ms, once per process); the set is built on first
 * use (about 12 ms more), so that only a process that checks a new password pays for it.
 */
let common: ReadonlySet<string> | undefined;

function commonPasswords(): ReadonlySet<string> {
  common ??= new Set(dictionary["passwords-common"]);
  return common;
}

/** Whether `password` is on the common list, ignoring case. */
export function isCommonPassword(password: string): boolean {
  return commonPasswords().has(password.toLowerCase());
}

/**
 * Why a new password is refused, as INVALID_ARGUMENT naming `field`, or undefined when it
 * may be used. Length is the proto's rule (rules.proto `password`), checked on the way in.
 */
export function newPasswordProblem(field: string, password: string): KeycardError | undefined {
  if (isCommonPassword(password)) {
    return invalidArgument(
      field,
      `${field} is one of the most common passwords, which attackers try first; choose another`,
    );
  }
  return undefined;
}
