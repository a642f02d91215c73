import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  type Health,
  type HealthCheckRequest,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../../gen/grpc/health/v1/health_pb.js";
import { AdminService } from "../../../gen/keycard/v1/admin_service_pb.js";
import { AuthService } from "../../../gen/keycard/v1/auth_service_pb.js";
import type { Store } from "../../domain/ports.js";
import { withoutRequestDeadline } from "../../domain/request-deadline.js";

/** The services a health check may name: "" (the whole server) and each keycard service. */
const knownServices = new Set(["", AuthService.typeName, AdminService.typeName]);

/** Resolves once `signal` is aborted. */
function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) {
    return Promise.resolve();
  }
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true }),
  );
}

/**
 * grpc.health.v1.Health: keycard serves while its store answers and it is not draining.
 * Every known service shares the store, so they share one status.
 */
export class HealthServiceImpl implements ServiceImpl<typeof Health> {
  constructor(
    private readonly store: Store,
    /** Aborted once the server starts draining (SIGTERM): NOT_SERVING from then on. */
    private readonly draining: AbortSignal,
    /** How often Watch asks the store again. */
    private readonly pollIntervalMs = 1_000,
  ) {}

  /** SERVING while the store answers a ping and the server is not draining, NOT_SERVING otherwise. */
  async status(): Promise<ServingStatus> {
    if (this.draining.aborted) {
      return ServingStatus.NOT_SERVING;
    }
    try {
      await this.store.ping();
      return ServingStatus.SERVING;
    } catch {
      return ServingStatus.NOT_SERVING;
    }
  }

  /** The status now; NOT_FOUND for a service keycard does not serve, as the protocol says. */
  async check(request: HealthCheckRequest): Promise<{ status: ServingStatus }> {
    if (!knownServices.has(request.service)) {
      throw new ConnectError(`Unknown service "${request.service}"`, Code.NotFound);
    }
    return { status: await this.status() };
  }

  /**
   * The status now and again on every change, until the caller goes away. An unknown
   * service gets SERVICE_UNKNOWN and an open stream, as the protocol says. When the server
   * starts draining, the stream says NOT_SERVING at once and ends, so it does not hold the
   * drain open.
   */
  async *watch(
    request: HealthCheckRequest,
    context: HandlerContext,
  ): AsyncGenerator<{ status: ServingStatus }> {
    const { signal } = context;
    const wake = AbortSignal.any([signal, this.draining]);
    if (!knownServices.has(request.service)) {
      yield { status: ServingStatus.SERVICE_UNKNOWN };
      await aborted(wake);
      return;
    }
    let last: ServingStatus | undefined;
    while (!signal.aborted) {
      // A stream outlives its request's store deadline: polls run outside it.
      const status = await withoutRequestDeadline(() => this.status());
      if (status !== last && !signal.aborted) {
        last = status;
        yield { status };
      }
      if (this.draining.aborted) {
        return;
      }
      await sleep(this.pollIntervalMs, undefined, { signal: wake }).catch(() => undefined);
    }
  }
}
