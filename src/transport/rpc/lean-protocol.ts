import type { NodeRequest } from "../server/front-door.js";

/** The wire shapes the lean path answers; everything else takes the full Connect path. */
export type LeanProtocol = "connect-json" | "connect-proto" | "grpc" | "grpc-web";

const grpcTypes = new Set(["application/grpc", "application/grpc+proto"]);
const grpcWebTypes = new Set(["application/grpc-web", "application/grpc-web+proto"]);
const jsonTypes = new Set(["application/json", "application/json; charset=utf-8"]);

function isIdentity(encoding: string | string[] | undefined): boolean {
  return encoding === undefined || encoding === "identity";
}

/**
 * The lean protocol of a unary POST, or undefined when it needs the full path: compressed
 * bodies, deadlines (connect-timeout-ms, grpc-timeout), gRPC over HTTP/1.1, gRPC-Web text,
 * unknown Connect versions and content types.
 */
export function leanProtocolOf(request: NodeRequest): LeanProtocol | undefined {
  const headers = request.headers;
  const type = headers["content-type"] ?? "";
  if (!isIdentity(headers["content-encoding"])) {
    return undefined;
  }
  if (grpcTypes.has(type) || grpcWebTypes.has(type)) {
    if (!isIdentity(headers["grpc-encoding"]) || headers["grpc-timeout"] !== undefined) {
      return undefined;
    }
    if (grpcWebTypes.has(type)) {
      return "grpc-web";
    }
    return request.httpVersionMajor === 2 ? "grpc" : undefined;
  }
  const version = headers["connect-protocol-version"];
  if (headers["connect-timeout-ms"] !== undefined || (version !== undefined && version !== "1")) {
    return undefined;
  }
  if (jsonTypes.has(type)) {
    return "connect-json";
  }
  return type === "application/proto" ? "connect-proto" : undefined;
}
