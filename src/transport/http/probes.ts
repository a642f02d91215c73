import type { JsonValue } from "@bufbuild/protobuf";
import type { Store } from "../../domain/ports.js";
import type { StoreFailures } from "../store-failure-share.js";
import { constant, integer, object } from "./openapi/json-schema.js";
import { jsonResponse } from "./openapi/responses.js";
import type { PathItem } from "./openapi/types.js";
import { onlyGetOrHead } from "./rest-error.js";
import { type NodeRequest, type NodeResponse, sendJson } from "./rest-handler.js";

/** What the probes look at: the store, the shutdown signal and recent store failures. */
export interface ProbeDeps {
  readonly store: Store;
  readonly draining: AbortSignal;
  readonly storeFailures: () => StoreFailures;
}

/** The Kubernetes probe paths. */
const probePaths = new Set(["/healthz", "/readyz"]);

/**
 * Answers the Kubernetes probes and returns true, or returns false for any other path.
 * `GET /healthz` (liveness): 200 `{"status":"ok"}` whenever the process answers at all,
 * draining included. `GET /readyz` (readiness): 503 `{"status":"draining","error":
 * "SHUTTING_DOWN"}` once `draining` is aborted (SIGTERM), 503 `{"status":"unavailable",
 * "error":"STORE_UNAVAILABLE"}` while the store does not answer a ping, else 200: `{"status":
 * "ready"}`, or `{"status":"degraded",...}` with the share of the last 10 s of calls that
 * failed for want of the store (a Cluster with a master down). Degraded stays ready: every
 * replica shares the store, so taking this one out of rotation would only move its calls to
 * replicas that fail them alike, and drop the ones that succeed.
 */
export async function serveProbe(
  probe: ProbeDeps,
  path: string,
  request: NodeRequest,
  response: NodeResponse,
): Promise<boolean> {
  if (!probePaths.has(path)) {
    return false;
  }
  onlyGetOrHead(request.method, path);
  if (path === "/healthz") {
    sendJson(response, 200, { status: "ok" });
    return true;
  }
  if (probe.draining.aborted) {
    sendJson(response, 503, { status: "draining", error: "SHUTTING_DOWN" });
    return true;
  }
  try {
    await probe.store.ping();
    sendJson(response, 200, readiness(probe.storeFailures()));
  } catch {
    sendJson(response, 503, { status: "unavailable", error: "STORE_UNAVAILABLE" });
  }
  return true;
}

/** The ready answer: plain, or degraded with the share of recent calls the store failed. */
function readiness({ calls, failed, windowSeconds }: StoreFailures): Record<string, JsonValue> {
  if (failed === 0) {
    return { status: "ready" };
  }
  return {
    status: "degraded",
    store_failing_share: Math.round((failed / calls) * 100) / 100,
    failed_calls: failed,
    calls,
    window_seconds: windowSeconds,
  };
}

const notReady = object({
  status: { enum: ["draining", "unavailable"], description: "Why the replica is not ready." },
  error: { enum: ["SHUTTING_DOWN", "STORE_UNAVAILABLE"], description: "The reason." },
});

const ready = {
  oneOf: [
    object({ status: constant("ready") }),
    object(
      {
        status: constant("degraded"),
        store_failing_share: {
          type: "number",
          minimum: 0,
          maximum: 1,
          description: "The share of recent calls the store failed.",
        },
        failed_calls: integer("Calls that failed for want of the store in the window."),
        calls: integer("Calls in the window."),
        window_seconds: integer("The window's length."),
      },
      [],
      "Ready, though some store calls fail (a Cluster with a master down).",
    ),
  ],
};

/** `/healthz` in the OpenAPI document. */
export const livenessDoc: PathItem = {
  get: {
    operationId: "liveness",
    summary: "Liveness: 200 whenever the process answers, draining included.",
    tags: ["Probes"],
    responses: { "200": jsonResponse("Alive.", object({ status: constant("ok") })) },
  },
};

/** `/readyz` in the OpenAPI document. */
export const readinessDoc: PathItem = {
  get: {
    operationId: "readiness",
    summary: "Readiness: 503 while draining or while the store does not answer a ping.",
    tags: ["Probes"],
    responses: {
      "200": jsonResponse("Ready to serve.", ready),
      "503": jsonResponse("Not ready.", notReady),
    },
  },
};
