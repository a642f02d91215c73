import { defaultJwtConfig } from "../../service/jwt-keys.js";
import { cookiePolicyOf } from "../cookie-policy.js";
import { sessionCookieToken } from "../credentials.js";
import type { KeycardApp, ServerDeps } from "../keycard-app.js";
import { redirectPolicyOf } from "../redirect-policy.js";
import { givenRequestId, requestIdHeader } from "../request-id.js";
import { pathOf } from "../request-target.js";
import type { NodeRequest, NodeResponse, RequestHandler } from "../server/front-door.js";
import { isPortalPath, type PortalDeps, servePortal } from "../ui/portal.js";
import { withPasskeysOn } from "../ui/portal-assets.js";
import { forwardAuthDoc, serveForwardAuth } from "./forward-auth.js";
import { healthDoc, serveHealth } from "./health.js";
import { introspectionDoc, serveIntrospection } from "./introspection.js";
import {
  jwksDoc,
  openIdConfigurationDoc,
  serveJwks,
  serveOpenIdConfiguration,
  type WellKnownDeps,
} from "./jwks.js";
import {
  apiReference,
  openApiDoc,
  openApiPath,
  referencePageDoc,
  referencePath,
  serveOpenApi,
  serveReferencePage,
} from "./openapi/serve.js";
import type { PathItem } from "./openapi/types.js";
import { checkCookieOrigin } from "./origin-check.js";
import { portalReturnDoc, portalReturnPath, servePortalReturn } from "./portal-return.js";
import { livenessDoc, readinessDoc, serveProbe } from "./probes.js";
import { enabledProfiles, knownProfiles } from "./profiles/index.js";
import { matchProfileRoute, type ProfileSettings, serveProfileRoute } from "./profiles/profile.js";
import { RestError } from "./rest-error.js";
import { type RestDeps, sendError, serveRest } from "./rest-handler.js";

/** One route's handler. */
type Route = (request: NodeRequest, response: NodeResponse) => Promise<void>;

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

/** `/metrics` in the OpenAPI document. */
const metricsDoc: PathItem = {
  get: {
    operationId: "metrics",
    summary: "Prometheus metrics of this replica, in the text exposition format.",
    tags: ["Metrics"],
    responses: {
      "200": {
        description: "The metrics.",
        content: { "text/plain": { schema: { type: "string" } } },
      },
    },
  },
};

/** How the portal's pages are served, when it is on. */
function portalDeps(deps: ServerDeps, app: KeycardApp): PortalDeps | undefined {
  if (deps.portal === undefined) {
    return undefined;
  }
  const signedIn = async (request: NodeRequest): Promise<boolean> => {
    const token = sessionCookieToken(request.headers.cookie);
    return token !== "" && (await app.sessions.validate(token)).active;
  };
  const assets = deps.settings.webauthn === undefined ? deps.portal : withPasskeysOn(deps.portal);
  return { assets, signedIn, https: cookiePolicyOf(deps.settings).secure };
}

/**
 * Every plain HTTP path of keycard, for requests that are not RPCs, in one table: metrics,
 * the Kubernetes probes, `/health`, forward auth, the portal's return endpoint,
 * introspection, the OpenAPI document and its page, and the compatibility profiles by
 * exact path, then the portal's pages under `/ui/`, then REST from the proto's annotations
 * (404/405 for the rest). Each fixed path carries its entry of the OpenAPI document, which
 * describes exactly this table and the REST routes. Every response carries
 * `x-request-id`, and the in-process RPC logs the same id.
 */
export function httpRoutes(deps: ServerDeps, app: KeycardApp, rest: RestDeps): RequestHandler {
  const { settings } = deps;
  const profiles = enabledProfiles(
    settings.httpProfiles ?? knownProfiles,
    settings.adminPanelSessionMs,
  );
  const profileSettings: ProfileSettings = {
    cookies: cookiePolicyOf(settings),
    checkCookieOrigin: (request) => checkCookieOrigin(request, settings.allowedOrigins ?? []),
    now: () => deps.clock.now(),
  };
  const profileRoute = async (request: NodeRequest, response: NodeResponse): Promise<void> => {
    const match = matchProfileRoute(profiles, request);
    return match === undefined
      ? serveRest(rest, request, response)
      : serveProfileRoute(rest, profileSettings, match, request, response);
  };
  const redirects = redirectPolicyOf(settings);
  const probeDeps = {
    store: deps.store,
    draining: app.draining.signal,
    storeFailures: () => app.calls.storeFailures.read(),
  };
  const probe = async (request: NodeRequest, response: NodeResponse): Promise<void> => {
    await serveProbe(probeDeps, pathOf(request.url), request, response);
  };
  const wellKnown: WellKnownDeps = {
    keys: app.jwtKeys,
    issuer: (settings.jwt ?? defaultJwtConfig).issuer,
  };
  // Read on the first request for the document, once the table it describes exists.
  const reference = apiReference(() => ({
    routes: rest.routes,
    profiles,
    paths: table.map(([path, , doc]) => [path, doc]),
    hybrid: settings.authMode === "hybrid",
  }));
  // The way back from the portal exists only while the portal does (UI).
  const portalReturnRoute: [path: string, serve: Route, doc: PathItem][] =
    deps.portal === undefined
      ? []
      : [
          [
            portalReturnPath,
            (request, response) => servePortalReturn(redirects, request, response),
            portalReturnDoc,
          ],
        ];
  const table: readonly [path: string, serve: Route, doc: PathItem][] = [
    [
      "/.well-known/jwks.json",
      (request, response) => serveJwks(wellKnown, request, response),
      jwksDoc,
    ],
    [
      "/.well-known/openid-configuration",
      async (request, response) => serveOpenIdConfiguration(wellKnown, request, response),
      openIdConfigurationDoc,
    ],
    ["/metrics", (request, response) => serveMetrics(app, request, response), metricsDoc],
    ["/health", (request, response) => serveHealth(rest, request, response), healthDoc],
    [
      "/oauth2/introspect",
      (request, response) =>
        serveIntrospection(rest, settings.introspectionSecret, request, response),
      introspectionDoc,
    ],
    [
      "/auth/verify",
      (request, response) => serveForwardAuth(rest, redirects, request, response),
      forwardAuthDoc,
    ],
    ...portalReturnRoute,
    ["/healthz", probe, livenessDoc],
    ["/readyz", probe, readinessDoc],
    [openApiPath, (request, response) => serveOpenApi(reference, request, response), openApiDoc],
    [
      referencePath,
      (request, response) => serveReferencePage(reference, request, response),
      referencePageDoc,
    ],
  ];
  const fixed = new Map<string, Route>([
    ...table.map(([path, serve]): [string, Route] => [path, serve]),
    ...profiles.flatMap((profile) =>
      profile.routes.map((route): [string, Route] => [route.path, profileRoute]),
    ),
  ]);
  const portal = portalDeps(deps, app);
  return (request, response) => {
    response.setHeader(requestIdHeader, givenRequestId(request.headers));
    const path = pathOf(request.url);
    const fixedRoute = fixed.get(path);
    if (fixedRoute === undefined && portal !== undefined && isPortalPath(path)) {
      servePortal(portal, path, request, response).catch((error: unknown) =>
        sendError(response, error, deps.logger),
      );
      return;
    }
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
