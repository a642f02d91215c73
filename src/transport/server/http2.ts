import http2 from "node:http2";
import { plainAddress } from "../client-info.js";
import type { DoorEvent } from "./connection-guard.js";
import type { ConnectionLimits } from "./limits.js";
import { timeoutAfterPendingIo } from "./pending-io-timeout.js";
import { RateBudget } from "./rate-budget.js";

/** What the HTTP/2 guard does when a connection misbehaves. */
export interface Http2GuardEvents {
  /** A bound was hit: counted and logged; `abusive` connections also get their address penalized. */
  readonly onCut: (event: DoorEvent, ip: string, abusive: boolean) => void;
}

const { NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

/** A header list's size as HTTP/2 counts it (RFC 7540 6.5.2): name, value and 32 per field. */
function headerListBytes(rawHeaders: readonly string[]): number {
  let bytes = 0;
  for (const field of rawHeaders) {
    bytes += field.length + 16;
  }
  return bytes;
}

/**
 * The h2c half of the port, with bounded streams and headers (nghttp2's own limit on
 * cancelled streams, 1,000 at once then 33 a second, stays as a backstop to the guard's).
 * The advertised header list size binds well-behaved clients only, and only once they
 * have our SETTINGS, so larger header lists are answered 431 here.
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
      maxSessionMemory: 10,
    },
    (request, response) => {
      if (headerListBytes(request.rawHeaders) <= limits.maxHeaderBytes) {
        handler(request, response);
        return;
      }
      response.writeHead(431, { "content-type": "application/json" });
      response.end('{"error":"HEADERS_TOO_LARGE","message":"Request headers are too large"}');
    },
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
  let cutting = false;
  // Destroyed on the next turn: the stream events that decide a cut run inside nghttp2's
  // read of the peer's frames, and a session destroyed there aborts Node 20 (found by the
  // rapid-reset tests: an nghttp2 memory assertion, about one attack in six).
  const cut = (event: DoorEvent): void => {
    if (cutting || session.destroyed) {
      return;
    }
    cutting = true;
    events.onCut(event, ip, true);
    setImmediate(() => {
      if (!session.destroyed) {
        session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
        session.destroy();
      }
    });
  };
  const startIdle = (): void => {
    const timer = timeoutAfterPendingIo(limits.http2IdleTimeoutMs, () => {
      if (idle === timer && open === 0 && !session.closed && !session.destroyed) {
        session.close();
        events.onCut("http2_idle", ip, false);
      }
    });
    idle = timer;
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
    const deadline = timeoutAfterPendingIo(limits.requestTimeoutMs, () => {
      if (!stream.destroyed && stream.state.remoteClose !== 1) {
        timedOut = true;
        stream.close(NGHTTP2_CANCEL);
        events.onCut("http2_stream_timeout", ip, false);
      }
    });
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
