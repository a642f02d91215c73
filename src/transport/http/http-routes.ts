import type { KeycardApp, ServerDeps } from "../app.js";
import { requestIdHeader, requestIdOf } from "../request-id.js";
import type { NodeRequest, NodeResponse, RequestHandler } from "../server/front-door.js";
import { serveForwardAuth } from "./forward-auth.js";
import { serveHealth } from "./health.js";
import { serveIntrospection } from "./introspection.js";
import { checkCookieOrigin } from "./origin-check.js";
import { serveProbe } from "./probes.js";
import { enabledProfiles, knownProfiles } from "./profiles/index.js";
import { matchProfileRoute, type ProfileSettings, serveProfileRoute } from "./profiles/profile.js";
import { type RestDeps, sendError, serveRest } from "./rest-handler.js";

/**
 * Every plain HTTP path of keycard, for requests that are not RPCs: metrics, the
 * Kubernetes probes, `/health`, forward auth, introspection, the compatibility profiles,
 * then REST from the proto's annotations (404/405 for anything else). Every response
 * carries `x-request-id`, and the in-process RPC logs the same id.
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
  const route = async (request: NodeRequest, response: NodeResponse): Promise<void> => {
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
    if (await serveProbe(deps.store, app.draining.signal, path, request, response)) {
      return;
    }
    const match = matchProfileRoute(profiles, request);
    if (match !== undefined) {
      return serveProfileRoute(rest, profileSettings, match, request, response);
    }
    return serveRest(rest, request, response);
  };
  return (request, response) => {
    const requestId = requestIdOf(request.headers[requestIdHeader]);
    request.headers[requestIdHeader] = requestId;
    response.setHeader(requestIdHeader, requestId);
    route(request, response).catch((error: unknown) => sendError(response, error, deps.logger));
  };
}
