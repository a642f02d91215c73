/**
 * Every bound of the front door: how long a client may take and how much of the server it
 * may hold. Each has a default that protects a bare deployment (README, "Connection limits").
 */
export interface ConnectionLimits {
  /** HTTP_HEADERS_TIMEOUT: time for a new connection to show its protocol and, on HTTP/1.1, to send each request's headers. */
  readonly headersTimeoutMs: number;
  /** HTTP_REQUEST_TIMEOUT: time to receive a whole HTTP/1.1 request, or an HTTP/2 stream's request body. */
  readonly requestTimeoutMs: number;
  /** HTTP_KEEPALIVE_TIMEOUT: idle time of an HTTP/1.1 connection between requests. */
  readonly keepAliveTimeoutMs: number;
  /** HTTP2_IDLE_TIMEOUT: time an HTTP/2 connection may stay open without an open stream. */
  readonly http2IdleTimeoutMs: number;
  /** HTTP2_MAX_CONCURRENT_STREAMS: streams one HTTP/2 connection may have open at once. */
  readonly http2MaxConcurrentStreams: number;
  /** HTTP2_MAX_STREAMS_PER_SECOND: streams one HTTP/2 connection may open per second (a burst of one second's worth). */
  readonly http2MaxStreamsPerSecond: number;
  /** HTTP2_MAX_RESETS_PER_SECOND: streams one HTTP/2 connection may cancel per second (a burst of ten seconds' worth). */
  readonly http2MaxResetsPerSecond: number;
  /** HTTP_MAX_HEADER_BYTES: the size of a request's headers, on HTTP/1.1 and HTTP/2. */
  readonly maxHeaderBytes: number;
  /** MAX_CONNECTIONS: open connections in all; kept well under the process's descriptor limit. */
  readonly maxConnections: number;
  /** MAX_CONNECTIONS_PER_IP: open connections per client address (trusted proxies are not capped). */
  readonly maxConnectionsPerIp: number;
  /** How long a client address whose connection was cut for abuse is refused new connections. */
  readonly abusePenaltyMs: number;
}

/** The defaults: slow and silent sockets close within 45 s at the latest. */
export const defaultConnectionLimits: ConnectionLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  http2IdleTimeoutMs: 30_000,
  http2MaxConcurrentStreams: 128,
  http2MaxStreamsPerSecond: 5_000,
  http2MaxResetsPerSecond: 10,
  maxHeaderBytes: 16_384,
  maxConnections: 10_000,
  maxConnectionsPerIp: 256,
  abusePenaltyMs: 10_000,
};
