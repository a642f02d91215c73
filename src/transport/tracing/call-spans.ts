import { Code, ConnectError } from "@connectrpc/connect";
import {
  type Attributes,
  context,
  createContextKey,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { reasonOf, toConnectError } from "../handlers/errors.js";
import { RestError } from "../http/rest-error.js";
import { codeName } from "../http/status.js";
import { pathOf } from "../request-target.js";
import type { NodeResponse, RequestHandler } from "../server/front-door.js";
import type { CallFacts } from "./call-facts.js";

/** Where a request's CallSpan sits in its OpenTelemetry context. */
const callKey = createContextKey("keycard call span");

/** Probes and scrapes (HTTP and gRPC): asked every few seconds by machines, not calls worth a trace. */
const untracedPaths = new Set([
  "/healthz",
  "/readyz",
  "/metrics",
  "/grpc.health.v1.Health/Check",
  "/grpc.health.v1.Health/Watch",
]);

/** The codes OpenTelemetry's RPC conventions count as the server's failure. */
const serverFaults = new Set([
  Code.Unknown,
  Code.DeadlineExceeded,
  Code.Unimplemented,
  Code.Internal,
  Code.Unavailable,
  Code.DataLoss,
]);

/** The outcome a failed call reports: its reason, else its code, as its client reads it. */
export function outcomeOf(error: unknown): string {
  if (error instanceof RestError) {
    return error.code;
  }
  const mapped = toConnectError(error);
  return mapped instanceof ConnectError ? (reasonOf(mapped) ?? codeName(mapped.code)) : "INTERNAL";
}

/** The SERVER span of one request, and what the request has told it so far. */
class CallSpan {
  private routed = false;
  private outcome: string | undefined;

  constructor(
    private readonly span: Span,
    private readonly method: string,
    private readonly grpc: boolean,
  ) {}

  /** An HTTP route answers the request: the span is named after it. */
  route(template: string): void {
    this.routed = true;
    this.span.updateName(`${this.method} ${template}`);
    this.span.setAttribute("http.route", template);
  }

  /** An RPC ran for the request, on its own door or behind an HTTP route. */
  finished(
    rpc: string,
    requestId: string,
    error: ConnectError | undefined,
    facts: CallFacts,
  ): void {
    const span = this.span;
    if (this.routed) {
      span.setAttribute("keycard.rpc", rpc);
    } else {
      const slash = rpc.lastIndexOf("/");
      span.updateName(rpc);
      span.setAttributes({
        "rpc.system": this.grpc ? "grpc" : "connect_rpc",
        "rpc.service": rpc.slice(0, slash),
        "rpc.method": rpc.slice(slash + 1),
        ...(this.grpc ? { "rpc.grpc.status_code": error?.code ?? 0 } : {}),
      });
    }
    span.setAttributes({ "keycard.request_id": requestId, ...identityAttributes(facts) });
    this.outcome = error === undefined ? (facts.outcome ?? "ok") : outcomeOf(error);
    if (error !== undefined && serverFaults.has(error.code)) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: codeName(error.code) });
    }
  }

  /** The HTTP layer refused the request with this outcome. */
  refused(outcome: string): void {
    this.outcome = outcome;
  }

  /** The response is sent (or abandoned): the span ends with its status. */
  end(response: NodeResponse): void {
    const status = response.statusCode;
    const outcome = this.outcome ?? this.outcomeOfResponse(response);
    this.span.setAttributes({
      "http.response.status_code": status,
      ...(outcome === undefined ? {} : { "keycard.outcome": outcome }),
    });
    if (status >= 500) {
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${status}` });
    }
    this.span.end();
  }

  /**
   * The outcome of a request no RPC or route reported on: a client that left, else the HTTP
   * status; unknown for gRPC, whose status is in trailers connect-node wrote.
   */
  private outcomeOfResponse(response: NodeResponse): string | undefined {
    if (!response.writableFinished) {
      return "CANCELLED";
    }
    if (this.grpc) {
      return undefined;
    }
    return response.statusCode < 400 ? "ok" : `HTTP_${response.statusCode}`;
  }
}

function identityAttributes(facts: CallFacts): Attributes {
  return {
    ...(facts.sessionId ? { "keycard.session_id": facts.sessionId } : {}),
    ...(facts.userId ? { "enduser.id": facts.userId } : {}),
    ...(facts.principal === undefined ? {} : { "keycard.principal": facts.principal }),
  };
}

function currentCall(): CallSpan | undefined {
  return context.active().getValue(callKey) as CallSpan | undefined;
}

/**
 * keycard's own request tracing: one SERVER span per request at every door, continuing the
 * caller's trace (W3C `traceparent`, from HTTP headers or gRPC metadata alike), named after
 * the RPC (`keycard.v1.AuthService/Validate`) or the HTTP route (`POST /auth/login`), with
 * the call's outcome, session id and user id; never a token, password, code or key. The
 * request runs in the span's context, so the store's spans become its children. Built only
 * when tracing is on: with it off, nothing here runs and no context is kept.
 */
export class CallSpans {
  constructor(private readonly tracer: Tracer) {}

  /** The front door's handler, with every request (but probes) in a span of its own. */
  serve(handler: RequestHandler): RequestHandler {
    return (request, response) => {
      if (untracedPaths.has(pathOf(request.url))) {
        handler(request, response);
        return;
      }
      const parent = propagation.extract(ROOT_CONTEXT, request.headers);
      const method = request.method ?? "GET";
      const span = this.tracer.startSpan(
        method,
        {
          kind: SpanKind.SERVER,
          attributes: {
            "http.request.method": method,
            "network.protocol.version": request.httpVersionMajor === 2 ? "2" : request.httpVersion,
          },
        },
        parent,
      );
      const grpc = (request.headers["content-type"] ?? "").startsWith("application/grpc");
      const call = new CallSpan(span, method, grpc);
      response.once("close", () => call.end(response));
      const active = trace.setSpan(parent, span).setValue(callKey, call);
      context.with(active, handler, undefined, request, response);
    };
  }

  /** Names the current request's span after the HTTP route that serves it. */
  route(template: string): void {
    currentCall()?.route(template);
  }

  /** Reports an RPC the current request ran: its name, outcome and whose session. */
  finished(rpc: string, requestId: string, error?: ConnectError, facts: CallFacts = {}): void {
    currentCall()?.finished(rpc, requestId, error, facts);
  }

  /** Reports the error the HTTP layer answered the current request with. */
  refused(error: unknown): void {
    currentCall()?.refused(outcomeOf(error));
  }
}
