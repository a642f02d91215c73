import { type ContextValues, createContextValues } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, connectNodeAdapter } from "@connectrpc/connect-node";
import { Authorization } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import { withRequestDeadline } from "../domain/request-deadline.js";
import type { ClientInfo } from "../domain/session.js";
import type { SessionService } from "../service/session-service.js";
import type { UserService } from "../service/user-service.js";
import { clientInfoOf, type RequestOrigin, trustedProxyList } from "./client-info.js";
import { cookieModeOf } from "./cookie-mode.js";
import { presentedToken } from "./credentials.js";
import { isBrowserRequest } from "./device-cookie.js";
import { browserKey, clientInfoKey, cookieModeKey } from "./handlers/context.js";
import { corsPolicy } from "./http/cors.js";
import { httpRoutes } from "./http/http-routes.js";
import { credentialInQuery } from "./http/query-credentials.js";
import { type RestDeps, sendJson } from "./http/rest-handler.js";
import { restRoutes } from "./http/rest-routes.js";
import type { KeycardApp, ServerDeps } from "./keycard-app.js";
import { requestIdHeader, requestIdOf } from "./request-id.js";
import { services } from "./routes.js";
import { HotPath, hotMethod } from "./rpc/hot-path.js";
import { leanUnary } from "./rpc/lean-unary.js";
import { rpcPathsOf, unsupportedRpcContentType } from "./rpc/rpc-content-type.js";
import { FrontDoor, type NodeRequest, type RequestHandler } from "./server/front-door.js";
import { defaultConnectionLimits } from "./server/limits.js";

/** STORE_DEADLINE's default: a frozen Redis answers 503 within about this. */
const defaultStoreDeadlineMs = 1_000;

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

/** The hot methods and the handlers the full path runs for them too. */
function hotPath(app: KeycardApp, clientOf: (origin: RequestOrigin) => ClientInfo): HotPath {
  return new HotPath({ metrics: app.metrics, calls: app.calls, clientOf, spans: app.spans }, [
    hotMethod(AuthService.method.validate, (message, headers, client) =>
      app.auth.validateWith(message, presentedToken(headers), headers, client),
    ),
    hotMethod(Authorization.method.check, (message) => app.extAuthz.check(message)),
  ]);
}

/**
 * Builds the keycard server: one port for gRPC, gRPC-Web, Connect and REST, h2c and
 * HTTP/1.1. A request goes, in order, through CORS, the lean path (Validate and ext_authz
 * Check in their plain shapes), connect-node (every RPC), and the HTTP routes (REST from
 * the proto's annotations, the profiles, forward auth, introspection, probes, metrics).
 */
export function createServer(deps: ServerDeps, app: KeycardApp): KeycardServer {
  const { logger, settings } = deps;
  const trusted = trustedProxyList(settings.trustedProxies);
  const sources = { trusted, locationHeader: settings.locationHeader };
  const clientOf = (origin: RequestOrigin): ClientInfo => clientInfoOf(origin, sources);
  const contextValuesOf = (request: NodeRequest): ContextValues =>
    createContextValues()
      .set(clientInfoKey, clientOf(request))
      .set(browserKey, isBrowserRequest(request.headers))
      .set(cookieModeKey, cookieModeOf(request, settings.allowedOrigins ?? []));
  const hot = hotPath(app, clientOf);
  const rest: RestDeps = {
    routes: restRoutes(services),
    caller: app.direct,
    hot,
    maxBodyBytes: settings.maxBodyBytes,
    contextValuesOf,
    clientOf,
    logger,
    secretGate: app.secretGate,
    spans: app.spans,
  };
  const rpc = connectNodeAdapter({
    ...app.routerOptions,
    acceptCompression: [compressionGzip, compressionBrotli],
    routes: app.routes,
    contextValues: contextValuesOf,
    fallback: httpRoutes(deps, app, rest),
  });
  const rpcPaths = rpcPathsOf([...services, Health, Authorization]);
  const rpcOrHttp: RequestHandler = (request, response) => {
    if (request.httpVersionMajor === 1 && request.headers.host === undefined) {
      // HTTP/1.0 may omit Host; connect-node cannot build an RPC's URL without one.
      sendJson(response, 400, { code: "invalid_argument", message: "Send a Host header." });
      return;
    }
    const wrongType = unsupportedRpcContentType(request, rpcPaths);
    if (wrongType !== undefined) {
      sendJson(response, 415, { code: "invalid_argument", message: wrongType });
      return;
    }
    rpc(request, response);
  };
  const lean = leanUnary(
    {
      hot,
      maxBodyBytes: settings.maxBodyBytes,
      jsonOptions: app.routerOptions.jsonOptions ?? {},
    },
    rpcOrHttp,
  );
  const applyCors = corsPolicy(settings.allowedOrigins ?? []);
  const storeDeadlineMs = settings.storeDeadlineMs ?? defaultStoreDeadlineMs;
  const handler: RequestHandler = (request, response) => {
    // One id per call from here on: the caller's when sane, else a new one; every door,
    // log line and audit line of the call reads it from this header.
    request.headers[requestIdHeader] = requestIdOf(request.headers[requestIdHeader]);
    if (applyCors(request, response)) {
      return;
    }
    const inUrl = credentialInQuery(request.url);
    if (inUrl === undefined) {
      withRequestDeadline(storeDeadlineMs, () => lean(request, response));
      return;
    }
    sendJson(response, 400, {
      error: "INVALID_ARGUMENT",
      message: `Credentials are not accepted in the URL (query parameter ${inUrl}): send them in the body or a header`,
    });
  };
  const door = new FrontDoor({
    handler: app.spans === undefined ? handler : app.spans.serve(handler),
    limits: settings.connections ?? defaultConnectionLimits,
    trustedProxies: trusted,
    logger,
    metrics: app.metrics,
    draining: app.draining,
    shutdown: app.shutdown,
    shutdownTimeoutMs: settings.shutdownTimeoutMs,
  });
  let background: { stop(): void }[] | undefined;
  return {
    sessions: app.sessions,
    users: app.users,
    async listen(port, host) {
      const bound = await door.listen(port, host);
      background ??= [app.startExpirySweeper(), app.watchSessionEpoch()];
      return bound;
    },
    async close() {
      for (const task of background ?? []) {
        task.stop();
      }
      await door.close();
      await app.stopSignals();
    },
  };
}
