import {
  type DescMessage,
  fromBinary,
  fromJson,
  type JsonReadOptions,
  type JsonValue,
  type JsonWriteOptions,
  type MessageShape,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorReason } from "../../../gen/keycard/v1/error_reason_pb.js";
import { nodeHeaderLookup } from "../credentials.js";
import { connectErrorOf } from "../handlers/errors.js";
import { collectBody } from "../http/body.js";
import { parseJsonText } from "../http/json-text.js";
import { givenRequestId, requestIdHeader } from "../request-id.js";
import type { NodeRequest, NodeResponse, RequestHandler } from "../server/front-door.js";
import { type HotMethod, type HotPath, rpcNameOf } from "./hot-path.js";
import { type LeanProtocol, leanProtocolOf } from "./lean-protocol.js";
import { connectErrorBody, grpcStatusTrailers } from "./wire-errors.js";

/** What the lean path needs besides its methods. */
export interface LeanDeps {
  readonly hot: HotPath;
  readonly maxBodyBytes: number;
  readonly jsonOptions: Partial<JsonReadOptions & JsonWriteOptions>;
}

/**
 * The lean path of the hottest unary methods (Validate, ext_authz Check): every request
 * of every service using keycard makes one. connect-node spends most of a small unary
 * call's time on per-request machinery (fetch Headers, AbortSignals, async iterables);
 * this answers the plain shapes directly: Connect unary POST (JSON or binary), gRPC and
 * binary gRPC-Web, uncompressed and without a deadline. It runs the same handler,
 * records the same metrics and logs, echoes `x-request-id`, and writes errors as the
 * protocols specify. Anything else goes to `full` (connect-node) untouched.
 */
export function leanUnary(given: LeanDeps, full: RequestHandler): RequestHandler {
  // Connect ignores unknown JSON fields in requests; decided once, not per request.
  const deps = { ...given, readOptions: { ...given.jsonOptions, ignoreUnknownFields: true } };
  const byPath = new Map(deps.hot.all.map((hot) => [`/${rpcNameOf(hot.method)}`, hot]));
  return (request, response) => {
    const lean = request.method === "POST" ? byPath.get(request.url ?? "") : undefined;
    const protocol = lean === undefined ? undefined : leanProtocolOf(request);
    if (lean === undefined || protocol === undefined) {
      full(request, response);
      return;
    }
    collectBody(request, deps.maxBodyBytes)
      .then((body) => answer(deps, lean, protocol, request, response, body))
      // The client went away while sending, or the answer could not be written: end it.
      .catch(() => response.destroy());
  };
}

/** One call in flight: what its log line, metrics and response need. */
interface LeanCall {
  readonly lean: HotMethod;
  readonly requestId: string;
  readonly started: number;
  readonly contentType: string;
}

/** Decodes the body, runs the method on the hot path and writes its reply or error. */
function answer(
  deps: LeanDeps & { readonly readOptions: Partial<JsonReadOptions> },
  lean: HotMethod,
  protocol: LeanProtocol,
  request: NodeRequest,
  response: NodeResponse,
  body: Buffer | undefined,
): Promise<void> | undefined {
  const call = startCall(lean, request);
  const decoded =
    body === undefined
      ? tooLarge(deps.maxBodyBytes)
      : decode(lean, protocol, body, deps.readOptions);
  if ("error" in decoded) {
    deps.hot.record(lean.method, call.requestId, call.started, decoded.error);
    writeError(protocol, call, response, decoded.error);
    return;
  }
  const headers = nodeHeaderLookup(request.headers);
  return deps.hot
    .call(lean.method, decoded.message, request, headers, call.requestId, call.started)
    .then(
      (reply) => writeReply(deps, protocol, call, response, reply),
      (error: ConnectError) => writeError(protocol, call, response, error),
    );
}

function startCall(lean: HotMethod, request: NodeRequest): LeanCall {
  return {
    lean,
    requestId: givenRequestId(request.headers),
    started: performance.now(),
    contentType: request.headers["content-type"] ?? "",
  };
}

type Decoded = { message: MessageShape<DescMessage> } | { error: ConnectError };

function tooLarge(limit: number): Decoded {
  return {
    error: connectErrorOf(
      Code.ResourceExhausted,
      ErrorReason.PAYLOAD_TOO_LARGE,
      `The request message is larger than ${limit} bytes`,
    ),
  };
}

function invalid(message: string): Decoded {
  return { error: connectErrorOf(Code.InvalidArgument, ErrorReason.INVALID_ARGUMENT, message) };
}

/** The request message of a body in the call's protocol, or the error its sender gets. */
function decode(
  lean: HotMethod,
  protocol: LeanProtocol,
  body: Buffer,
  jsonOptions: Partial<JsonReadOptions>,
): Decoded {
  const input = lean.method.input;
  if (protocol === "connect-json") {
    try {
      return { message: fromJson(input, parseJsonText(body) as JsonValue, jsonOptions) };
    } catch (error) {
      return invalid(
        `The request is not a valid ${input.name} in JSON: ${(error as Error).message}`,
      );
    }
  }
  return protocol === "connect-proto" ? fromProtobuf(input, body) : unframe(input, body);
}

/** gRPC and gRPC-Web carry exactly one uncompressed length-prefixed message in a unary call. */
function unframe(input: DescMessage, body: Buffer): Decoded {
  if (body.length < 5) {
    return invalid("protocol error: missing input message for unary method");
  }
  // In connect-es's order on the full path: the envelope's length first, then its flag.
  if (body.readUInt32BE(1) !== body.length - 5) {
    return invalid("protocol error: the message length does not match the body");
  }
  if ((body[0] ?? 0) & 0b1) {
    // A protocol violation, answered as connect-es answers it on the full path: Internal,
    // with no ErrorInfo (no keycard reason applies).
    const message = "received a compressed message without grpc-encoding";
    return { error: new ConnectError(message, Code.Internal) };
  }
  return fromProtobuf(input, body.subarray(5));
}

function fromProtobuf(input: DescMessage, bytes: Uint8Array): Decoded {
  try {
    return { message: fromBinary(input, bytes) };
  } catch (error) {
    return invalid(`The request is not a valid protobuf message: ${(error as Error).message}`);
  }
}

function writeReply(
  deps: LeanDeps,
  protocol: LeanProtocol,
  call: LeanCall,
  response: NodeResponse,
  reply: MessageShape<DescMessage>,
): void {
  const output = call.lean.method.output;
  const id = { [requestIdHeader]: call.requestId };
  if (protocol === "connect-json") {
    // A string, so that Node sends headers and body in one write.
    const body = toJsonString(output, reply, deps.jsonOptions);
    response.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      ...id,
    });
    response.end(body);
    return;
  }
  const bytes = toBinary(output, reply);
  if (protocol === "connect-proto") {
    response.writeHead(200, {
      "content-type": "application/proto",
      "content-length": bytes.length,
      ...id,
    });
    response.end(bytes);
    return;
  }
  const frame = envelope(0, bytes);
  if (protocol === "grpc-web") {
    const trailer = envelope(0x80, Buffer.from("grpc-status: 0\r\n"));
    response.writeHead(200, { "content-type": call.contentType, ...id });
    response.end(Buffer.concat([frame, trailer]));
    return;
  }
  response.writeHead(200, { "content-type": call.contentType, ...id });
  response.addTrailers({ "grpc-status": "0" });
  response.end(frame);
}

function writeError(
  protocol: LeanProtocol,
  call: LeanCall,
  response: NodeResponse,
  error: ConnectError,
): void {
  const metadata = { ...Object.fromEntries(error.metadata), [requestIdHeader]: call.requestId };
  if (protocol === "connect-json" || protocol === "connect-proto") {
    const { status, body } = connectErrorBody(error);
    response.writeHead(status, {
      ...metadata,
      "content-type": "application/json",
      "content-length": body.length,
    });
    response.end(body);
    return;
  }
  const status = grpcStatusTrailers(error);
  if (protocol === "grpc-web") {
    const text = Object.entries(status)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("");
    response.writeHead(200, { ...metadata, "content-type": call.contentType });
    response.end(envelope(0x80, Buffer.from(text)));
    return;
  }
  response.writeHead(200, { ...metadata, "content-type": call.contentType });
  response.addTrailers(status);
  response.end();
}

/** A length-prefixed frame: flags, 4-byte length, data. */
function envelope(flags: number, data: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(data.length + 5);
  frame[0] = flags;
  frame.writeUInt32BE(data.length, 1);
  frame.set(data, 5);
  return frame;
}
