import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { ErrorReason } from "../../gen/keycard/v1/error_reason_pb.js";
import type { AuditLog } from "../service/audit.js";
import { FastHistogram, type HistogramSeries } from "./fast-histogram.js";
import { reasonName, reasonOf } from "./handlers/errors.js";

/** Sub-millisecond to one second: Validate answers from Redis in well under a millisecond. */
const latencyBuckets = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

/** A minute to the longest remember-me session: how long sessions live, in seconds. */
const lifetimeBuckets = [60, 300, 900, 3_600, 14_400, 43_200, 86_400, 259_200, 604_800, 2_592_000];

const validatePath = "keycard.v1.AuthService/Validate";
const storeUnavailable = reasonName(ErrorReason.STORE_UNAVAILABLE);

/**
 * The Prometheus metrics of one server. Each server owns its registry (never prom-client's
 * global one), so several servers in one process, as in tests, count independently.
 */
export interface KeycardMetrics {
  readonly registry: Registry;
  readonly logins: Counter<"outcome" | "credential">;
  readonly sessionsRevoked: Counter;
  readonly sessionsRefreshed: Counter;
  readonly sessionsRenewed: Counter;
  readonly sessionsExpired: Counter;
  /** How long sessions lived when they ended, by why they ended (`reason`). */
  readonly sessionLifetime: Histogram<"reason">;
  readonly unknownTokens: Counter;
  /** By `method` and `code`. */
  readonly rpcDuration: FastHistogram;
  readonly validateDuration: HistogramSeries;
  readonly storeErrors: Counter;
  readonly connectionsRefused: Counter<"reason">;
  readonly connectionsClosed: Counter<"reason">;
  /** Logins from a device or place the account had not used in 90 days, by `kind`. */
  readonly loginSignals: Counter<"kind">;
  /** Logins whose devices and places could not be recorded (the store failed). */
  readonly loginSignalErrors: Counter;
  /** SECURITY_WEBHOOK_URL deliveries by `outcome` (see DeliveryOutcome). */
  readonly webhookDeliveries: Counter<"outcome">;
}

/** Creates a server's metrics; `processMetrics` adds Node's default process metrics too. */
export function createMetrics(options: { processMetrics?: boolean } = {}): KeycardMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.processMetrics === true) {
    collectDefaultMetrics({ register: registry });
  }
  return {
    registry,
    logins: new Counter({
      name: "keycard_logins_total",
      help: "Login attempts by outcome (success, failure) and credential kind.",
      labelNames: ["outcome", "credential"],
      registers,
    }),
    sessionsRevoked: new Counter({
      name: "keycard_sessions_revoked_total",
      help: "Sessions revoked (logout, admin revocation, revoke-all, reuse detection).",
      registers,
    }),
    sessionsRefreshed: new Counter({
      name: "keycard_sessions_refreshed_total",
      help: "Sessions renewed through Refresh.",
      registers,
    }),
    sessionsRenewed: new Counter({
      name: "keycard_sessions_renewed_total",
      help: "Sessions renewed automatically on use once SESSION_RENEW_AFTER of their lifetime had passed.",
      registers,
    }),
    sessionsExpired: new Counter({
      name: "keycard_sessions_expired_total",
      help: "Sessions that reached their expiry, counted once by whichever replica swept them.",
      registers,
    }),
    sessionLifetime: new Histogram({
      name: "keycard_session_lifetime_seconds",
      help: "How long sessions lived, from login to their end, by end reason (logout, revoked, expired, reuse_detected, privilege_change, ...).",
      labelNames: ["reason"],
      buckets: lifetimeBuckets,
      registers,
    }),
    unknownTokens: new Counter({
      name: "keycard_unknown_tokens_total",
      help: "Tokens presented that keycard never issued (unknown or malformed): a burst is someone guessing.",
      registers,
    }),
    rpcDuration: new FastHistogram(
      "keycard_rpc_duration_seconds",
      "Duration of RPCs (Connect, gRPC and REST alike) by method and status code.",
      latencyBuckets,
      registry,
    ),
    validateDuration: new FastHistogram(
      "keycard_validate_duration_seconds",
      "Duration of AuthService/Validate calls, active and inactive tokens alike.",
      latencyBuckets,
      registry,
    ).series(),
    storeErrors: new Counter({
      name: "keycard_store_errors_total",
      help: "RPCs that failed with STORE_UNAVAILABLE (Redis unreachable or slow).",
      registers,
    }),
    connectionsRefused: new Counter({
      name: "keycard_connections_refused_total",
      help: "Connections refused on arrival: max_connections, per_ip, or penalized (recent HTTP/2 abuse).",
      labelNames: ["reason"],
      registers,
    }),
    connectionsClosed: new Counter({
      name: "keycard_connections_closed_total",
      help: "Connections and HTTP/2 streams the server cut: timeouts, idle HTTP/2, stream and reset floods.",
      labelNames: ["reason"],
      registers,
    }),
    loginSignals: new Counter({
      name: "keycard_login_new_signals_total",
      help: "Logins from a device (kind=device) or place (kind=location) the account had not used in 90 days.",
      labelNames: ["kind"],
      registers,
    }),
    loginSignalErrors: new Counter({
      name: "keycard_login_signal_errors_total",
      help: "Logins whose device and place could not be recorded, so no new-device or new-place signal was looked for; the logins succeeded.",
      registers,
    }),
    webhookDeliveries: new Counter({
      name: "keycard_security_webhook_deliveries_total",
      help: "SECURITY_WEBHOOK_URL deliveries: events delivered, tries retried, events failed (refused or out of tries) or dropped (queue full, or keycard stopped).",
      labelNames: ["outcome"],
      registers,
    }),
  };
}

/** Wraps an audit log so that each event also moves its counter, if it has one. */
export function countingAudit(metrics: KeycardMetrics, audit: AuditLog): AuditLog {
  return (event, fields) => {
    audit(event, fields);
    const credential = String(fields.credential ?? "");
    if (event === "login.succeeded") {
      metrics.logins.inc({ outcome: "success", credential });
    } else if (event === "login.failed") {
      metrics.logins.inc({ outcome: "failure", credential });
    } else if (event === "session.revoked" || event === "session.reuse_detected") {
      metrics.sessionsRevoked.inc();
    } else if (event === "session.revoked_all") {
      metrics.sessionsRevoked.inc(Number(fields.count ?? 0));
    } else if (event === "session.refreshed") {
      metrics.sessionsRefreshed.inc();
    } else if (event === "session.renewed") {
      metrics.sessionsRenewed.inc();
    } else if (event === "session.expired") {
      metrics.sessionsExpired.inc();
    } else if (event === "login.locked") {
      metrics.logins.inc({ outcome: "locked", credential });
    } else if (event === "login.new_device") {
      metrics.loginSignals.inc({ kind: "device" });
    } else if (event === "login.new_location") {
      metrics.loginSignals.inc({ kind: "location" });
    }
  };
}

/**
 * Adds the `keycard_sessions_active` gauge, read from the store at each scrape: the same
 * figure from every replica (aggregate with max, not sum). A store that cannot answer
 * leaves the last value and counts a store error.
 */
export function trackLiveSessions(metrics: KeycardMetrics, countLive: () => Promise<number>): void {
  new Gauge({
    name: "keycard_sessions_active",
    help: "Live sessions of all users in the store (not expired, not revoked).",
    registers: [metrics.registry],
    async collect() {
      try {
        this.set(await countLive());
      } catch {
        metrics.storeErrors.inc();
      }
    },
  });
}

/** Adds the `keycard_connections_open` gauge, read from the front door at each scrape. */
export function trackOpenConnections(metrics: KeycardMetrics, open: () => number): void {
  new Gauge({
    name: "keycard_connections_open",
    help: "Client connections open right now, of either HTTP version.",
    registers: [metrics.registry],
    collect() {
      this.set(open());
    },
  });
}

/**
 * Times every call into the RPC histograms. Placed first in the chain, so it sees the
 * mapped ConnectError and the time spent in every other interceptor.
 */
export function metricsInterceptor(metrics: KeycardMetrics): Interceptor {
  return (next) => async (req) => {
    const method = `${req.service.typeName}/${req.method.name}`;
    const started = performance.now();
    try {
      const response = await next(req);
      recordRpc(metrics, method, started);
      return response;
    } catch (error) {
      recordRpc(metrics, method, started, ConnectError.from(error));
      throw error;
    }
  };
}

/** The series of each server's RPC histogram by method and code, kept for the hot path. */
const rpcSeries = new WeakMap<KeycardMetrics, Map<string, HistogramSeries>>();

function rpcDurationOf(metrics: KeycardMetrics, method: string, code: string): HistogramSeries {
  let byKey = rpcSeries.get(metrics);
  if (byKey === undefined) {
    byKey = new Map();
    rpcSeries.set(metrics, byKey);
  }
  const key = `${method} ${code}`;
  let series = byKey.get(key);
  if (series === undefined) {
    series = metrics.rpcDuration.series({ method, code });
    byKey.set(key, series);
  }
  return series;
}

/** Counts one finished call, begun at `started` (performance.now()), by its outcome. */
export function recordRpc(
  metrics: KeycardMetrics,
  method: string,
  started: number,
  error?: ConnectError,
): void {
  const seconds = (performance.now() - started) / 1000;
  if (error !== undefined && reasonOf(error) === storeUnavailable) {
    metrics.storeErrors.inc();
  }
  const code = error === undefined ? "OK" : Code[error.code];
  rpcDurationOf(metrics, method, code).observe(seconds);
  if (method === validatePath) {
    metrics.validateDuration.observe(seconds);
  }
}
