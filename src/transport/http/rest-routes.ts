import { type DescMethodUnary, type DescService, getOption, hasOption } from "@bufbuild/protobuf";
import { http } from "../../../gen/google/api/annotations_pb.js";
import type { HttpRule } from "../../../gen/google/api/http_pb.js";
import { invalidArgument } from "../../domain/errors.js";

/** One REST path of one RPC, compiled from a google.api.http rule. */
export interface RestRoute {
  readonly httpMethod: string;
  readonly template: string;
  readonly pattern: RegExp;
  /** Proto field names bound by path segments, in order. */
  readonly pathFields: readonly string[];
  /** True when the request body maps onto the whole request message (`body: "*"`). */
  readonly bodyIsMessage: boolean;
  readonly method: DescMethodUnary;
}

/** A matched route with the values of its path variables. */
export interface RestMatch {
  readonly route: RestRoute;
  readonly pathValues: Readonly<Record<string, string>>;
}

function compile(rule: HttpRule, method: DescMethodUnary): RestRoute | undefined {
  const { pattern } = rule;
  if (pattern.case === undefined || pattern.case === "custom") {
    return undefined;
  }
  const template = pattern.value;
  const pathFields: string[] = [];
  const source = template
    .replace(/[.*+?^$()|[\]\\]/g, "\\$&")
    .replace(/\{([a-z0-9_]+)\}/g, (_, field: string) => {
      pathFields.push(field);
      return "([^/]+)";
    });
  return {
    httpMethod: pattern.case.toUpperCase(),
    template,
    pattern: new RegExp(`^${source}$`),
    pathFields,
    bodyIsMessage: rule.body === "*",
    method,
  };
}

function rulesOf(method: DescMethodUnary): HttpRule[] {
  if (!hasOption(method, http)) {
    return [];
  }
  const rule = getOption(method, http);
  return [rule, ...rule.additionalBindings];
}

/** Reads the google.api.http annotations of every unary method of the services. */
export function restRoutes(services: readonly DescService[]): RestRoute[] {
  return services
    .flatMap((service) => service.methods)
    .filter((method): method is DescMethodUnary => method.methodKind === "unary")
    .flatMap((method) => rulesOf(method).map((rule) => compile(rule, method)))
    .filter((route): route is RestRoute => route !== undefined);
}

/** The routes of each path without variables, per route list: most paths are looked up, not matched. */
const staticPaths = new WeakMap<readonly RestRoute[], Map<string, RestRoute[]>>();

function staticRoutesOf(routes: readonly RestRoute[], path: string): RestRoute[] | undefined {
  let byPath = staticPaths.get(routes);
  if (byPath === undefined) {
    byPath = new Map();
    for (const route of routes.filter((candidate) => candidate.pathFields.length === 0)) {
      byPath.set(route.template, [...(byPath.get(route.template) ?? []), route]);
    }
    staticPaths.set(routes, byPath);
  }
  return byPath.get(path);
}

/**
 * Finds the route for a path. `undefined` means no route has this path; a match with a
 * different method is reported as the allowed methods, for a 405.
 */
export function matchRoute(
  routes: readonly RestRoute[],
  httpMethod: string,
  path: string,
): RestMatch | { readonly allowed: string[] } | undefined {
  const exact = staticRoutesOf(routes, path)?.find((route) => route.httpMethod === httpMethod);
  if (exact !== undefined) {
    return { route: exact, pathValues: {} };
  }
  const allowed: string[] = [];
  for (const route of routes) {
    const found = route.pattern.exec(path);
    if (found === null) {
      continue;
    }
    if (route.httpMethod !== httpMethod) {
      allowed.push(route.httpMethod);
      continue;
    }
    const pathValues: Record<string, string> = {};
    route.pathFields.forEach((field, index) => {
      pathValues[field] = decodePathSegment(field, found[index + 1] ?? "");
    });
    return { route, pathValues };
  }
  return allowed.length > 0 ? { allowed } : undefined;
}

function decodePathSegment(field: string, segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw invalidArgument(field, `${field} in the path is not valid percent-encoding`);
  }
}
