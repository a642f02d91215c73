import type { Socket } from "node:net";
import { timeoutAfterPendingIo } from "./pending-io-timeout.js";

const http2Preface = "PRI";

/**
 * Reads the first bytes of a connection to tell HTTP/2 (its preface starts `PRI`) from
 * HTTP/1.1, puts them back, and hands the socket over. A connection that has not shown its
 * protocol within `timeoutMs` (silent, or a lone `P`) is destroyed and `onTimeout` told.
 */
export function sniffProtocol(
  socket: Socket,
  timeoutMs: number,
  onTimeout: () => void,
  route: (protocol: "http/1.1" | "h2") => void,
): void {
  let seen = Buffer.alloc(0);
  let routed = false;
  const deadline = timeoutAfterPendingIo(timeoutMs, () => {
    if (!routed) {
      socket.off("readable", sniff);
      socket.destroy();
      onTimeout();
    }
  });
  const sniff = (): void => {
    const chunk = socket.read() as Buffer | null;
    if (chunk === null) {
      return;
    }
    seen = Buffer.concat([seen, chunk]);
    if (seen.length < http2Preface.length && http2Preface.startsWith(seen.toString("latin1"))) {
      return;
    }
    routed = true;
    clearTimeout(deadline);
    socket.off("readable", sniff);
    socket.unshift(seen);
    route(seen.toString("latin1", 0, http2Preface.length) === http2Preface ? "h2" : "http/1.1");
  };
  socket.on("readable", sniff);
  socket.once("close", () => clearTimeout(deadline));
}
