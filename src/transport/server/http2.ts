import http2 from "node:http2";
import { plainAddress } from "../client-info.js";
import type { DoorEvent } from "./connection-guard.js";
import type { ConnectionLimits } from "./limits.js";
import { RateBudget } from "./rate-budget.js";

/** What the HTTP/2 guard does when a connection misbehaves. */
export interface Http2GuardEvents {
  /** A bound was hit: counted and logged; `abusive` connections also get their address penalized. */
  readonly onCut: (event: DoorEvent, ip: string, abusive: boolean) => void;
}

const { NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

/**
 * The h2c half of the port, with bounded streams and headers (nghttp2's own limit on
 * cancelled streams, 1,000 at once then 33 a second, stays as a backstop to the guard's).
 */
export function createHttp2Server(
  limits: ConnectionLimits,
  handler: (request: http2.Http2ServerRequest, response: http2.Http2ServerResponse) => void,
): http2.Http2Server {
  return http2.createServer(
    {
      settings: {
        maxConcurrentStreams: limits.http2MaxConcurrentStreams,
        maxHeaderListSize: limits.maxHeaderBytes,
      },
    },
    handler,
  );
}

/**
 * Bounds one HTTP/2 connection: it closes (GOAWAY) after `http2IdleTimeoutMs` without an
 * open stream; a stream whose request body has not ended within `requestTimeoutMs` is
 * cancelled; a connection that opens or cancels streams faster than its budget gets GOAWAY
 * ENHANCE_YOUR_CALM and is cut, and its address is penalized.
 */
export function guardHttp2Session(
  session: http2.ServerHttp2Session,
  limits: ConnectionLimits,
  events: Http2GuardEvents,
): void {
  const ip = plainAddress(session.socket?.remoteAddress ?? "");
  const opened = new RateBudget(limits.http2MaxStreamsPerSecond, limits.http2MaxStreamsPerSecond);
  const cancelled = new RateBudget(
    limits.http2MaxResetsPerSecond,
    limits.http2MaxResetsPerSecond * 10,
  );
  let open = 0;
  let idle: NodeJS.Timeout | undefined;
  const cut = (event: DoorEvent): void => {
    if (!session.destroyed) {
      session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
      session.destroy();
      events.onCut(event, ip, true);
    }
  };
  const startIdle = (): void => {
    idle = setTimeout(() => {
      session.close();
      events.onCut("http2_idle", ip, false);
    }, limits.http2IdleTimeoutMs);
  };
  startIdle();
  session.on("stream", (stream) => {
    clearTimeout(idle);
    open += 1;
    if (!opened.spend()) {
      cut("http2_stream_flood");
      return;
    }
    let timedOut = false;
    const deadline = setTimeout(() => {
      if (!stream.destroyed && stream.state.remoteClose !== 1) {
        timedOut = true;
        stream.close(NGHTTP2_CANCEL);
        events.onCut("http2_stream_timeout", ip, false);
      }
    }, limits.requestTimeoutMs);
    // Emitted when a stream ends before its answer did: the client cancelled it (or we did).
    stream.once("aborted", () => {
      if (!timedOut && !cancelled.spend()) {
        cut("http2_reset_flood");
      }
    });
    stream.once("close", () => {
      clearTimeout(deadline);
      open -= 1;
      if (open === 0 && !session.closed && !session.destroyed) {
        startIdle();
      }
    });
  });
  session.once("close", () => clearTimeout(idle));
}
