import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema, RetryInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { ErrorReason } from "../../../gen/keycard/v1/error_reason_pb.js";
import {
  type ErrorReason as DomainErrorReason,
  type ErrorKind,
  KeycardError,
} from "../../domain/errors.js";

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

/**
 * The proto's ErrorReason enum seen as a table from the domain's reasons: a reason the
 * domain has and the proto lacks does not compile ("Property ... is missing"), and
 * test/unit/error-reasons.test.ts fails for the converse.
 */
const errorReasons: { readonly [R in DomainErrorReason]: ErrorReason } = ErrorReason;

/** The proto's ErrorReason value of a domain reason. */
export function errorReasonOf(reason: DomainErrorReason): ErrorReason {
  return errorReasons[reason];
}

/**
 * The ErrorInfo reason string of an ErrorReason: the value's name, exactly as in the
 * proto ("INVALID_CREDENTIALS"), which is what clients match on (AIP-193). protobuf-es
 * keeps the proto's names because the values share no prefix to strip.
 */
export function reasonName(reason: ErrorReason): string {
  return ErrorReason[reason];
}

/** Builds the one typed error a client sees: a closed code plus an ErrorInfo reason. */
export function connectErrorOf(
  code: Code,
  reason: ErrorReason,
  message: string,
  metadata: Record<string, string> = {},
): ConnectError {
  const info = create(ErrorInfoSchema, {
    reason: reasonName(reason),
    domain: errorDomain,
    metadata,
  });
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
  const reason = errorReasonOf(error.reason);
  const mapped = connectErrorOf(codeOfKind[error.kind], reason, error.message, metadata);
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
