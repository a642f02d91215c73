import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { ErrorReason } from "../../../gen/keycard/v1/error_reason_pb.js";
import { principalKey } from "../handlers/context.js";
import { reasonName, reasonOf } from "../handlers/errors.js";
import { requestIdHeader, requestIdOf } from "../request-id.js";
import { StoreFailureShare } from "../store-failure-share.js";
import { StoreOutageLog } from "../store-outage.js";
import { principalFacts, replyFacts } from "../tracing/call-facts.js";
import type { CallSpans } from "../tracing/call-spans.js";

const serverFaults = new Set([Code.Internal, Code.Unknown, Code.DataLoss, Code.Unavailable]);
const storeUnavailable = reasonName(ErrorReason.STORE_UNAVAILABLE);

/**
 * Logs every call's outcome once: successes at debug, client mistakes at info, and server
 * faults at error with their cause, each with its `requestId` (the caller's `x-request-id`
 * or a new UUID), which the response echoes in `x-request-id`. Never logs request or
 * response bodies. When tracing, tells the request's span the same outcome, and whose
 * session it was.
 */
export function loggingInterceptor(calls: CallLog, spans?: CallSpans): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const rpc = `${req.service.typeName}/${req.method.name}`;
    const requestId = requestIdOf(req.header.get(requestIdHeader));
    try {
      const response = await next(req);
      response.header.set(requestIdHeader, requestId);
      calls.record({ rpc, requestId, started });
      spans?.finished(rpc, requestId, undefined, {
        ...principalFacts(req.contextValues.get(principalKey)),
        ...(response.stream ? {} : replyFacts(response.message)),
      });
      return response;
    } catch (error) {
      const connectError = ConnectError.from(error);
      connectError.metadata.set(requestIdHeader, requestId);
      calls.record({ rpc, requestId, started }, connectError);
      spans?.finished(
        rpc,
        requestId,
        connectError,
        principalFacts(req.contextValues.get(principalKey)),
      );
      throw connectError;
    }
  };
}

/**
 * The log of finished calls: at debug when one succeeded, at info when the client was
 * refused, at error with its cause for a server fault. A call the store could not answer is
 * logged at debug only: the store's outage is logged once as a state change
 * ({@link StoreOutageLog}) instead of a line with a stack per call.
 */
export class CallLog {
  private readonly outage: StoreOutageLog;
  /** The share of recent calls the store could not answer (for `/readyz`). */
  readonly storeFailures = new StoreFailureShare();

  constructor(private readonly logger: Logger) {
    this.outage = new StoreOutageLog(logger);
  }

  /** Logs one finished call; `lean` marks calls the lean path answered. */
  record(
    call: { rpc: string; requestId: string; started: number; lean?: boolean },
    error?: ConnectError,
  ): void {
    if (error === undefined) {
      this.storeFailures.record(false);
      this.outage.answered();
      if (this.logger.isLevelEnabled("debug")) {
        const { started, ...named } = call;
        this.logger.debug({ ...named, ms: elapsed(started) }, "rpc ok");
      }
      return;
    }
    const { started, ...named } = call;
    const reason = reasonOf(error);
    this.storeFailures.record(reason === storeUnavailable);
    const fields = { ...named, ms: elapsed(started), code: Code[error.code], reason };
    if (reason === storeUnavailable) {
      this.outage.failed(error.cause ?? error);
      this.logger.debug(fields, "rpc failed: store unavailable");
    } else if (serverFaults.has(error.code)) {
      this.logger.error({ ...fields, err: error.cause ?? error }, "rpc failed");
    } else {
      this.logger.info(fields, "rpc refused");
    }
  }
}
function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
