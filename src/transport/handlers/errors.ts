import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema, RetryInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { type ErrorKind, KeycardError } from "../../domain/errors.js";

/** The ErrorInfo domain of every keycard error. */
export const errorDomain = "keycard.dev";

const codeOfKind: Record<ErrorKind, Code> = {
  "invalid-argument": Code.InvalidArgument,
  unauthenticated: Code.Unauthenticated,
  "permission-denied": Code.PermissionDenied,
  "not-found": Code.NotFound,
  "already-exists": Code.AlreadyExists,
  "failed-precondition": Code.FailedPrecondition,
  unavailable: Code.Unavailable,
  "resource-exhausted": Code.ResourceExhausted,
};

/** Builds the one typed error a client sees: a closed code plus an ErrorInfo reason. */
export function connectErrorOf(
  code: Code,
  reason: string,
  message: string,
  metadata: Record<string, string> = {},
): ConnectError {
  const info = create(ErrorInfoSchema, { reason, domain: errorDomain, metadata });
  return new ConnectError(message, code, undefined, [{ desc: ErrorInfoSchema, value: info }]);
}

/**
 * Maps an expected domain failure to its Connect error (plus google.rpc.RetryInfo when it
 * says when to retry); anything else is passed through.
 */
export function toConnectError(error: unknown): unknown {
  if (!(error instanceof KeycardError)) {
    return error;
  }
  const metadata: Record<string, string> = error.field === undefined ? {} : { field: error.field };
  const mapped = connectErrorOf(codeOfKind[error.kind], error.reason, error.message, metadata);
  if (error.retryAfterSeconds !== undefined) {
    const retryDelay = { seconds: BigInt(Math.ceil(error.retryAfterSeconds)) };
    mapped.details.push({ desc: RetryInfoSchema, value: create(RetryInfoSchema, { retryDelay }) });
  }
  mapped.cause = error.cause ?? error;
  return mapped;
}

/**
 * The Connect error a client gets for any failure: an expected one typed, anything else a
 * generic Internal whose cause stays on the server (for the logs).
 */
export function asConnectError(error: unknown): ConnectError {
  const mapped = toConnectError(error);
  return mapped instanceof ConnectError
    ? mapped
    : new ConnectError("Internal error", Code.Internal, undefined, undefined, error);
}

/** The ErrorInfo reason carried by a Connect error, if any. */
export function reasonOf(error: ConnectError): string | undefined {
  return error.findDetails(ErrorInfoSchema)[0]?.reason;
}
