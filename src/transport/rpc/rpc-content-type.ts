import type { DescService } from "@bufbuild/protobuf";
import type { NodeRequest } from "../server/front-door.js";

/**
 * The content types of the RPC protocols keycard serves: Connect (JSON or binary, unary and
 * streaming), gRPC and gRPC-Web (binary, JSON, base64 text).
 */
const rpcContentType =
  /^application\/(?:json|proto|connect\+(?:json|proto)|grpc(?:-web(?:-text)?)?(?:\+(?:proto|json))?)\s*(?:;|$)/i;

/** The path of each method of `services`, as RPC clients POST to them: `/pkg.Service/Method`. */
export function rpcPathsOf(services: readonly DescService[]): ReadonlySet<string> {
  return new Set(
    services.flatMap((service) =>
      service.methods.map((method) => `/${service.typeName}/${method.name}`),
    ),
  );
}

/**
 * What to tell a POST to an RPC path whose Content-Type no RPC protocol uses (curl's `-d`
 * sends a form type), or undefined when it may go on. connect-node would answer 415 with an
 * empty body, which leaves the caller guessing.
 */
export function unsupportedRpcContentType(
  request: NodeRequest,
  rpcPaths: ReadonlySet<string>,
): string | undefined {
  if (request.method !== "POST" || !rpcPaths.has((request.url ?? "").split("?", 1)[0] ?? "")) {
    return undefined;
  }
  const type = request.headers["content-type"] ?? "";
  if (rpcContentType.test(type)) {
    return undefined;
  }
  const sent = type === "" ? "no Content-Type" : `Content-Type "${type}"`;
  return `This RPC path takes application/json or application/proto (Connect), application/grpc or application/grpc-web; the request has ${sent}. With curl, add -H 'Content-Type: application/json', or use the REST paths (/auth/...)`;
}
