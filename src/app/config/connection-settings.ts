import { readFileSync } from "node:fs";
import { type ConnectionLimits, defaultConnectionLimits } from "../../transport/server/limits.js";
import type { EnvReader } from "./env-reader.js";

/** Descriptors kept for everything that is not a client connection: Redis, logs, files. */
const reservedDescriptors = 256;

/**
 * The default MAX_CONNECTIONS: 10,000, or three quarters of the process's open-file limit
 * less a reserve when that is lower, so that refusing a connection is a decision keycard
 * makes, not an EMFILE that breaks Redis or the log.
 */
export function defaultMaxConnections(limitsFile = "/proc/self/limits"): number {
  let text: string;
  try {
    text = readFileSync(limitsFile, "utf8");
  } catch {
    return defaultConnectionLimits.maxConnections;
  }
  const soft = Number(/^Max open files\s+(\d+)/m.exec(text)?.[1] ?? Number.NaN);
  if (!Number.isFinite(soft)) {
    return defaultConnectionLimits.maxConnections;
  }
  const fitting = Math.floor(soft * 0.75) - reservedDescriptors;
  return Math.max(64, Math.min(defaultConnectionLimits.maxConnections, fitting));
}

/** The connection bounds of the front door (README, "Connection limits"). */
export function readConnectionLimits(read: EnvReader): ConnectionLimits {
  const seconds = (ms: number): string => `${ms / 1000}s`;
  const d = defaultConnectionLimits;
  return {
    headersTimeoutMs: read.duration("HTTP_HEADERS_TIMEOUT", seconds(d.headersTimeoutMs)),
    requestTimeoutMs: read.duration("HTTP_REQUEST_TIMEOUT", seconds(d.requestTimeoutMs)),
    keepAliveTimeoutMs: read.duration("HTTP_KEEPALIVE_TIMEOUT", seconds(d.keepAliveTimeoutMs)),
    http2IdleTimeoutMs: read.duration("HTTP2_IDLE_TIMEOUT", seconds(d.http2IdleTimeoutMs)),
    http2MaxConcurrentStreams: read.integer(
      "HTTP2_MAX_CONCURRENT_STREAMS",
      d.http2MaxConcurrentStreams,
      1,
      10_000,
    ),
    http2MaxStreamsPerSecond: read.integer(
      "HTTP2_MAX_STREAMS_PER_SECOND",
      d.http2MaxStreamsPerSecond,
      1,
      1_000_000,
    ),
    http2MaxResetsPerSecond: read.integer(
      "HTTP2_MAX_RESETS_PER_SECOND",
      d.http2MaxResetsPerSecond,
      1,
      100_000,
    ),
    maxHeaderBytes: read.integer("HTTP_MAX_HEADER_BYTES", d.maxHeaderBytes, 1_024, 1_048_576),
    maxConnections: read.integer("MAX_CONNECTIONS", defaultMaxConnections(), 1, 1_000_000),
    maxConnectionsPerIp: read.integer(
      "MAX_CONNECTIONS_PER_IP",
      d.maxConnectionsPerIp,
      1,
      1_000_000,
    ),
    abusePenaltyMs: d.abusePenaltyMs,
  };
}
