import http from "node:http";
import type { ConnectionLimits } from "./limits.js";

/** How often Node checks HTTP/1.1 connections for their header and request deadlines. */
const deadlineCheckIntervalMs = 1_000;

/**
 * The HTTP/1.1 half of the port: an `http.Server` that never listens itself (the front door
 * hands it sockets), with Node's own deadlines switched on: headers within
 * `headersTimeoutMs`, the whole request within `requestTimeoutMs` (408 otherwise), idle
 * keep-alive connections closed after `keepAliveTimeoutMs`, headers bounded in size.
 */
export function createHttp1Server(
  limits: ConnectionLimits,
  handler: http.RequestListener,
): http.Server {
  const server = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: deadlineCheckIntervalMs,
      maxHeaderSize: limits.maxHeaderBytes,
    },
    handler,
  );
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  // Node starts checking those deadlines when a server starts listening; this one never does.
  server.emit("listening");
  return server;
}
