import { create, type DescMessage, toBinary } from "@bufbuild/protobuf";
import { type Any, AnySchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus } from "@connectrpc/connect/protocol-connect";
import { StatusSchema } from "../../../gen/google/rpc/status_pb.js";

/**
 * A ConnectError on the wire, written the way the Connect and gRPC specifications say,
 * for the lean path (which answers without connect-es's protocol handlers): the Connect
 * unary error body and status, and the gRPC status trailers.
 */

/** One error detail as its type name and bytes. */
function detailBytes(detail: ConnectError["details"][number]): { type: string; value: Uint8Array } {
  if ("desc" in detail) {
    const message = create(detail.desc as DescMessage, detail.value);
    return { type: detail.desc.typeName, value: toBinary(detail.desc as DescMessage, message) };
  }
  return { type: detail.type, value: detail.value };
}

/** The Connect name of a code: `invalid_argument`, `unauthenticated`, ... */
function connectCodeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/** The Connect protocol's unary error: HTTP status and JSON body `{code, message, details}`. */
export function connectErrorBody(error: ConnectError): { status: number; body: Buffer } {
  const details = error.details.map(detailBytes).map(({ type, value }) => ({
    type,
    value: Buffer.from(value).toString("base64").replace(/=+$/, ""),
  }));
  const json = {
    code: connectCodeName(error.code),
    ...(error.rawMessage === "" ? {} : { message: error.rawMessage }),
    ...(details.length === 0 ? {} : { details }),
  };
  return { status: codeToHttpStatus(error.code), body: Buffer.from(JSON.stringify(json)) };
}

/** grpc-message is percent-encoded outside printable ASCII (and `%` itself). */
function grpcMessage(message: string): string {
  return Buffer.from(message, "utf8").reduce(
    (text, byte) =>
      text +
      (byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`),
    "",
  );
}

/** The gRPC status trailers of an error: grpc-status, grpc-message, grpc-status-details-bin. */
export function grpcStatusTrailers(error: ConnectError): Record<string, string> {
  const details: Any[] = error.details
    .map(detailBytes)
    .map(({ type, value }) => create(AnySchema, { typeUrl: `type.googleapis.com/${type}`, value }));
  const status = create(StatusSchema, { code: error.code, message: error.rawMessage, details });
  return {
    "grpc-status": String(error.code),
    "grpc-message": grpcMessage(error.rawMessage),
    ...(details.length === 0
      ? {}
      : {
          "grpc-status-details-bin": Buffer.from(toBinary(StatusSchema, status))
            .toString("base64")
            .replace(/=+$/, ""),
        }),
  };
}
