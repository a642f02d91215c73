import { STATUS_CODES } from "node:http";
import type {
  DescMessage,
  DescMethodUnary,
  JsonValue,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus } from "@connectrpc/connect/protocol-connect";
import type { CookiePolicy } from "../../cookie-policy.js";
import { reasonOf, toConnectError } from "../../handlers/errors.js";
import { rateLimitHeadersFromError } from "../../rate-limit.js";
import { pathOf } from "../../request-target.js";
import { parseJsonObject, readBody } from "../body.js";
import { constant, object, text } from "../openapi/json-schema.js";
import type { Schema } from "../openapi/types.js";
import { RestError } from "../rest-error.js";
import {
  type NodeRequest,
  type NodeResponse,
  type RestDeps,
  sendJson,
  setCookies,
} from "../rest-handler.js";
import {
  carried,
  endReplacedCookieSession,
  renewIfDue,
  setCookieHeader,
} from "./profile-cookies.js";

/** Where a profile route reads the session token from. */
export type Carrier = "none" | "bearer" | "cookie-or-bearer" | "cookie";

/** What a route's `run` works with: the request JSON, the token, and in-process RPCs. */
export interface ProfileCall {
  readonly body: Readonly<Record<string, JsonValue>>;
  /** The session token the carrier found; empty when none. */
  readonly token: string;
  /** True when the token came from the profile's cookie. */
  readonly viaCookie: boolean;
  /** Calls an RPC in process, as the given token (or as nobody). */
  rpc<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    input: MessageInitShape<I>,
    token?: string,
  ): Promise<MessageShape<O>>;
}

/** A route's answer: JSON body, status (200 by default), and what to do with the cookie. */
export interface ProfileReply {
  readonly status?: number;
  readonly body: JsonValue;
  readonly cookie?: { readonly token: string; readonly maxAgeSeconds: number } | "clear";
}

/**
 * What the OpenAPI document says of a profile route beyond its table entry: written next to
 * the route, so that a change of its body or answer changes its description in the same
 * place (and test/e2e/openapi.test.ts checks real answers against it).
 */
export interface ProfileRouteDoc {
  readonly summary: string;
  readonly description: string;
  /** The JSON body a POST reads. */
  readonly body?: Schema;
  /** The bodies the route answers itself, by status: 200, and any other of its own. */
  readonly answers: Readonly<
    Record<number, { readonly description: string; readonly schema: Schema }>
  >;
  /** The statuses it may refuse with the profile's error body. */
  readonly errors: readonly number[];
}

/**
 * One REST path of a compatibility profile: the path and method, which credential carrier
 * it reads, which fields must be present, how it maps onto RPCs and back, and its
 * description in the OpenAPI document.
 */
export interface ProfileRoute {
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly carrier: Carrier;
  /** Body fields that must be present and non-empty; otherwise 400 with `requiredMessage`. */
  readonly required?: readonly string[];
  readonly requiredMessage?: string;
  /** Replaces the message of a 401, where the reference documents its own. */
  readonly unauthenticatedMessage?: string;
  /** Replaces the message of a 429, where the reference documents its own (Retry-After says when). */
  readonly rateLimitedMessage?: string;
  /** Renews a cookie session on this activity once half of its lifetime has passed. */
  readonly renews?: boolean;
  readonly run: (call: ProfileCall) => Promise<ProfileReply>;
  readonly doc: ProfileRouteDoc;
}

/** A compatibility profile: a table of routes and the shape of its error bodies. */
export interface Profile {
  readonly name: string;
  /** What the profile is, for the OpenAPI document. */
  readonly description: string;
  readonly routes: readonly ProfileRoute[];
  /** The session cookie's name, for profiles that use one. */
  readonly cookieName?: string;
  /** Lifetime of sessions this profile starts, in seconds (0: the server default). */
  readonly sessionSeconds: number;
  /** The error body for a status, e.g. `{success: false, error: "Unauthorized", message}`. */
  errorBody(status: number, message: string, reason: string): JsonValue;
  /** The JSON Schema of `errorBody`'s answers. */
  readonly errorSchema: Schema;
}

/** Settings the profile runner needs besides the REST layer's. */
export interface ProfileSettings {
  readonly cookies: CookiePolicy;
  /** Answers "forbidden" for a state-changing cookie request from a foreign origin. */
  readonly checkCookieOrigin: (request: NodeRequest) => "ok" | "forbidden";
  readonly now: () => number;
}

/** The phrase of an HTTP status, as references use it in their `error` fields. */
export function statusPhrase(status: number): string {
  return STATUS_CODES[status] ?? "Error";
}

/** The error body both references document, `{success: false, error, message}`, as a schema. */
export const statusPhraseErrorSchema: Schema = object(
  {
    success: constant(false, "Always false on a refusal."),
    error: text("The phrase of the HTTP status, such as `Unauthorized`."),
    message: text("A short sentence for people."),
  },
  [],
  "A refusal, in the shape the profile's reference documents.",
);

/** Finds the route of any enabled profile for a request. */
export function matchProfileRoute(
  profiles: readonly Profile[],
  request: NodeRequest,
): { profile: Profile; route: ProfileRoute } | undefined {
  const path = pathOf(request.url);
  for (const profile of profiles) {
    const route = profile.routes.find((candidate) => candidate.path === path);
    if (route !== undefined) {
      if (route.method !== request.method) {
        const allow = profile.routes
          .filter((r) => r.path === path)
          .map((r) => r.method)
          .join(", ");
        throw new RestError(405, "METHOD_NOT_ALLOWED", `Use ${allow} for ${path}`, { allow });
      }
      return { profile, route };
    }
  }
  return undefined;
}

/**
 * Whether a request is subject to the origin check: it is authenticated by the cookie, or
 * it is a login that would set one (a foreign page must not sign a browser in as someone
 * else: login CSRF).
 */
function setsOrUsesCookie(profile: Profile, route: ProfileRoute, viaCookie: boolean): boolean {
  return viaCookie || (profile.cookieName !== undefined && route.carrier === "none");
}

function missingField(route: ProfileRoute, body: Readonly<Record<string, JsonValue>>): boolean {
  return (route.required ?? []).some((field) => {
    const value = body[field];
    return value === undefined || value === null || value === "";
  });
}

/**
 * Serves one profile route: reads the carrier's token, checks required fields and the
 * origin of cookie requests, runs the route's RPCs in process, renews a cookie session on
 * activity, and shapes every failure the way the profile's reference documents.
 */
export async function serveProfileRoute(
  deps: RestDeps,
  settings: ProfileSettings,
  match: { profile: Profile; route: ProfileRoute },
  request: NodeRequest,
  response: NodeResponse,
): Promise<void> {
  const { profile, route } = match;
  try {
    const body =
      route.method === "POST" ? parseJsonObject(await readBody(request, deps.maxBodyBytes)) : {};
    const { token, viaCookie } = carried(route, profile, request);
    if (
      setsOrUsesCookie(profile, route, viaCookie) &&
      settings.checkCookieOrigin(request) === "forbidden"
    ) {
      throw new RestError(
        403,
        "ORIGIN_NOT_ALLOWED",
        "Cross-site request refused: origin not allowed",
      );
    }
    if (missingField(route, body)) {
      throw new RestError(
        400,
        "INVALID_ARGUMENT",
        route.requiredMessage ?? "Missing required fields",
      );
    }
    const responseHeader = new Headers();
    const call: ProfileCall = {
      body,
      token,
      viaCookie,
      rpc: (method, input, as = "") =>
        deps.caller.call(method, input, {
          header: new Headers(as === "" ? {} : { authorization: `Bearer ${as}` }),
          contextValues: deps.contextValuesOf(request),
          signal: new AbortController().signal,
          responseHeader,
        }),
    };
    const reply = await route.run(call);
    await endReplacedCookieSession(call, profile, route, reply, request);
    const renewed =
      viaCookie && route.renews ? await renewIfDue(call, profile, settings.now()) : undefined;
    const cookie = setCookieHeader(profile, settings, renewed ?? reply);
    setCookies(response, [
      ...responseHeader.getSetCookie(),
      ...(cookie === undefined ? [] : [cookie]),
    ]);
    sendJson(response, reply.status ?? 200, reply.body);
  } catch (error) {
    sendProfileError(profile, route, response, error, deps);
  }
}

function sendProfileError(
  profile: Profile,
  route: ProfileRoute,
  response: NodeResponse,
  error: unknown,
  deps: RestDeps,
): void {
  if (error instanceof RestError) {
    sendJson(
      response,
      error.status,
      profile.errorBody(error.status, error.message, error.code),
      error.headers,
    );
    return;
  }
  const mapped = toConnectError(error);
  if (!(mapped instanceof ConnectError)) {
    deps.logger.error({ err: error }, "profile route failed");
    sendJson(response, 500, profile.errorBody(500, "An unexpected error occurred", "INTERNAL"));
    return;
  }
  const status = codeToHttpStatus(mapped.code);
  const documented = { 401: route.unauthenticatedMessage, 429: route.rateLimitedMessage }[status];
  const message = documented ?? mapped.rawMessage;
  sendJson(
    response,
    status,
    profile.errorBody(status, message, reasonOf(mapped) ?? ""),
    rateLimitHeadersFromError(mapped),
  );
}
