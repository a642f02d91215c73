import type { Store } from "../../domain/ports.js";
import { RestError } from "./rest-error.js";
import { type NodeRequest, type NodeResponse, sendJson } from "./rest-handler.js";

/** The Kubernetes probe paths. */
const probePaths = new Set(["/healthz", "/readyz"]);

/**
 * Answers the Kubernetes probes and returns true, or returns false for any other path.
 * `GET /healthz` (liveness): 200 `{"status":"ok"}` whenever the process answers at all,
 * draining included. `GET /readyz` (readiness): 503 `{"status":"draining","error":
 * "SHUTTING_DOWN"}` once `draining` is aborted (SIGTERM), else 200 `{"status":"ready"}`
 * while the store answers a ping and 503 `{"status":"unavailable","error":
 * "STORE_UNAVAILABLE"}` while it does not.
 */
export async function serveProbe(
  store: Store,
  draining: AbortSignal,
  path: string,
  request: NodeRequest,
  response: NodeResponse,
): Promise<boolean> {
  if (!probePaths.has(path)) {
    return false;
  }
  if (request.method !== "GET" && request.method !== "HEAD") {
    throw new RestError(405, "METHOD_NOT_ALLOWED", `Use GET for ${path}`, { allow: "GET, HEAD" });
  }
  if (path === "/healthz") {
    sendJson(response, 200, { status: "ok" });
    return true;
  }
  if (draining.aborted) {
    sendJson(response, 503, { status: "draining", error: "SHUTTING_DOWN" });
    return true;
  }
  try {
    await store.ping();
    sendJson(response, 200, { status: "ready" });
  } catch {
    sendJson(response, 503, { status: "unavailable", error: "STORE_UNAVAILABLE" });
  }
  return true;
}
