import { readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";

/** A socket an attack opened, and when (ms after opening) the server closed it, if it did. */
export interface Tracked {
  readonly socket: net.Socket;
  closedAfterMs(): number | undefined;
}

/** Opens a TCP connection from `localAddress` and tracks when the server ends it. */
export function openSocket(port: number, localAddress: string): Promise<Tracked> {
  return new Promise((resolve, reject) => {
    const opened = performance.now();
    let closedAt: number | undefined;
    const socket = net.connect({ port, host: "127.0.0.1", localAddress });
    socket.on("error", () => undefined);
    socket.on("data", () => undefined);
    socket.once("close", () => {
      closedAt = performance.now();
    });
    socket.once("connect", () =>
      resolve({
        socket,
        closedAfterMs: () => (closedAt === undefined ? undefined : closedAt - opened),
      }),
    );
    socket.once("error", reject);
  });
}

/** Writes `chunk` every `everyMs` until the socket closes (slowloris, slow bodies). */
export function drip(tracked: Tracked, chunk: string, everyMs: number): void {
  const timer = setInterval(() => {
    if (tracked.socket.destroyed) {
      clearInterval(timer);
      return;
    }
    tracked.socket.write(chunk);
  }, everyMs);
  tracked.socket.once("close", () => clearInterval(timer));
}

/** Resolves once every socket is closed, or rejects after `limitMs` naming how many are open. */
export async function allClosed(sockets: readonly Tracked[], limitMs: number): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (sockets.some((tracked) => tracked.closedAfterMs() === undefined)) {
    if (performance.now() > deadline) {
      const open = sockets.filter((tracked) => tracked.closedAfterMs() === undefined).length;
      throw new Error(`${open} of ${sockets.length} sockets still open after ${limitMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** What a legitimate client saw while an attack ran. */
export interface LegitimateRun {
  readonly answered: number;
  readonly failures: string[];
  readonly p99Ms: number;
}

/**
 * A legitimate client on its own address: Validate over REST, one call after another on a
 * kept-alive HTTP/1.1 connection, until `until` resolves. Every answer must be 200 with
 * `active: true`; anything else is a failure described in `failures`.
 */
export async function legitimateClient(
  port: number,
  token: string,
  localAddress: string,
  until: Promise<unknown>,
): Promise<LegitimateRun> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1, localAddress });
  let done = false;
  void until.finally(() => {
    done = true;
  });
  const latencies: number[] = [];
  const failures: string[] = [];
  const body = JSON.stringify({ token });
  while (!done || latencies.length === 0) {
    const started = performance.now();
    const answer = await requestOnce(agent, port, body).catch((error: Error) => ({
      status: 0,
      text: error.message,
    }));
    latencies.push(performance.now() - started);
    if (answer.status !== 200 || !answer.text.includes('"active":true')) {
      failures.push(`${answer.status} ${answer.text.slice(0, 200)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const p99Ms = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? 0;
  return { answered: latencies.length, failures, p99Ms };
}

function requestOnce(
  agent: http.Agent,
  port: number,
  body: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: "127.0.0.1",
        port,
        path: "/auth/validate",
        method: "POST",
        agent,
        headers: { "content-type": "application/json" },
        timeout: 10_000,
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          text += chunk;
        });
        response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
      },
    );
    request.on("timeout", () => request.destroy(new Error("no answer within 10 s")));
    request.on("error", reject);
    request.end(body);
  });
}

/** The resident memory of process `pid`, in MiB. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) / 1024;
}
