import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { HeaderValueOption } from "../../../gen/envoy/config/core/v3/base_pb.js";
import {
  type Authorization,
  type CheckRequest,
  type CheckResponse,
  CheckResponseSchema,
} from "../../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { StatusCode } from "../../../gen/envoy/type/v3/http_status_pb.js";
import { epochSeconds } from "../../domain/clock.js";
import type { ClientInfo } from "../../domain/session.js";
import { inactiveRefusal } from "../../service/session-judge.js";
import type { SessionService } from "../../service/session-service.js";
import { carriedToken } from "../credentials.js";

/** google.rpc.Code values of the Check status. */
const grpcOk = 0;
const grpcUnauthenticated = 16;

function header(key: string, value: string): HeaderValueOption {
  return {
    $typeName: "envoy.config.core.v3.HeaderValueOption",
    header: { $typeName: "envoy.config.core.v3.HeaderValue", key, value },
  };
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
 * The client of the proxied request: the address Envoy appended to X-Forwarded-For (the
 * last hop; Envoy is the caller, so it is trusted), and the user agent.
 */
function proxiedClient(headers: Headers): ClientInfo {
  const hops = (headers.get("x-forwarded-for") ?? "").split(",");
  return {
    ip: hops.at(-1)?.trim() ?? "",
    userAgent: headers.get("user-agent")?.slice(0, 512) ?? "",
  };
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
    const token = carriedToken(headers, headers.get("cookie") ?? undefined);
    if (token === "") {
      return denied("UNAUTHENTICATED", "Missing session token", false);
    }
    const verdict = await this.sessions.introspect(
      token,
      headers.get("x-totp-code")?.trim() ?? "",
      () => proxiedClient(headers),
    );
    if (!verdict.active) {
      const [error, message] = inactiveRefusal(verdict.reason);
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
            header("x-auth-aal", String(identity.assurance.aal)),
            header("x-auth-time", String(epochSeconds(identity.assurance.authTime))),
          ],
        },
      },
    });
  }
}
