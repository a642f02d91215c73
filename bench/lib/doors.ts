/**
 * The validation doors of keycard: every way a service can ask whether a token is
 * live, as the bench sends it with h2load, and the one request the bench sends itself first
 * to prove the door answers a success that names the user. A fast error (401, grpc-status
 * 16, `active: false`) is not a benchmark figure.
 */
import http2 from "node:http2";
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import {
  CheckRequestSchema,
  type CheckResponse,
  CheckResponseSchema,
} from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import {
  ValidateRequestSchema,
  ValidateResponseSchema,
} from "../../gen/keycard/v1/auth_service_pb.js";
import { introspectionSecret, validatePath } from "./keycard.js";

/** Which protocol a door speaks, so which floor it is compared with. */
export type Protocol = "h1" | "h2";

/** One request a door is sent: the same for the bench's own check and for h2load. */
export interface DoorRequest {
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  /** How the body is shown in printed commands (it holds the token). */
  readonly bodyLabel?: string;
}

/** A complete answer: status, headers, body and (HTTP/2) trailers. */
export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  readonly trailers: Readonly<Record<string, string>>;
}

/** A validation door of keycard. */
export interface Door {
  /** The name `--doors` selects it by. */
  readonly id: string;
  /** How the tables name it. */
  readonly title: string;
  readonly protocol: Protocol;
  /** The request for `token`. */
  readonly request: (token: string) => DoorRequest;
  /** Why `answer` is not a success naming `userId`, or undefined when it is. */
  readonly problem: (answer: Answer, userId: string) => string | undefined;
}

/** A gRPC message frame (uncompressed, length-prefixed) holding `message`. */
export function grpcFrame(message: Uint8Array): Uint8Array {
  const frame = new Uint8Array(5 + message.length);
  new DataView(frame.buffer).setUint32(1, message.length);
  frame.set(message, 5);
  return frame;
}

/** A gRPC message frame holding a ValidateRequest. */
export function grpcValidateFrame(token: string): Uint8Array {
  return grpcFrame(toBinary(ValidateRequestSchema, create(ValidateRequestSchema, { token })));
}

/** A gRPC message frame holding an ext_authz CheckRequest carrying `Bearer <token>`. */
export function checkRequestFrame(token: string): Uint8Array {
  const request = create(CheckRequestSchema, {
    attributes: { request: { http: { headers: { authorization: `Bearer ${token}` } } } },
  });
  return grpcFrame(toBinary(CheckRequestSchema, request));
}

/** The frames of a gRPC or gRPC-Web body: flags and payload of each. */
function framesOf(body: Uint8Array): { flags: number; payload: Uint8Array }[] {
  const frames: { flags: number; payload: Uint8Array }[] = [];
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let offset = 0;
  while (offset + 5 <= body.length) {
    const length = view.getUint32(offset + 1);
    frames.push({
      flags: body[offset] ?? 0,
      payload: body.subarray(offset + 5, offset + 5 + length),
    });
    offset += 5 + length;
  }
  return frames;
}

/** The message of the first data frame, or undefined. */
function decodeFrame<Desc extends DescMessage>(
  schema: Desc,
  body: Uint8Array,
): MessageShape<Desc> | undefined {
  const frame = framesOf(body).find(({ flags }) => (flags & 0x80) === 0);
  return frame === undefined ? undefined : fromBinary(schema, frame.payload);
}

/** The trailers of a gRPC-Web body (its frame with flag 0x80), lower-cased names. */
function grpcWebTrailers(body: Uint8Array): Record<string, string> {
  const trailers: Record<string, string> = {};
  for (const { flags, payload } of framesOf(body)) {
    if ((flags & 0x80) === 0) {
      continue;
    }
    for (const line of Buffer.from(payload).toString("latin1").split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon > 0) {
        trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
    }
  }
  return trailers;
}

function parseJson(body: Uint8Array): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(body).toString("utf8")) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function short(body: Uint8Array): string {
  return Buffer.from(body).toString("utf8").slice(0, 300);
}

/** The problem with a JSON answer whose `field` should name `userId` with `active: true`. */
function jsonProblem(answer: Answer, userId: string, field: string): string | undefined {
  if (answer.status !== 200) {
    return `HTTP ${answer.status}: ${short(answer.body)}`;
  }
  const json = parseJson(answer.body);
  if (json.active !== true || json[field] !== userId) {
    return `not an active answer for user ${userId}: ${short(answer.body)}`;
  }
  return undefined;
}

/** The problem with a ValidateResponse, or undefined when it is active for `userId`. */
function validateProblem(
  message: { active: boolean; subject: string } | undefined,
  userId: string,
): string | undefined {
  if (message === undefined) {
    return "no ValidateResponse in the body";
  }
  return message.active && message.subject === userId
    ? undefined
    : `ValidateResponse not active for user ${userId}: active=${message.active} subject=${message.subject}`;
}

/** The problem with an ext_authz CheckResponse, or undefined when it allows `userId`. */
function checkProblem(message: CheckResponse | undefined, userId: string): string | undefined {
  if (message === undefined) {
    return "no CheckResponse in the body";
  }
  const code = message.status?.code ?? 0;
  if (code !== 0 || message.httpResponse.case !== "okResponse") {
    return `CheckResponse denies (status ${code}, ${message.httpResponse.case ?? "no http_response"})`;
  }
  const user = message.httpResponse.value.headers.find(
    ({ header }) => header?.key === "x-auth-user",
  );
  return user?.header?.value === userId
    ? undefined
    : `CheckResponse allows without x-auth-user: ${userId}`;
}

/** The problem with a gRPC (HTTP/2) answer's status, or undefined when it is OK. */
function grpcStatusProblem(answer: Answer): string | undefined {
  if (answer.status !== 200) {
    return `HTTP ${answer.status}`;
  }
  const status = answer.trailers["grpc-status"] ?? answer.headers["grpc-status"];
  return status === "0"
    ? undefined
    : `grpc-status ${status ?? "missing"} ${answer.trailers["grpc-message"] ?? answer.headers["grpc-message"] ?? ""}`;
}

const json = (token: string): string => JSON.stringify({ token });
const jsonLabel = '{"token":"<session token>"}';

/** Every door, in the order the tables list them. */
export const doors: readonly Door[] = [
  {
    id: "connect-json",
    title: "Connect JSON, HTTP/1.1",
    protocol: "h1",
    request: (token) => ({
      method: "POST",
      path: validatePath,
      headers: { "content-type": "application/json" },
      body: json(token),
      bodyLabel: jsonLabel,
    }),
    problem: (answer, userId) => jsonProblem(answer, userId, "subject"),
  },
  {
    id: "connect-proto",
    title: "Connect binary, HTTP/1.1",
    protocol: "h1",
    request: (token) => ({
      method: "POST",
      path: validatePath,
      headers: { "content-type": "application/proto" },
      body: toBinary(ValidateRequestSchema, create(ValidateRequestSchema, { token })),
      bodyLabel: "binary ValidateRequest{token}",
    }),
    problem: (answer, userId) =>
      answer.status === 200
        ? validateProblem(fromBinary(ValidateResponseSchema, answer.body), userId)
        : `HTTP ${answer.status}: ${short(answer.body)}`,
  },
  {
    id: "grpc",
    title: "gRPC, HTTP/2",
    protocol: "h2",
    request: (token) => ({
      method: "POST",
      path: validatePath,
      headers: { "content-type": "application/grpc", te: "trailers" },
      body: grpcValidateFrame(token),
      bodyLabel: "gRPC frame of ValidateRequest{token}",
    }),
    problem: (answer, userId) =>
      grpcStatusProblem(answer) ??
      validateProblem(decodeFrame(ValidateResponseSchema, answer.body), userId),
  },
  {
    id: "grpc-web",
    title: "gRPC-Web, HTTP/1.1",
    protocol: "h1",
    request: (token) => ({
      method: "POST",
      path: validatePath,
      headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
      body: grpcValidateFrame(token),
      bodyLabel: "gRPC frame of ValidateRequest{token}",
    }),
    problem: (answer, userId) => {
      const status = grpcWebTrailers(answer.body)["grpc-status"] ?? answer.headers["grpc-status"];
      if (answer.status !== 200 || status !== "0") {
        return `HTTP ${answer.status}, grpc-status ${status ?? "missing"}`;
      }
      return validateProblem(decodeFrame(ValidateResponseSchema, answer.body), userId);
    },
  },
  {
    id: "rest",
    title: "REST POST /auth/validate, HTTP/1.1",
    protocol: "h1",
    request: (token) => ({
      method: "POST",
      path: "/auth/validate",
      headers: { "content-type": "application/json" },
      body: json(token),
      bodyLabel: jsonLabel,
    }),
    problem: (answer, userId) => jsonProblem(answer, userId, "subject"),
  },
  {
    id: "forward-auth",
    title: "Forward auth GET /auth/verify, HTTP/1.1",
    protocol: "h1",
    request: (token) => ({
      method: "GET",
      path: "/auth/verify",
      headers: { authorization: `Bearer ${token}` },
    }),
    problem: (answer, userId) =>
      answer.status === 200 && answer.headers["x-auth-user"] === userId
        ? undefined
        : `HTTP ${answer.status}, X-Auth-User ${answer.headers["x-auth-user"] ?? "missing"}: ${short(answer.body)}`,
  },
  {
    id: "introspect",
    title: "RFC 7662 POST /oauth2/introspect, HTTP/1.1",
    protocol: "h1",
    request: (token) => ({
      method: "POST",
      path: "/oauth2/introspect",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Bearer ${introspectionSecret}`,
      },
      body: `token=${encodeURIComponent(token)}`,
      bodyLabel: "token=<session token>",
    }),
    problem: (answer, userId) => jsonProblem(answer, userId, "sub"),
  },
  {
    id: "ext-authz",
    title: "Envoy ext_authz Check, gRPC HTTP/2",
    protocol: "h2",
    request: (token) => ({
      method: "POST",
      path: "/envoy.service.auth.v3.Authorization/Check",
      headers: { "content-type": "application/grpc", te: "trailers" },
      body: checkRequestFrame(token),
      bodyLabel: "gRPC frame of CheckRequest{authorization: Bearer <session token>}",
    }),
    problem: (answer, userId) =>
      grpcStatusProblem(answer) ??
      checkProblem(decodeFrame(CheckResponseSchema, answer.body), userId),
  },
];

/** The doors named in `ids`, in table order; throws on an unknown name. */
export function selectDoors(ids: readonly string[]): Door[] {
  const unknown = ids.filter((id) => !doors.some((door) => door.id === id));
  if (unknown.length > 0) {
    throw new Error(
      `unknown door ${unknown.join(", ")}; the doors are ${doors.map((door) => door.id).join(", ")}`,
    );
  }
  return doors.filter((door) => ids.includes(door.id));
}

function stringHeaders(headers: Headers | http2.IncomingHttpHeaders): Record<string, string> {
  const result: Record<string, string> = {};
  const entries = headers instanceof Headers ? headers.entries() : Object.entries(headers);
  for (const [name, value] of entries) {
    if (value !== undefined) {
      result[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
    }
  }
  return result;
}

/** Sends `request` once over HTTP/1.1 with fetch. */
async function sendH1(baseUrl: string, request: DoorRequest): Promise<Answer> {
  const response = await fetch(`${baseUrl}${request.path}`, {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
  });
  const body = new Uint8Array(await response.arrayBuffer());
  return { status: response.status, headers: stringHeaders(response.headers), body, trailers: {} };
}

/** Sends `request` once over HTTP/2 (h2c prior knowledge) with node:http2. */
function sendH2(baseUrl: string, request: DoorRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    session.once("error", reject);
    const stream = session.request({
      ":method": request.method,
      ":path": request.path,
      ...request.headers,
    });
    let status = 0;
    let headers: Record<string, string> = {};
    let trailers: Record<string, string> = {};
    const chunks: Buffer[] = [];
    stream.on("response", (received) => {
      status = Number(received[":status"]);
      headers = stringHeaders(received);
    });
    stream.on("trailers", (received) => {
      trailers = stringHeaders(received);
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.once("error", (error) => {
      session.close();
      reject(error);
    });
    stream.once("end", () => {
      session.close();
      resolve({ status, headers, body: new Uint8Array(Buffer.concat(chunks)), trailers });
    });
    stream.end(request.body === undefined ? undefined : Buffer.from(request.body));
  });
}

/** Sends `request` once to `baseUrl` over `protocol`. */
export function send(protocol: Protocol, baseUrl: string, request: DoorRequest): Promise<Answer> {
  return protocol === "h2" ? sendH2(baseUrl, request) : sendH1(baseUrl, request);
}
