import {
  Code,
  ConnectError,
  type Interceptor,
  type StreamRequest,
  type UnaryRequest,
} from "@connectrpc/connect";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import { secondsText } from "../domain/duration.js";
import { KeycardError } from "../domain/errors.js";
import type { RateDecision, RateLimitKind, RateLimits } from "../domain/rate-limits.js";
import { clientInfoKey } from "./handlers/context.js";
import { toConnectError } from "./handlers/errors.js";

/**
 * The HTTP headers describing a decision: X-RateLimit-Limit, X-RateLimit-Remaining,
 * X-RateLimit-Reset and, when refused, Retry-After. Empty when no limit was applied.
 */
export function rateLimitHeaders(decision: RateDecision): Record<string, string> {
  if (decision.limit === 0) {
    return {};
  }
  return {
    "X-RateLimit-Limit": String(decision.limit),
    "X-RateLimit-Remaining": String(decision.remaining),
    // A Unix time in seconds, as reference 002 documents it (`1704067260`).
    "X-RateLimit-Reset": String(Math.ceil(Date.now() / 1000) + decision.resetSeconds),
    ...(decision.allowed ? {} : { "Retry-After": String(decision.retryAfterSeconds) }),
  };
}

/**
 * The budget an RPC spends, if any. Login has its own, which StartPasskeyLogin (the first
 * step of a passkey sign-in, open to anyone) spends too; every other AuthService method
 * shares the "auth" one, except Validate: it is called by services on every request they
 * serve, often from one address, so it is not a per-person auth route and is not limited.
 * AdminService is not limited: it requires the administrator token.
 */
export function rateLimitKindOf(req: UnaryRequest | StreamRequest): RateLimitKind | undefined {
  if (req.service.typeName !== AuthService.typeName) {
    return undefined;
  }
  if (
    req.method.name === AuthService.method.login.name ||
    req.method.name === AuthService.method.startPasskeyLogin.name
  ) {
    return "login";
  }
  return req.method.name === AuthService.method.validate.name ? undefined : "auth";
}

/** The client's IP as the server determined it for this request (see client-info.ts). */
export function clientIpOf(req: UnaryRequest | StreamRequest): string {
  return req.contextValues.get(clientInfoKey).ip;
}

/**
 * Refuses AuthService calls over their per-IP budget with ResourceExhausted, reason
 * RATE_LIMITED, a google.rpc.RetryInfo detail and the rate-limit headers; calls within the
 * budget get the headers on their response. It throws an already mapped ConnectError, so it
 * works anywhere in the chain; place it before auth so refused calls cost no store lookups.
 */
export function rateLimitInterceptor(
  limits: RateLimits,
  ipOf: (req: UnaryRequest | StreamRequest) => string = clientIpOf,
): Interceptor {
  return (next) => async (req) => {
    const kind = rateLimitKindOf(req);
    if (kind === undefined) {
      return next(req);
    }
    const decision = await limits.check(kind, ipOf(req));
    const headers = Object.entries(rateLimitHeaders(decision));
    if (!decision.allowed) {
      const refused = toConnectError(
        new KeycardError(
          "RATE_LIMITED",
          `${kind === "login" ? "Too many login attempts" : "Too many requests"}; try again in ${secondsText(decision.retryAfterSeconds)}`,
          undefined,
          decision.retryAfterSeconds,
        ),
      );
      if (refused instanceof ConnectError) {
        for (const [name, value] of headers) {
          refused.metadata.set(name, value);
        }
      }
      throw refused;
    }
    const response = await next(req);
    for (const [name, value] of headers) {
      response.header.set(name, value);
    }
    return response;
  };
}

const headerNames = [
  "Retry-After",
  "X-RateLimit-Limit",
  "X-RateLimit-Remaining",
  "X-RateLimit-Reset",
];

/** The seconds a refused call should wait before trying again, if it was refused for its rate. */
export function retryAfterSecondsOf(error: ConnectError): number | undefined {
  const delay = error.findDetails(RetryInfoSchema)[0]?.retryDelay;
  return error.code === Code.ResourceExhausted && delay !== undefined
    ? Number(delay.seconds)
    : undefined;
}

/**
 * The HTTP headers a REST answer to a throttled call carries (Retry-After and the
 * X-RateLimit-* set), read from the error the RPC failed with; empty for any other error.
 */
export function rateLimitHeadersFromError(error: unknown): Record<string, string> {
  const mapped = toConnectError(error);
  if (!(mapped instanceof ConnectError) || mapped.code !== Code.ResourceExhausted) {
    return {};
  }
  const headers: Record<string, string> = {};
  for (const name of headerNames) {
    const value = mapped.metadata.get(name);
    if (value !== null) {
      headers[name] = value;
    }
  }
  const retryAfter = retryAfterSecondsOf(mapped);
  if (headers["Retry-After"] === undefined && retryAfter !== undefined) {
    headers["Retry-After"] = String(retryAfter);
  }
  return headers;
}
