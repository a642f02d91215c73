import http from "node:http";
import http2 from "node:http2";
import net, { type AddressInfo, type Socket } from "node:net";
import {
  Code,
  ConnectError,
  type ContextValues,
  createConnectRouter,
  createContextValues,
} from "@connectrpc/connect";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { clientInfoKey } from "../service/context.js";
import type { ExpirySweeper } from "../service/expiry-sweeper.js";
import type { SessionService } from "../service/session-service.js";
import type { UserService } from "../service/user-service.js";
import { createApp, type KeycardApp, type ServerDeps } from "./app.js";
import { clientInfoOf, trustedProxyList } from "./client-info.js";
import { corsPolicy } from "./http/cors.js";
import { serveForwardAuth } from "./http/forward-auth.js";
import { serveHealth } from "./http/health.js";
import { InProcessCaller } from "./http/in-process.js";
import { serveIntrospection } from "./http/introspection.js";
import { checkCookieOrigin } from "./http/origin-check.js";
import { serveProbe } from "./http/probes.js";
import { enabledProfiles, knownProfiles } from "./http/profiles/index.js";
import {
  matchProfileRoute,
  type ProfileSettings,
  serveProfileRoute,
} from "./http/profiles/profile.js";
import {
  type NodeRequest,
  type NodeResponse,
  type RestDeps,
  sendError,
  serveRest,
} from "./http/rest-handler.js";
import { restRoutes } from "./http/rest-routes.js";
import { type FullRpcPath, leanValidate } from "./lean-validate.js";
import { requestIdHeader, requestIdOf } from "./request-id.js";
import { services } from "./routes.js";
import { answerUndecodable } from "./undecodable-request.js";

/** A built, not yet listening, keycard server. */
export interface KeycardServer {
  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(port: number, host?: string): Promise<number>;
  /** Stops accepting, lets in-flight requests finish (up to the shutdown timeout), closes. */
  close(): Promise<void>;
  /** The use cases, for bootstrap code that runs in the same process. */
  readonly sessions: SessionService;
  readonly users: UserService;
}

const http2Preface = "PRI";

/** Builds the keycard server: one port for gRPC, gRPC-Web, Connect and REST, h2c and HTTP/1.1. */
export function createServer(deps: ServerDeps): KeycardServer {
  const { logger, settings } = deps;
  const app = createApp(deps);
  const trusted = trustedProxyList(settings.trustedProxies);
  const { draining } = app;
  const contextValuesOf = (request: NodeRequest): ContextValues =>
    createContextValues().set(clientInfoKey, clientInfoOf(request, trusted));
  const restRouter = createConnectRouter(app.routerOptions);
  app.routes(restRouter);
  const rest: RestDeps = {
    routes: restRoutes(services),
    caller: new InProcessCaller(restRouter),
    maxBodyBytes: settings.maxBodyBytes,
    contextValuesOf,
    logger,
  };
  const profiles = enabledProfiles(
    settings.httpProfiles ?? knownProfiles,
    settings.adminPanelSessionMs,
  );
  const profileSettings: ProfileSettings = {
    cookieSecure: settings.cookieSecure ?? true,
    checkCookieOrigin: (request) => checkCookieOrigin(request, settings.allowedOrigins ?? []),
    now: () => deps.clock.now(),
  };
  const serveHttpRoute = async (request: NodeRequest, response: NodeResponse): Promise<void> => {
    const path = request.url?.split("?")[0] ?? "";
    if (path === "/metrics" && request.method === "GET") {
      response.writeHead(200, { "content-type": app.metrics.registry.contentType });
      response.end(await app.metrics.registry.metrics());
      return;
    }
    if (path === "/health") {
      return serveHealth(rest, request, response);
    }
    if (path === "/oauth2/introspect") {
      return serveIntrospection(rest, settings.introspectionSecret, request, response);
    }
    if (path === "/auth/verify") {
      return serveForwardAuth(rest, request, response);
    }
    if (await serveProbe(deps.store, draining.signal, path, request, response)) {
      return;
    }
    const match = matchProfileRoute(profiles, request);
    if (match !== undefined) {
      return serveProfileRoute(rest, profileSettings, match, request, response);
    }
    return serveRest(rest, request, response);
  };
  const serveHttp = (request: NodeRequest, response: NodeResponse): void => {
    // One id per REST request: the in-process RPC logs it, and every response carries it.
    const requestId = requestIdOf(request.headers[requestIdHeader]);
    request.headers[requestIdHeader] = requestId;
    response.setHeader(requestIdHeader, requestId);
    serveHttpRoute(request, response).catch((error: unknown) => sendError(response, error, logger));
  };
  const leanDeps = {
    auth: app.auth,
    metrics: app.metrics,
    logger,
    maxBodyBytes: settings.maxBodyBytes,
    jsonOptions: app.routerOptions.jsonOptions ?? {},
  };
  const serveRpc = leanValidate(leanDeps, rpcHandler(app, contextValuesOf, serveHttp, logger));
  const applyCors = corsPolicy(settings.allowedOrigins ?? []);
  const handler = (request: NodeRequest, response: NodeResponse): void => {
    if (!applyCors(request, response)) {
      serveRpc(request, response);
    }
  };
  return new DualProtocolServer(handler, app, settings.shutdownTimeoutMs);
}

/**
 * What `connectNodeAdapter` does (gRPC, gRPC-Web and Connect on the router's paths, gzip
 * and brotli, everything else to `fallback`), plus one correction: a request message that
 * does not decode is answered InvalidArgument, as connect-go answers it. A `body`, when
 * given, replaces the request's own stream (the lean Validate path hands over a request it
 * has started to read).
 */
function rpcHandler(
  app: KeycardApp,
  contextValuesOf: (request: NodeRequest) => ContextValues,
  fallback: (request: NodeRequest, response: NodeResponse) => void,
  logger: Logger,
): FullRpcPath {
  const router = createConnectRouter({
    ...app.routerOptions,
    acceptCompression: [compressionGzip, compressionBrotli],
  });
  app.routes(router);
  const handlers = new Map(router.handlers.map((handler) => [handler.requestPath, handler]));
  return (request, response, body) => {
    const handler = handlers.get(request.url?.split("?", 1)[0] ?? "");
    if (handler === undefined) {
      fallback(request, response);
      return;
    }
    let universal: UniversalServerRequest;
    try {
      const fromNode = universalRequestFromNodeRequest(
        request,
        response,
        undefined,
        contextValuesOf(request),
      );
      universal = body === undefined ? fromNode : { ...fromNode, body };
    } catch {
      // Only an HTTP/1.0 request without a Host header gets here (no authority for the URL).
      response.writeHead(400, { "content-type": "application/json" });
      response.end(JSON.stringify({ code: "invalid_argument", message: "Send a Host header." }));
      return;
    }
    handler(universal)
      .then(async (answer) =>
        universalResponseToNodeResponse(await answerUndecodable(universal, answer), response),
      )
      .catch((reason: unknown) => {
        if (ConnectError.from(reason).code !== Code.Aborted) {
          logger.warn({ err: reason, rpc: handler.requestPath }, "writing an RPC response failed");
        }
      });
  };
}

/**
 * One TCP port, two protocols: a connection that opens with the HTTP/2 preface goes to
 * the h2c server, anything else to the HTTP/1.1 server. Both share one handler.
 *
 * Closing drains: readiness turns NOT_SERVING at once, the port stops accepting, HTTP/2
 * sessions get GOAWAY (their open streams finish), and HTTP/1.1 connections stay open until
 * the last in-flight request is answered. A request that still arrives on a kept-alive
 * HTTP/1.1 connection meanwhile (a load balancer's probe of /readyz, say) is answered, with
 * `connection: close`. After the shutdown timeout whatever is left is cut.
 */
class DualProtocolServer implements KeycardServer {
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly tcp: net.Server;
  private readonly h2Sessions = new Set<http2.ServerHttp2Session>();
  /** HTTP/1.1 sockets and how many requests each has in flight. */
  private readonly h1Sockets = new Map<Socket, number>();
  /** Every open connection, including those whose protocol is not known yet. */
  private readonly sockets = new Set<Socket>();
  private closing: Promise<void> | undefined;
  private sweeper: ExpirySweeper | undefined;
  private readonly startSweeper: () => ExpirySweeper;
  private readonly draining: AbortController;

  readonly sessions: SessionService;
  readonly users: UserService;
  private readonly shutdown: AbortController;

  constructor(
    handler: (request: NodeRequest, response: NodeResponse) => void,
    app: KeycardApp,
    private readonly shutdownTimeoutMs: number,
  ) {
    this.draining = app.draining;
    this.sessions = app.sessions;
    this.users = app.users;
    this.shutdown = app.shutdown;
    this.startSweeper = app.startExpirySweeper;
    // Tracked before the handler runs: it may answer synchronously (the probes do).
    this.h1 = http.createServer((request, response) => {
      this.trackRequest(request.socket, response);
      handler(request, response);
    });
    this.h2 = http2.createServer(handler);
    this.h2.on("session", (session) => {
      this.h2Sessions.add(session);
      session.once("close", () => {
        this.h2Sessions.delete(session);
        this.endIdleIfDrained();
      });
      if (this.draining.signal.aborted) {
        session.close();
      }
    });
    this.tcp = net.createServer((socket) => this.route(socket));
  }

  listen(port: number, host?: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.tcp.once("error", reject);
      this.tcp.listen(port, host, () => {
        this.tcp.off("error", reject);
        this.sweeper ??= this.startSweeper();
        resolve((this.tcp.address() as AddressInfo).port);
      });
    });
  }

  close(): Promise<void> {
    this.closing ??= this.drain();
    return this.closing;
  }

  private async drain(): Promise<void> {
    this.draining.abort();
    this.sweeper?.stop();
    const closed = new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    for (const session of this.h2Sessions) {
      session.close();
    }
    this.endIdleIfDrained();
    const deadline = setTimeout(() => {
      this.shutdown.abort();
      for (const socket of this.h1Sockets.keys()) {
        socket.destroy();
      }
      for (const session of this.h2Sessions) {
        session.destroy();
      }
      for (const socket of this.sockets) {
        socket.destroy();
      }
    }, this.shutdownTimeoutMs);
    deadline.unref();
    await closed;
    clearTimeout(deadline);
  }

  /** While draining: once no request is in flight anywhere, closes the idle HTTP/1.1 sockets. */
  private endIdleIfDrained(): void {
    if (!this.draining.signal.aborted || this.h2Sessions.size > 0) {
      return;
    }
    for (const inFlight of this.h1Sockets.values()) {
      if (inFlight > 0) {
        return;
      }
    }
    for (const socket of this.h1Sockets.keys()) {
      socket.destroy();
    }
  }

  /** Counts a request on its socket; once draining, a socket ends after its last response. */
  private trackRequest(socket: Socket, response: http.ServerResponse): void {
    this.h1Sockets.set(socket, (this.h1Sockets.get(socket) ?? 0) + 1);
    if (this.draining.signal.aborted) {
      response.setHeader("connection", "close");
    }
    response.once("close", () => {
      const inFlight = (this.h1Sockets.get(socket) ?? 1) - 1;
      this.h1Sockets.set(socket, inFlight);
      if (this.draining.signal.aborted && inFlight === 0) {
        socket.end();
        this.endIdleIfDrained();
      }
    });
  }

  private route(socket: Socket): void {
    socket.on("error", () => socket.destroy());
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    let seen = Buffer.alloc(0);
    const sniff = (): void => {
      const chunk = socket.read() as Buffer | null;
      if (chunk === null) {
        return;
      }
      seen = Buffer.concat([seen, chunk]);
      if (seen.length < http2Preface.length && http2Preface.startsWith(seen.toString("latin1"))) {
        return;
      }
      socket.off("readable", sniff);
      socket.unshift(seen);
      const isHttp2 = seen.toString("latin1", 0, http2Preface.length) === http2Preface;
      if (isHttp2) {
        this.h2.emit("connection", socket);
        return;
      }
      this.h1Sockets.set(socket, 0);
      socket.once("close", () => this.h1Sockets.delete(socket));
      this.h1.emit("connection", socket);
    };
    socket.on("readable", sniff);
  }
}
