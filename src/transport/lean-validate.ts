import type { IncomingHttpHeaders } from "node:http";
import {
  create,
  fromBinary,
  fromJsonString,
  type JsonReadOptions,
  type JsonWriteOptions,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { Logger } from "pino";
import {
  AuthService,
  ValidateRequestSchema,
  ValidateResponseSchema,
} from "../../gen/keycard/v1/auth_service_pb.js";
import type { AuthServiceImpl } from "../service/auth-service-impl.js";
import { asConnectError } from "../service/errors.js";
import { type HeaderLookup, presentedToken } from "./credentials.js";
import type { NodeRequest, NodeResponse } from "./http/rest-handler.js";
import { logRpc } from "./interceptors/logging.js";
import { type KeycardMetrics, recordRpc } from "./metrics.js";
import { requestIdHeader, requestIdOf } from "./request-id.js";

/** The wire shapes the lean path answers; everything else takes the full Connect path. */
type LeanProtocol = "connect-json" | "connect-proto" | "grpc";

/** What the lean path needs: the handler it shares with the full path, and its instruments. */
export interface LeanValidateDeps {
  readonly auth: AuthServiceImpl;
  readonly metrics: KeycardMetrics;
  readonly logger: Logger;
  readonly maxBodyBytes: number;
  readonly jsonOptions: Partial<JsonReadOptions & JsonWriteOptions>;
}

/** Serves a request on the full Connect path, reading `body` instead of the request stream. */
export type FullRpcPath = (
  request: NodeRequest,
  response: NodeResponse,
  body?: AsyncIterable<Uint8Array>,
) => void;

const validatePath = `/${AuthService.typeName}/${AuthService.method.validate.name}`;
const rpcName = `${AuthService.typeName}/${AuthService.method.validate.name}`;

/**
 * The lean path of AuthService/Validate, the call every request of every service using
 * keycard makes. Connect's Node adapter spends most of a unary call's time on per-request
 * machinery (fetch Headers, AbortSignals and their DOMExceptions, async iterables); this
 * answers the plain shapes directly: Connect unary POST with JSON or binary bodies (HTTP/1.1
 * or HTTP/2) and gRPC unary over HTTP/2, uncompressed and without a deadline header. It calls
 * the same handler, records the same metrics and logs, echoes `x-request-id`, and writes
 * errors as Connect does. Anything else, including a body that does not decode, goes to the
 * full path with whatever was already read, so unusual requests get Connect's own answers.
 */
export function leanValidate(deps: LeanValidateDeps, full: FullRpcPath): FullRpcPath {
  return (request, response) => {
    const protocol = leanProtocolOf(request);
    if (protocol === undefined) {
      full(request, response);
      return;
    }
    readBody(request, deps.maxBodyBytes, (chunks, complete) => {
      const message = complete
        ? decode(protocol, Buffer.concat(chunks), deps.jsonOptions)
        : undefined;
      if (message === undefined) {
        full(request, response, replay(chunks, complete ? undefined : request));
        return;
      }
      void answer(deps, protocol, request, response, message);
    });
  };
}

/** The lean protocol of a request, or undefined when it needs the full path. */
function leanProtocolOf(request: NodeRequest): LeanProtocol | undefined {
  const headers = request.headers;
  if (request.method !== "POST" || request.url !== validatePath) {
    return undefined;
  }
  if (!isIdentity(headers["content-encoding"])) {
    return undefined;
  }
  const type = headers["content-type"];
  if (type === "application/grpc" || type === "application/grpc+proto") {
    const plain = isIdentity(headers["grpc-encoding"]) && headers["grpc-timeout"] === undefined;
    return plain && request.httpVersionMajor === 2 ? "grpc" : undefined;
  }
  const version = headers["connect-protocol-version"];
  if (headers["connect-timeout-ms"] !== undefined || (version !== undefined && version !== "1")) {
    return undefined;
  }
  if (type === "application/json" || type === "application/json; charset=utf-8") {
    return "connect-json";
  }
  return type === "application/proto" ? "connect-proto" : undefined;
}

function isIdentity(encoding: string | string[] | undefined): boolean {
  return encoding === undefined || encoding === "identity";
}

/**
 * Collects the body up to `limit` bytes; `done` gets the chunks and whether that was all of
 * it (false: the limit was reached and the rest is still in the request stream).
 */
function readBody(
  request: NodeRequest,
  limit: number,
  done: (chunks: Buffer[], complete: boolean) => void,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    size += chunk.length;
    if (size > limit) {
      request.off("data", onData);
      request.off("end", onEnd);
      request.pause();
      done(chunks, false);
    }
  };
  const onEnd = (): void => done(chunks, true);
  request.on("data", onData);
  request.once("end", onEnd);
}

/** The chunks already read, then whatever the request stream still holds. */
async function* replay(
  chunks: readonly Buffer[],
  rest: AsyncIterable<Uint8Array> | undefined,
): AsyncGenerator<Uint8Array> {
  yield* chunks;
  if (rest !== undefined) {
    yield* rest;
  }
}

/** The Validate request in a body, or undefined when it is not a plain, valid one. */
function decode(
  protocol: LeanProtocol,
  body: Buffer,
  jsonOptions: Partial<JsonReadOptions>,
): { token: string; totpCode: string } | undefined {
  try {
    if (protocol === "connect-json") {
      return fromJsonString(ValidateRequestSchema, body.toString("utf8"), jsonOptions);
    }
    if (protocol === "connect-proto") {
      return fromBinary(ValidateRequestSchema, body);
    }
    const length = body.length >= 5 ? body.readUInt32BE(1) : -1;
    if (body[0] !== 0 || length !== body.length - 5) {
      return undefined;
    }
    return fromBinary(ValidateRequestSchema, body.subarray(5));
  } catch {
    return undefined;
  }
}

/** Runs Validate and writes its answer, or its error, in the request's protocol. */
async function answer(
  deps: LeanValidateDeps,
  protocol: LeanProtocol,
  request: NodeRequest,
  response: NodeResponse,
  message: { token: string; totpCode: string },
): Promise<void> {
  const started = performance.now();
  const requestId = requestIdOf(request.headers[requestIdHeader]);
  const headers = headerLookup(request.headers);
  const call = { rpc: rpcName, requestId, started, lean: true };
  try {
    const init = await deps.auth.validateWith(message, presentedToken(headers), headers);
    const reply = create(ValidateResponseSchema, init);
    recordRpc(deps.metrics, rpcName, started);
    logRpc(deps.logger, call);
    writeReply(protocol, request, response, requestId, reply, deps.jsonOptions);
  } catch (error) {
    const failure = asConnectError(error);
    failure.metadata.set(requestIdHeader, requestId);
    recordRpc(deps.metrics, rpcName, started, failure);
    logRpc(deps.logger, call, failure);
    writeError(protocol, request, response, failure, deps.jsonOptions);
  }
}

function headerLookup(headers: IncomingHttpHeaders): HeaderLookup {
  return {
    get(name) {
      const value = headers[name];
      return typeof value === "string" ? value : (value?.join(", ") ?? null);
    },
  };
}

function writeReply(
  protocol: LeanProtocol,
  request: NodeRequest,
  response: NodeResponse,
  requestId: string,
  reply: ReturnType<typeof create<typeof ValidateResponseSchema>>,
  jsonOptions: Partial<JsonWriteOptions>,
): void {
  if (protocol === "connect-json") {
    const body = Buffer.from(toJsonString(ValidateResponseSchema, reply, jsonOptions));
    response.writeHead(200, connectHeaders("application/json", body.length, requestId));
    response.end(body);
    return;
  }
  const bytes = toBinary(ValidateResponseSchema, reply);
  if (protocol === "connect-proto") {
    response.writeHead(200, connectHeaders("application/proto", bytes.length, requestId));
    response.end(bytes);
    return;
  }
  const frame = Buffer.allocUnsafe(bytes.length + 5);
  frame[0] = 0;
  frame.writeUInt32BE(bytes.length, 1);
  frame.set(bytes, 5);
  response.writeHead(200, grpcHeaders(request, requestId));
  response.addTrailers({ "grpc-status": "0" });
  response.end(frame);
}

function writeError(
  protocol: LeanProtocol,
  request: NodeRequest,
  response: NodeResponse,
  error: ConnectError,
  jsonOptions: Partial<JsonWriteOptions>,
): void {
  const metadata = Object.fromEntries(error.metadata);
  if (protocol === "grpc") {
    const trailer = new Headers();
    setTrailerStatus(trailer, error);
    response.writeHead(200, { ...grpcHeaders(request, ""), ...metadata });
    response.addTrailers(Object.fromEntries(trailer));
    response.end();
    return;
  }
  const body = errorToJsonBytes(error, jsonOptions);
  response.writeHead(codeToHttpStatus(error.code), {
    ...metadata,
    "content-type": "application/json",
    "content-length": body.length,
  });
  response.end(body);
}

function connectHeaders(
  contentType: string,
  length: number,
  requestId: string,
): Record<string, string | number> {
  return {
    "content-type": contentType,
    "content-length": length,
    [requestIdHeader]: requestId,
  };
}

function grpcHeaders(request: NodeRequest, requestId: string): Record<string, string> {
  return {
    "content-type": request.headers["content-type"] ?? "application/grpc",
    ...(requestId === "" ? {} : { [requestIdHeader]: requestId }),
  };
}
