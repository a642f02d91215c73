import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { parseCookie } from "cookie";
import type { HeaderValueOption } from "../../gen/envoy/config/core/v3/base_pb.js";
import {
  type Authorization,
  type CheckRequest,
  type CheckResponse,
  CheckResponseSchema,
} from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { StatusCode } from "../../gen/envoy/type/v3/http_status_pb.js";
import type { InactiveReason } from "../domain/session.js";
import { presentedToken } from "../transport/credentials.js";
import type { SessionService } from "./session-service.js";

/** The session cookie of reference 002, which a proxy in front of browsers also sees. */
const sessionCookie = "auth-token";

/** google.rpc.Code values of the Check status. */
const grpcOk = 0;
const grpcUnauthenticated = 16;

/** The `{error, message}` body of each reason a token is not active. */
const refusals: Readonly<Record<InactiveReason, readonly [string, string]>> = {
  unknown: ["SESSION_INVALID", "Invalid session token"],
  malformed: ["SESSION_INVALID", "Invalid session token"],
  expired: ["SESSION_EXPIRED", "Session token expired"],
  idle_timeout: ["SESSION_EXPIRED", "Session token expired after inactivity"],
  revoked: ["SESSION_REVOKED", "Session token revoked"],
  totp_required: ["TOTP_REQUIRED", "TOTP code required"],
  totp_invalid: ["TOTP_INVALID", "Invalid or already used TOTP code"],
};

function header(key: string, value: string): HeaderValueOption {
  return {
    $typeName: "envoy.config.core.v3.HeaderValueOption",
    header: { $typeName: "envoy.config.core.v3.HeaderValue", key, value },
  };
}

/** The token the proxied request carries: Bearer, then X-Session-Token, then the session cookie. */
function carriedToken(headers: Headers): string {
  const fromHeaders = presentedToken(headers);
  const cookie = headers.get("cookie");
  if (fromHeaders !== "" || cookie === null) {
    return fromHeaders;
  }
  return parseCookie(cookie)[sessionCookie] ?? "";
}

/** UNAUTHENTICATED with a 401 the proxy sends to the client as JSON `{error, message}`. */
function denied(error: string, message: string, bearerError: boolean): CheckResponse {
  return create(CheckResponseSchema, {
    status: { code: grpcUnauthenticated, message },
    httpResponse: {
      case: "deniedResponse",
      value: {
        status: { code: StatusCode.Unauthorized },
        headers: [
          header("content-type", "application/json"),
          header(
            "www-authenticate",
            bearerError
              ? 'Bearer realm="keycard", error="invalid_token"'
              : 'Bearer realm="keycard"',
          ),
        ],
        body: JSON.stringify({ error, message }),
      },
    },
  });
}

/**
 * envoy.service.auth.v3.Authorization, Envoy's ext_authz over gRPC: a live credential in
 * the proxied request's headers answers OK with the identity headers of `/auth/verify`
 * added upstream; anything else answers UNAUTHENTICATED with a 401 for the client. The
 * decision is in the response: Check fails as an RPC only when keycard itself cannot judge.
 */
export class ExtAuthzImpl implements ServiceImpl<typeof Authorization> {
  constructor(private readonly sessions: SessionService) {}

  async check(request: CheckRequest): Promise<CheckResponse> {
    const headers = new Headers();
    for (const [key, value] of Object.entries(request.attributes?.request?.http?.headers ?? {})) {
      try {
        headers.set(key, value);
      } catch {
        // A header the Fetch API cannot hold carries no credential keycard reads.
      }
    }
    const token = carriedToken(headers);
    if (token === "") {
      return denied("UNAUTHENTICATED", "Missing session token", false);
    }
    const verdict = await this.sessions.introspect(token, headers.get("x-totp-code")?.trim() ?? "");
    if (!verdict.active) {
      const [error, message] = refusals[verdict.reason];
      return denied(error, message, true);
    }
    const { identity } = verdict;
    return create(CheckResponseSchema, {
      status: { code: grpcOk },
      httpResponse: {
        case: "okResponse",
        value: {
          headers: [
            header("x-auth-user", identity.userId),
            header("x-auth-email", identity.email),
            header("x-auth-roles", identity.roles.join(",")),
            header("x-auth-session", identity.sessionId),
          ],
        },
      },
    });
  }
}
