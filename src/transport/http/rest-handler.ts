import {
  type DescMessage,
  type DescMethodUnary,
  type JsonValue,
  type MessageInitShape,
  type MessageShape,
  toJson,
} from "@bufbuild/protobuf";
import { ConnectError, type ContextValues } from "@connectrpc/connect";
import { codeToHttpStatus } from "@connectrpc/connect/protocol-connect";
import type { Logger } from "pino";
import type { ClientInfo } from "../../domain/session.js";
import type { SecretGate } from "../../service/secret-gate.js";
import { callerHeaders, nodeHeaderLookup } from "../credentials.js";
import { reasonOf, toConnectError } from "../handlers/errors.js";
import { rateLimitHeadersFromError, retryAfterSecondsOf } from "../rate-limit.js";
import { requestIdHeader } from "../request-id.js";
import type { DirectCaller } from "../rpc/direct-caller.js";
import type { HotPath } from "../rpc/hot-path.js";
import type { NodeRequest, NodeResponse } from "../server/front-door.js";
import type { CallSpans } from "../tracing/call-spans.js";
import { parseJsonObject, readBody } from "./body.js";
import { RestError } from "./rest-error.js";
import { restInput } from "./rest-input.js";
import { matchRoute, type RestRoute } from "./rest-routes.js";
import { codeName } from "./status.js";

export type { NodeRequest, NodeResponse };

/** What the REST layer needs to serve a call. */
export interface RestDeps {
  readonly routes: readonly RestRoute[];
  readonly caller: DirectCaller;
  /** The fast path of Validate, which REST, forward auth and introspection share with RPC. */
  readonly hot: HotPath;
  readonly maxBodyBytes: number;
  readonly contextValuesOf: (request: NodeRequest) => ContextValues;
  /** The client a request comes from, as TRUSTED_PROXIES resolves it. */
  readonly clientOf: (request: NodeRequest) => ClientInfo;
  readonly logger: Logger;
  /** The guessing budget of secrets checked outside RPCs (the introspection secret). */
  readonly secretGate: SecretGate;
  /** The request spans, when tracing is on. */
  readonly spans?: CallSpans | undefined;
}

/** Sends a JSON body with the given status. */
export function sendJson(
  response: NodeResponse,
  status: number,
  body: JsonValue,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "cache-control": "no-store",
    ...headers,
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  response.end(text);
}

/** The REST error body `{error, message}` and status for any failure. */
export function sendError(response: NodeResponse, error: unknown, logger: Logger): void {
  if (error instanceof RestError) {
    sendJson(response, error.status, { error: error.code, message: error.message }, error.headers);
    return;
  }
  const mapped = toConnectError(error);
  if (!(mapped instanceof ConnectError)) {
    logger.error({ err: error }, "rest call failed");
    sendJson(response, 500, { error: "INTERNAL", message: "Internal error" });
    return;
  }
  const retryAfter = retryAfterSecondsOf(mapped);
  const body: Record<string, JsonValue> = {
    error: reasonOf(mapped) ?? codeName(mapped.code),
    message: mapped.rawMessage,
    ...(retryAfter === undefined ? {} : { retry_after_seconds: retryAfter }),
  };
  sendJson(response, codeToHttpStatus(mapped.code), body, rateLimitHeadersFromError(mapped));
}

/** The request headers an RPC may read, as a Headers object. */
export function headersOf(request: NodeRequest): Headers {
  const headers = new Headers();
  for (const name of callerHeaders) {
    const value = request.headers[name];
    if (typeof value === "string") {
      headers.set(name, value);
    }
  }
  return headers;
}

/** A signal aborted when the response closes before it was sent (the client went away). */
function abortOnClose(response: NodeResponse): AbortSignal {
  const controller = new AbortController();
  response.once("close", () => {
    if (!response.writableFinished) {
      controller.abort();
    }
  });
  return controller.signal;
}

/**
 * Runs one RPC in process with the headers and context of a REST request; the cookies it
 * sets (a login's `device-id`) go on the response.
 */
export async function callFromRest<I extends DescMessage, O extends DescMessage>(
  deps: RestDeps,
  method: DescMethodUnary<I, O>,
  input: MessageInitShape<I>,
  request: NodeRequest,
  response: NodeResponse,
): Promise<MessageShape<O>> {
  const responseHeader = new Headers();
  const output = await deps.caller.call(method, input, {
    header: headersOf(request),
    contextValues: deps.contextValuesOf(request),
    signal: abortOnClose(response),
    responseHeader,
  });
  setCookies(response, responseHeader.getSetCookie());
  return output;
}

/** Puts Set-Cookie headers on a response about to be sent (none: nothing changes). */
export function setCookies(response: NodeResponse, cookies: readonly string[]): void {
  if (cookies.length > 0) {
    response.setHeader("set-cookie", [...cookies]);
  }
}

/**
 * Runs one hot method (Validate) on the fast path with the headers of a REST request; the
 * request id is the one the HTTP layer gave the request.
 */
export function callHot<I extends DescMessage, O extends DescMessage>(
  deps: RestDeps,
  method: DescMethodUnary<I, O>,
  input: MessageShape<I>,
  request: NodeRequest,
  headers: Readonly<Record<string, string | string[] | undefined>> = request.headers,
): Promise<MessageShape<O>> {
  const requestId = String(request.headers[requestIdHeader]);
  return deps.hot.call(method, input, request, nodeHeaderLookup(headers), requestId);
}

/**
 * Serves the REST paths declared by google.api.http annotations: decode JSON, path and
 * query into the RPC's request, call the RPC in process, encode its response with proto
 * field names. Answers 404/405 for unknown paths and methods.
 */
export async function serveRest(
  deps: RestDeps,
  request: NodeRequest,
  response: NodeResponse,
): Promise<void> {
  const url = new URL(request.url ?? "/", "http://localhost");
  const httpMethod = request.method ?? "GET";
  const match = matchRoute(deps.routes, httpMethod, url.pathname);
  if (match === undefined) {
    throw new RestError(404, "NOT_FOUND", `No route for ${httpMethod} ${url.pathname}`);
  }
  if ("allowed" in match) {
    const allow = match.allowed.join(", ");
    throw new RestError(405, "METHOD_NOT_ALLOWED", `Use ${allow} for ${url.pathname}`, { allow });
  }
  const { route, pathValues } = match;
  deps.spans?.route(route.template);
  const body = route.bodyIsMessage
    ? parseJsonObject(await readBody(request, deps.maxBodyBytes))
    : {};
  const input = restInput(route.method.input, body, url.searchParams, pathValues);
  const output = deps.hot.has(route.method)
    ? await callHot(deps, route.method, input, request)
    : await callFromRest(deps, route.method, input, request, response);
  sendJson(
    response,
    200,
    toJson(route.method.output, output, { useProtoFieldName: true, alwaysEmitImplicit: true }),
  );
}
