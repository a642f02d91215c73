import type { Logger } from "pino";
import type { KeycardMetrics } from "../metrics.js";
import type { DoorEvent, DoorReporter } from "./connection-guard.js";

/** What each front-door event means, for the log; `level` says how loudly. */
const described: Record<DoorEvent, { level: "warn" | "info" | "debug"; message: string }> = {
  refused_max_connections: {
    level: "warn",
    message: "connections refused: MAX_CONNECTIONS open connections reached",
  },
  refused_per_ip: {
    level: "warn",
    message: "connections refused: MAX_CONNECTIONS_PER_IP reached for one client address",
  },
  refused_penalized: {
    level: "warn",
    message: "connections refused: the client address was recently cut off for HTTP/2 abuse",
  },
  sniff_timeout: {
    level: "info",
    message: "connections closed: nothing sent within HTTP_HEADERS_TIMEOUT",
  },
  http2_idle: { level: "debug", message: "HTTP/2 connections closed: idle for HTTP2_IDLE_TIMEOUT" },
  http2_stream_timeout: {
    level: "info",
    message: "HTTP/2 streams cancelled: request body not received within HTTP_REQUEST_TIMEOUT",
  },
  http2_stream_flood: {
    level: "warn",
    message: "HTTP/2 connections cut: more than HTTP2_MAX_STREAMS_PER_SECOND new streams",
  },
  http2_reset_flood: {
    level: "warn",
    message: "HTTP/2 connections cut: more than HTTP2_MAX_RESETS_PER_SECOND cancelled streams",
  },
};

const refusals = new Set<DoorEvent>([
  "refused_max_connections",
  "refused_per_ip",
  "refused_penalized",
]);

/** The log interval: an attack of a million connections writes one line per event kind per 10 s. */
const logIntervalMs = 10_000;

/**
 * Counts every front-door event in `/metrics` and logs it at a bounded rate: the first of
 * a kind at once, then one line per kind per interval with how many happened and the last
 * client address, so an attack is visible without flooding the log.
 */
export function doorReporter(logger: Logger, metrics: KeycardMetrics): DoorReporter {
  const pending = new Map<DoorEvent, { count: number; ip: string }>();
  const lastLogged = new Map<DoorEvent, number>();
  const flush = (event: DoorEvent): void => {
    const entry = pending.get(event);
    if (entry !== undefined) {
      const { level, message } = described[event];
      logger[level]({ event, count: entry.count, lastIp: entry.ip }, message);
      pending.delete(event);
      lastLogged.set(event, performance.now());
    }
  };
  return (event, ip) => {
    if (refusals.has(event)) {
      metrics.connectionsRefused.inc({ reason: event.replace("refused_", "") });
    } else {
      metrics.connectionsClosed.inc({ reason: event });
    }
    const entry = pending.get(event);
    if (entry !== undefined) {
      entry.count += 1;
      entry.ip = ip;
      return;
    }
    pending.set(event, { count: 1, ip });
    const wait =
      (lastLogged.get(event) ?? Number.NEGATIVE_INFINITY) + logIntervalMs - performance.now();
    if (wait <= 0) {
      flush(event);
    } else {
      setTimeout(() => flush(event), wait).unref();
    }
  };
}
