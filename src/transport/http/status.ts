import { Code } from "@connectrpc/connect";

/** The UPPER_SNAKE name of a code, used as `error` when no ErrorInfo reason is attached. */
export function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
