import type { Interceptor } from "@connectrpc/connect";
import { asConnectError } from "../handlers/errors.js";

/**
 * Turns expected domain failures into typed Connect errors, and anything unexpected into a
 * generic Internal error whose cause stays on the server (for the logging interceptor).
 */
export function errorsInterceptor(): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (error) {
      throw asConnectError(error);
    }
  };
}
