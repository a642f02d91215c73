import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { sniffProtocol } from "../../src/transport/server/protocol-sniff.js";

/** Keeps this process's event loop busy for `ms`, as a burst of other work would. */
function busyFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spinning on purpose
  }
}

/**
 * Connects from another process and sends `text` at once, so it arrives while this one is
 * busy; with no text the connection stays open and silent for a few seconds.
 */
function sendFromAnotherProcess(port: number, text: string): void {
  const connect = `require("node:net").connect(${port}, "127.0.0.1")`;
  const script =
    text === ""
      ? `const socket = ${connect}; setTimeout(() => socket.destroy(), 3000)`
      : `${connect}.end(${JSON.stringify(text)})`;
  spawn(process.execPath, ["-e", script], { stdio: "ignore" });
}

describe("the protocol sniff of a new connection", () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.close();
  });

  async function outcomeOf(handle: (socket: Socket) => void, text: string): Promise<string> {
    const outcome = new Promise<string>((resolve) => {
      server = createServer((socket) => {
        sniffProtocol(
          socket,
          50,
          () => resolve("cut"),
          (protocol) => resolve(protocol),
        );
        handle(socket);
      });
    });
    server?.listen(0, "127.0.0.1");
    await once(server as Server, "listening");
    const address = server?.address();
    sendFromAnotherProcess(
      typeof address === "object" && address !== null ? address.port : 0,
      text,
    );
    return outcome;
  }

  it("routes a connection whose first bytes arrived while the server was too busy to read them", async () => {
    const busy = () => busyFor(1_000);
    expect(await outcomeOf(busy, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")).toBe("http/1.1");
    expect(await outcomeOf(busy, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")).toBe("h2");
  });

  it("cuts a connection that stays silent past the timeout", async () => {
    expect(await outcomeOf(() => undefined, "")).toBe("cut");
  });
});
