import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { reasonOf } from "../../service/errors.js";

const serverFaults = new Set([Code.Internal, Code.Unknown, Code.DataLoss, Code.Unavailable]);

/**
 * Logs every call's outcome once: successes at debug, client mistakes at info, and server
 * faults at error with their cause. Never logs request or response bodies.
 */
export function loggingInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const rpc = `${req.service.typeName}/${req.method.name}`;
    try {
      const response = await next(req);
      logger.debug({ rpc, ms: elapsed(started) }, "rpc ok");
      return response;
    } catch (error) {
      const connectError = ConnectError.from(error);
      const fields = {
        rpc,
        ms: elapsed(started),
        code: Code[connectError.code],
        reason: reasonOf(connectError),
      };
      if (serverFaults.has(connectError.code)) {
        logger.error({ ...fields, err: connectError.cause ?? connectError }, "rpc failed");
      } else {
        logger.info(fields, "rpc refused");
      }
      throw error;
    }
  };
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
