import http from "node:http";
import http2 from "node:http2";
import net, { type AddressInfo, type Socket } from "node:net";
import { createConnectRouter, createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { clientInfoKey } from "../service/context.js";
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
import { requestIdHeader, requestIdOf } from "./request-id.js";
import { services } from "./routes.js";

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
  const contextValuesOf = (request: NodeRequest) =>
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
    if (await serveProbe(deps.store, path, request, response)) {
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
  const serveConnect = connectNodeAdapter({
    ...app.routerOptions,
    routes: app.routes,
    contextValues: contextValuesOf,
    fallback: serveHttp,
  });
  const applyCors = corsPolicy(settings.allowedOrigins ?? []);
  const handler = (request: NodeRequest, response: NodeResponse): void => {
    if (!applyCors(request, response)) {
      serveConnect(request, response);
    }
  };
  return new DualProtocolServer(handler, app, settings.shutdownTimeoutMs);
}

/**
 * One TCP port, two protocols: a connection that opens with the HTTP/2 preface goes to
 * the h2c server, anything else to the HTTP/1.1 server. Both share one handler.
 */
class DualProtocolServer implements KeycardServer {
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly tcp: net.Server;
  private readonly h2Sessions = new Set<http2.ServerHttp2Session>();
  /** HTTP/1.1 sockets and how many requests each has in flight. */
  private readonly h1Sockets = new Map<Socket, number>();
  private closing = false;

  readonly sessions: SessionService;
  readonly users: UserService;
  private readonly shutdown: AbortController;

  constructor(
    handler: (request: NodeRequest, response: NodeResponse) => void,
    app: KeycardApp,
    private readonly shutdownTimeoutMs: number,
  ) {
    this.sessions = app.sessions;
    this.users = app.users;
    this.shutdown = app.shutdown;
    this.h1 = http.createServer(handler);
    this.h1.on("request", (request: http.IncomingMessage, response: http.ServerResponse) =>
      this.trackRequest(request.socket, response),
    );
    this.h2 = http2.createServer(handler);
    this.h2.on("session", (session) => {
      this.h2Sessions.add(session);
      session.once("close", () => this.h2Sessions.delete(session));
    });
    this.tcp = net.createServer((socket) => this.route(socket));
  }

  listen(port: number, host?: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.tcp.once("error", reject);
      this.tcp.listen(port, host, () => {
        this.tcp.off("error", reject);
        resolve((this.tcp.address() as AddressInfo).port);
      });
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    for (const session of this.h2Sessions) {
      session.close();
    }
    for (const [socket, inFlight] of this.h1Sockets) {
      if (inFlight === 0) {
        socket.destroy();
      }
    }
    const deadline = setTimeout(() => {
      this.shutdown.abort();
      for (const socket of this.h1Sockets.keys()) {
        socket.destroy();
      }
      for (const session of this.h2Sessions) {
        session.destroy();
      }
    }, this.shutdownTimeoutMs);
    deadline.unref();
    await closed;
    clearTimeout(deadline);
  }

  /** Counts a request on its socket; once closing, a socket ends after its last response. */
  private trackRequest(socket: Socket, response: http.ServerResponse): void {
    this.h1Sockets.set(socket, (this.h1Sockets.get(socket) ?? 0) + 1);
    if (this.closing) {
      response.setHeader("connection", "close");
    }
    response.once("close", () => {
      const inFlight = (this.h1Sockets.get(socket) ?? 1) - 1;
      this.h1Sockets.set(socket, inFlight);
      if (this.closing && inFlight === 0) {
        socket.end();
      }
    });
  }

  private route(socket: Socket): void {
    socket.on("error", () => socket.destroy());
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
