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
      logRpc(logger, { rpc, requestId, started });
      return response;
    } catch (error) {
      const connectError = ConnectError.from(error);
      connectError.metadata.set(requestIdHeader, requestId);
      logRpc(logger, { rpc, requestId, started }, connectError);
      throw connectError;
    }
  };
}

/**
 * Logs one finished call: at debug when it succeeded, at info when the client was refused,
 * at error with its cause for a server fault. `lean` marks calls the lean path answered.
 */
export function logRpc(
  logger: Logger,
  call: { rpc: string; requestId: string; started: number; lean?: boolean },
  error?: ConnectError,
): void {
  if (error === undefined) {
    if (logger.isLevelEnabled("debug")) {
      const { started, ...named } = call;
      logger.debug({ ...named, ms: elapsed(started) }, "rpc ok");
    }
    return;
  }
  const { started, ...named } = call;
  const fields = {
    ...named,
    ms: elapsed(started),
    code: Code[error.code],
    reason: reasonOf(error),
  };
  if (serverFaults.has(error.code)) {
    logger.error({ ...fields, err: error.cause ?? error }, "rpc failed");
  } else {
    logger.info(fields, "rpc refused");
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
