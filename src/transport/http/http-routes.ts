import { defaultJwtConfig } from "../../service/jwt-keys.js";
import type { KeycardApp, ServerDeps } from "../keycard-app.js";
import { requestIdHeader, requestIdOf } from "../request-id.js";
import type { NodeRequest, NodeResponse, RequestHandler } from "../server/front-door.js";
import { serveForwardAuth } from "./forward-auth.js";
import { serveHealth } from "./health.js";
import { serveIntrospection } from "./introspection.js";
import { serveJwks, serveOpenIdConfiguration, type WellKnownDeps } from "./jwks.js";
import { checkCookieOrigin } from "./origin-check.js";
import { serveProbe } from "./probes.js";
import { enabledProfiles, knownProfiles } from "./profiles/index.js";
import { matchProfileRoute, type ProfileSettings, serveProfileRoute } from "./profiles/profile.js";
import { RestError } from "./rest-error.js";
import { type RestDeps, sendError, serveRest } from "./rest-handler.js";

/** One route's handler. */
type Route = (request: NodeRequest, response: NodeResponse) => Promise<void>;

function pathOf(request: NodeRequest): string {
  const url = request.url ?? "";
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}

/** `GET /metrics`: the Prometheus text of this server's registry. */
async function serveMetrics(
  app: KeycardApp,
  request: NodeRequest,
  response: NodeResponse,
): Promise<void> {
  if (request.method !== "GET") {
    throw new RestError(405, "METHOD_NOT_ALLOWED", "Use GET for /metrics", { allow: "GET" });
  }
  const text = await app.metrics.registry.metrics();
  response.writeHead(200, { "content-type": app.metrics.registry.contentType });
  response.end(text);
}

/**
 * Every plain HTTP path of keycard, for requests that are not RPCs, in one table: metrics,
 * the Kubernetes probes, `/health`, forward auth, introspection and the compatibility
 * profiles by exact path, then REST from the proto's annotations (404/405 for the rest).
 * Every response carries `x-request-id`, and the in-process RPC logs the same id.
 */
export function httpRoutes(deps: ServerDeps, app: KeycardApp, rest: RestDeps): RequestHandler {
  const { settings } = deps;
  const profiles = enabledProfiles(
    settings.httpProfiles ?? knownProfiles,
    settings.adminPanelSessionMs,
  );
  const profileSettings: ProfileSettings = {
    cookieSecure: settings.cookieSecure ?? true,
    checkCookieOrigin: (request) => checkCookieOrigin(request, settings.allowedOrigins ?? []),
    now: () => deps.clock.now(),
  };
  const profileRoute = async (request: NodeRequest, response: NodeResponse): Promise<void> => {
    const match = matchProfileRoute(profiles, request);
    return match === undefined
      ? serveRest(rest, request, response)
      : serveProfileRoute(rest, profileSettings, match, request, response);
  };
  const probeDeps = {
    store: deps.store,
    draining: app.draining.signal,
    storeFailures: () => app.calls.storeFailures.read(),
  };
  const probe = async (request: NodeRequest, response: NodeResponse): Promise<void> => {
    await serveProbe(probeDeps, pathOf(request), request, response);
  };
  const wellKnown: WellKnownDeps = {
    keys: app.jwtKeys,
    issuer: (settings.jwt ?? defaultJwtConfig).issuer,
  };
  const fixed = new Map<string, Route>([
    ["/.well-known/jwks.json", (request, response) => serveJwks(wellKnown, request, response)],
    [
      "/.well-known/openid-configuration",
      async (request, response) => serveOpenIdConfiguration(wellKnown, request, response),
    ],
    ["/metrics", (request, response) => serveMetrics(app, request, response)],
    ["/health", (request, response) => serveHealth(rest, request, response)],
    [
      "/oauth2/introspect",
      (request, response) =>
        serveIntrospection(rest, settings.introspectionSecret, request, response),
    ],
    ["/auth/verify", (request, response) => serveForwardAuth(rest, request, response)],
    ["/healthz", probe],
    ["/readyz", probe],
    ...profiles.flatMap((profile) =>
      profile.routes.map((route): [string, Route] => [route.path, profileRoute]),
    ),
  ]);
  return (request, response) => {
    const requestId = requestIdOf(request.headers[requestIdHeader]);
    request.headers[requestIdHeader] = requestId;
    response.setHeader(requestIdHeader, requestId);
    const path = pathOf(request);
    const fixedRoute = fixed.get(path);
    if (fixedRoute !== undefined) {
      rest.spans?.route(path);
    }
    const route = fixedRoute ?? ((req, res) => serveRest(rest, req, res));
    route(request, response).catch((error: unknown) => {
      rest.spans?.refused(error);
      sendError(response, error, deps.logger);
    });
  };
}
