import type http from "node:http";
import type http2 from "node:http2";
import net, { type AddressInfo, type BlockList, type Socket } from "node:net";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { plainAddress } from "../client-info.js";
import type { KeycardMetrics } from "../metrics.js";
import { trackOpenConnections } from "../metrics.js";
import { ConnectionGuard } from "./connection-guard.js";
import { doorReporter } from "./door-report.js";
import { createHttp1Server } from "./http1.js";
import { createHttp2Server, guardHttp2Session } from "./http2.js";
import type { ConnectionLimits } from "./limits.js";
import { sniffProtocol } from "./protocol-sniff.js";

type NodeHandler = ReturnType<typeof connectNodeAdapter>;
/** A request of either HTTP version, as Node hands it over. */
export type NodeRequest = Parameters<NodeHandler>[0];
/** A response of either HTTP version. */
export type NodeResponse = Parameters<NodeHandler>[1];
/** What serves every request, whatever its HTTP version. */
export type RequestHandler = (request: NodeRequest, response: NodeResponse) => void;

/** What the front door is built from. */
export interface FrontDoorOptions {
  readonly handler: RequestHandler;
  readonly limits: ConnectionLimits;
  readonly trustedProxies: BlockList;
  readonly logger: Logger;
  readonly metrics: KeycardMetrics;
  /** Aborted when the server starts draining. */
  readonly draining: AbortController;
  /** Aborted when a drain outlasts the shutdown timeout: in-flight calls give up. */
  readonly shutdown: AbortController;
  readonly shutdownTimeoutMs: number;
}

/**
 * One TCP port, two protocols: a connection that opens with the HTTP/2 preface goes to the
 * h2c server, anything else to the HTTP/1.1 server; both share one handler. Every
 * connection is admitted by the guard, must show its protocol within the header deadline,
 * and is bounded by its protocol's deadlines (limits.ts).
 *
 * Closing drains: the port stops accepting, HTTP/2 sessions get GOAWAY (their open streams
 * finish), and HTTP/1.1 connections stay open until the last in-flight request is answered.
 * A request that still arrives on a kept-alive HTTP/1.1 connection meanwhile (a load
 * balancer's probe of /readyz, say) is answered, with `connection: close`. After the
 * shutdown timeout whatever is left is cut.
 */
export class FrontDoor {
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly tcp: net.Server;
  private readonly guard: ConnectionGuard;
  private readonly h2Sessions = new Set<http2.ServerHttp2Session>();
  /** HTTP/1.1 sockets and how many requests each has in flight. */
  private readonly h1Sockets = new Map<Socket, number>();
  /** Every open connection, including those whose protocol is not known yet. */
  private readonly sockets = new Set<Socket>();
  private closing: Promise<void> | undefined;

  constructor(private readonly options: FrontDoorOptions) {
    const { limits, handler } = options;
    const report = doorReporter(options.logger, options.metrics);
    this.guard = new ConnectionGuard(limits, options.trustedProxies, report);
    trackOpenConnections(options.metrics, () => this.guard.openConnections);
    // Tracked before the handler runs: it may answer synchronously (the probes do).
    this.h1 = createHttp1Server(limits, (request, response) => {
      this.trackRequest(request.socket, response);
      handler(request, response);
    });
    this.h2 = createHttp2Server(limits, handler);
    this.h2.on("session", (session) => {
      this.h2Sessions.add(session);
      guardHttp2Session(session, limits, {
        onCut: (event, ip, abusive) => {
          report(event, ip);
          if (abusive) {
            this.guard.penalize(ip);
          }
        },
      });
      session.once("close", () => {
        this.h2Sessions.delete(session);
        this.endIdleIfDrained();
      });
      if (this.draining.aborted) {
        session.close();
      }
    });
    this.tcp = net.createServer({ noDelay: true }, (socket) => {
      if (this.guard.admit(socket)) {
        this.route(socket, () => report("sniff_timeout", plainAddress(socket.remoteAddress ?? "")));
      }
    });
  }

  private get draining(): AbortSignal {
    return this.options.draining.signal;
  }

  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(port: number, host?: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.tcp.once("error", reject);
      this.tcp.listen(port, host, () => {
        this.tcp.off("error", reject);
        resolve((this.tcp.address() as AddressInfo).port);
      });
    });
  }

  /** Stops accepting, lets in-flight requests finish (up to the shutdown timeout), closes. */
  close(): Promise<void> {
    this.closing ??= this.drain();
    return this.closing;
  }

  private async drain(): Promise<void> {
    this.options.draining.abort();
    const closed = new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    for (const session of this.h2Sessions) {
      session.close();
    }
    this.endIdleIfDrained();
    const deadline = setTimeout(() => this.cutEverything(), this.options.shutdownTimeoutMs);
    deadline.unref();
    await closed;
    clearTimeout(deadline);
    this.h1.close();
  }

  private cutEverything(): void {
    this.options.shutdown.abort();
    for (const session of this.h2Sessions) {
      session.destroy();
    }
    for (const socket of this.sockets) {
      socket.destroy();
    }
  }

  /** While draining: once no request is in flight anywhere, closes the idle HTTP/1.1 sockets. */
  private endIdleIfDrained(): void {
    if (!this.draining.aborted || this.h2Sessions.size > 0) {
      return;
    }
    for (const inFlight of this.h1Sockets.values()) {
      if (inFlight > 0) {
        return;
      }
    }
    for (const socket of this.h1Sockets.keys()) {
      socket.destroy();
    }
  }

  /** Counts a request on its socket; once draining, a socket ends after its last response. */
  private trackRequest(socket: Socket, response: http.ServerResponse): void {
    this.h1Sockets.set(socket, (this.h1Sockets.get(socket) ?? 0) + 1);
    if (this.draining.aborted) {
      response.setHeader("connection", "close");
    }
    response.once("close", () => {
      const inFlight = (this.h1Sockets.get(socket) ?? 1) - 1;
      this.h1Sockets.set(socket, inFlight);
      if (this.draining.aborted && inFlight === 0) {
        socket.end();
        this.endIdleIfDrained();
      }
    });
  }

  private route(socket: Socket, onSniffTimeout: () => void): void {
    socket.on("error", () => socket.destroy());
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    sniffProtocol(socket, this.options.limits.headersTimeoutMs, onSniffTimeout, (protocol) => {
      if (protocol === "h2") {
        this.h2.emit("connection", socket);
        return;
      }
      this.h1Sockets.set(socket, 0);
      socket.once("close", () => this.h1Sockets.delete(socket));
      this.h1.emit("connection", socket);
    });
  }
}
