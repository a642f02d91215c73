import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { reasonOf } from "../../service/errors.js";
import { requestIdHeader, requestIdOf } from "../request-id.js";

const serverFaults = new Set([Code.Internal, Code.Unknown, Code.DataLoss, Code.Unavailable]);

/**
 * Logs every call's outcome once: successes at debug, client mistakes at info, and server
 * faults at error with their cause, each with its `requestId` (the caller's `x-request-id`
 * or a new UUID), which the response echoes in `x-request-id`. Never logs request or
 * response bodies.
 */
export function loggingInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const rpc = `${req.service.typeName}/${req.method.name}`;
    const requestId = requestIdOf(req.header.get(requestIdHeader));
    try {
      const response = await next(req);
      response.header.set(requestIdHeader, requestId);
      logger.debug({ rpc, requestId, ms: elapsed(started) }, "rpc ok");
      return response;
    } catch (error) {
      const connectError = ConnectError.from(error);
      connectError.metadata.set(requestIdHeader, requestId);
      const fields = {
        rpc,
        requestId,
        ms: elapsed(started),
        code: Code[connectError.code],
        reason: reasonOf(connectError),
      };
      if (serverFaults.has(connectError.code)) {
        logger.error({ ...fields, err: connectError.cause ?? connectError }, "rpc failed");
      } else {
        logger.info(fields, "rpc refused");
      }
      throw connectError;
    }
  };
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
