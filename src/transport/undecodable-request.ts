import { Code, ConnectError } from "@connectrpc/connect";
import {
  createAsyncIterable,
  encodeEnvelope,
  readAllBytes,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  createEndStreamSerialization,
  endStreamFlag,
  errorFromJsonBytes,
  errorToJsonBytes,
  parseContentType as parseConnectContentType,
} from "@connectrpc/connect/protocol-connect";
import { parseContentType as parseGrpcContentType } from "@connectrpc/connect/protocol-grpc";
import {
  parseContentType as parseGrpcWebContentType,
  setTrailerStatus,
  trailerFlag,
  trailerParse,
  trailerSerialize,
} from "@connectrpc/connect/protocol-grpc-web";
import { connectErrorOf } from "../service/errors.js";

/**
 * connect-es 2.1.2 reports a request message that fails to decode (bad wire format, invalid
 * UTF-8 in a string field) as Internal "parse binary: ..." (protocol/serialization.js), so
 * Connect answers HTTP 500 and gRPC status 13, before any interceptor runs. This finds that
 * one error in a finished answer and re-states it as InvalidArgument in the same protocol.
 * Only binary requests can carry it; other answers pass through untouched. For gRPC and
 * Connect unary nothing is read or copied unless the answer is that failure; binary
 * gRPC-Web and Connect streaming bodies pass through a check of each end-of-stream frame.
 */
export function answerUndecodable(
  request: UniversalServerRequest,
  answer: UniversalServerResponse,
): UniversalServerResponse | Promise<UniversalServerResponse> {
  const contentType = request.header.get("content-type");
  const grpc = parseGrpcContentType(contentType);
  if (grpc?.binary === true) {
    const trailer = answer.trailer;
    if (trailer === undefined) {
      return answer;
    }
    // Read by the Node adapter after the body is written, when the status is final.
    return {
      ...answer,
      get trailer(): Headers {
        restateTrailer(trailer);
        return trailer;
      },
    };
  }
  const grpcWeb = parseGrpcWebContentType(contentType);
  if (grpcWeb !== undefined) {
    return grpcWeb.binary && !grpcWeb.text
      ? restateFrames(answer, trailerFlag, restateGrpcWebTrailer)
      : answer;
  }
  const connect = parseConnectContentType(contentType);
  if (connect?.binary !== true) {
    return answer;
  }
  if (connect.stream) {
    return restateFrames(answer, endStreamFlag, restateEndStream);
  }
  return answer.status === 500 ? restateUnary(answer) : answer;
}

/** The prefix connect-es gives a request message that fails to decode. */
const undecodablePrefix = "parse binary: ";

function isUndecodable(code: Code | string | null, message: string): boolean {
  return (code === Code.Internal || code === "13") && message.startsWith(undecodablePrefix);
}

/** The InvalidArgument a client gets instead, with the decoder's reason. */
function undecodableError(message: string): ConnectError {
  const detail = message.slice(undecodablePrefix.length);
  return connectErrorOf(
    Code.InvalidArgument,
    "INVALID_ARGUMENT",
    `The request is not a valid protobuf message: ${detail}`,
  );
}

/** gRPC: the status travels in the trailer. */
function restateTrailer(trailer: Headers): void {
  const message = safeDecodeURIComponent(trailer.get("grpc-message") ?? "");
  if (isUndecodable(trailer.get("grpc-status"), message)) {
    trailer.delete("grpc-status-details-bin");
    setTrailerStatus(trailer, undecodableError(message));
  }
}

/** gRPC-Web: the trailer is the body's last frame. */
function restateGrpcWebTrailer(data: Uint8Array): Uint8Array | undefined {
  const trailer = trailerParse(data);
  const message = safeDecodeURIComponent(trailer.get("grpc-message") ?? "");
  if (!isUndecodable(trailer.get("grpc-status"), message)) {
    return undefined;
  }
  setTrailerStatus(trailer, undecodableError(message));
  return trailerSerialize(trailer);
}

const endStream = createEndStreamSerialization(undefined);

/** Connect streaming: the error is in the end-of-stream frame. */
function restateEndStream(data: Uint8Array): Uint8Array | undefined {
  const end = endStream.parse(data);
  if (end.error === undefined || !isUndecodable(end.error.code, end.error.rawMessage)) {
    return undefined;
  }
  return endStream.serialize({
    metadata: end.metadata,
    error: undecodableError(end.error.rawMessage),
  });
}

/**
 * Passes the body through, re-stating an uncompressed frame with `flag` (each chunk is one
 * envelope: 1 flag byte, 4 length bytes, the data) when `restate` returns a replacement.
 */
function restateFrames(
  answer: UniversalServerResponse,
  flag: number,
  restate: (data: Uint8Array) => Uint8Array | undefined,
): UniversalServerResponse {
  const body = answer.body;
  if (body === undefined) {
    return answer;
  }
  async function* frames(): AsyncIterable<Uint8Array> {
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      const flags = chunk[0] ?? 0;
      // 0b1: compressed, which a short error frame never is; leave such frames alone.
      const data = (flags & flag) === flag && (flags & 0b1) === 0 ? chunk.subarray(5) : undefined;
      const replacement = data === undefined ? undefined : tryRestate(restate, data);
      yield replacement === undefined ? chunk : encodeEnvelope(flags, replacement);
    }
  }
  return { ...answer, body: frames() };
}

function tryRestate(
  restate: (data: Uint8Array) => Uint8Array | undefined,
  data: Uint8Array,
): Uint8Array | undefined {
  try {
    return restate(data);
  } catch {
    return undefined;
  }
}

/** Connect unary: an error is a JSON body with the HTTP status of its code. */
async function restateUnary(answer: UniversalServerResponse): Promise<UniversalServerResponse> {
  const header = answer.header ?? new Headers();
  if (answer.body === undefined || header.has("content-encoding")) {
    return answer;
  }
  const bytes = await readAllBytes(answer.body, Number.MAX_SAFE_INTEGER);
  const error = errorFromJsonBytes(bytes, undefined, new ConnectError("", Code.Unknown));
  if (!isUndecodable(error.code, error.rawMessage)) {
    return { ...answer, body: createAsyncIterable([bytes]) };
  }
  const body = errorToJsonBytes(undecodableError(error.rawMessage), undefined);
  header.set("content-length", String(body.byteLength));
  return {
    ...answer,
    status: codeToHttpStatus(Code.InvalidArgument),
    header,
    body: createAsyncIterable([body]),
  };
}

function safeDecodeURIComponent(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
