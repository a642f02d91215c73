import type { Interceptor } from "@connectrpc/connect";
import { checkRules } from "../proto-rules.js";

/**
 * Checks every unary request against the rules its proto declares, once, on the way in:
 * the first broken rule fails the call with INVALID_ARGUMENT naming the field, before any
 * handler or use case sees the message. REST and the profiles reach the handlers through
 * the same chain, so they are checked alike.
 */
export function validationInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (!req.stream) {
      checkRules(req.method.input, req.message);
    }
    return next(req);
  };
}
