import { randomUUID } from "node:crypto";
import http2 from "node:http2";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  allClosed,
  drip,
  legitimateClient,
  openSocket,
  rssMiB,
  type Tracked,
} from "../helpers/attack.js";
import { clientPreface, postStream, resetStream } from "../helpers/h2-frames.js";
import { testAdminToken } from "../helpers/keycard.js";
import { sample } from "../helpers/metrics.js";
import { killStarted, type Started, startMain, waitFor } from "../helpers/process.js";

const attacker = "127.0.0.2";
const legitimate = "127.0.0.3";
/** The rapid-reset attacker: penalized afterwards, so it gets an address of its own. */
const resetter = "127.0.0.4";
/** Sends whole requests and cancels each: an address of its own, as it may be penalized. */
const reloader = "127.0.0.6";
/** The attacker that opens thousands of connections. */
const crowd = "127.0.0.5";
const validatePath = "/keycard.v1.AuthService/Validate";

/** Short bounds, so each attack is cut within a few seconds. */
const shortBounds = {
  HTTP_HEADERS_TIMEOUT: "2s",
  HTTP_REQUEST_TIMEOUT: "3s",
  HTTP_KEEPALIVE_TIMEOUT: "2s",
  HTTP2_IDLE_TIMEOUT: "2s",
  MAX_CONNECTIONS_PER_IP: "100",
};

/** keycard as a process of its own (its RSS is measured), on the run's Redis. */
async function startKeycardProcess(
  env: Record<string, string>,
): Promise<{ started: Started; port: number; token: string }> {
  const started = startMain({
    REDIS_URL: inject("redisUrl"),
    REDIS_KEY_PREFIX: `bounds-${randomUUID()}`,
    KEYCARD_ADMIN_TOKEN: testAdminToken,
    KEYCARD_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString("hex"),
    LOG_LEVEL: "info",
    // keycard, its attackers, the legitimate client, Redis and other test files share two
    // cores here: a Redis reply can wait over a second for its turn, which the default
    // 1 s store deadline would answer with 503 (its own tests freeze a real Redis).
    STORE_DEADLINE: "5s",
    REDIS_COMMAND_TIMEOUT: "5s",
    ...env,
  });
  const port = Number((await waitFor(started, /"port":(\d+).*keycard listening/))[1]);
  const base = `http://127.0.0.1:${port}`;
  const user = { email: `bounds-${randomUUID()}@example.com`, password: "bounds test password" };
  const created = await fetch(`${base}/admin/users`, {
    method: "POST",
    headers: { authorization: `Bearer ${testAdminToken}` },
    body: JSON.stringify({ ...user, display_name: "Bounds" }),
  });
  expect(created.status).toBe(200);
  const login = await fetch(`${base}/auth/login`, { method: "POST", body: JSON.stringify(user) });
  const token = ((await login.json()) as { session_token: string }).session_token;
  return { started, port, token };
}

async function metricsOf(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

function expectServed(run: Awaited<ReturnType<typeof legitimateClient>>): void {
  expect(run.failures).toEqual([]);
  expect(run.answered).toBeGreaterThan(10);
  expect(run.p99Ms).toBeLessThan(1_000);
}

/** Opens `count` sockets from `address` that each get `attack` applied. */
async function openMany(
  port: number,
  count: number,
  attack: (tracked: Tracked) => void = () => undefined,
): Promise<Tracked[]> {
  const sockets = await Promise.all(
    Array.from({ length: count }, () => openSocket(port, attacker)),
  );
  sockets.forEach(attack);
  return sockets;
}

/** A well-formed HTTP/2 client connection from the attacker's address. */
function attackerHttp2(port: number): http2.ClientHttp2Session {
  const session = http2.connect(`http://127.0.0.1:${port}`, {
    createConnection: () => net.connect({ port, host: "127.0.0.1", localAddress: attacker }),
  });
  session.on("error", () => undefined);
  return session;
}

/** An HTTP/2 connection from `address` speaking raw frames. */
async function rawHttp2(port: number, address = attacker): Promise<Tracked> {
  const tracked = await openSocket(port, address);
  tracked.socket.write(clientPreface);
  return tracked;
}

/**
 * Writes `frames(id)` for stream ids 1, 3, 5… until the server closes the connection or
 * `until` passes, then closes it from this side; says whether the server closed it.
 */
async function writeUntilClosed(
  tracked: Tracked,
  until: number,
  frames: (id: number) => Buffer,
): Promise<boolean> {
  for (let id = 1; !tracked.socket.destroyed && performance.now() < until; id += 2) {
    tracked.socket.write(frames(id));
    if (id % 100 === 1) {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  const closedByServer = tracked.socket.destroyed;
  tracked.socket.destroy();
  return closedByServer;
}

describe("the front door under attack (short bounds)", () => {
  let keycard: Awaited<ReturnType<typeof startKeycardProcess>>;
  let pid: number;

  beforeAll(async () => {
    keycard = await startKeycardProcess(shortBounds);
    pid = keycard.started.child.pid ?? 0;
  });
  afterAll(() => killStarted());

  it("closes silent sockets, lone P bytes, slowloris headers and slow bodies while serving others", async () => {
    const { port, token } = keycard;
    const silent = await openMany(port, 30);
    const loneP = await openMany(port, 20, (tracked) => tracked.socket.write("P"));
    const slowloris = await openMany(port, 20, (tracked) => {
      tracked.socket.write("GET /health HTTP/1.1\r\nHost: x\r\n");
      drip(tracked, "X-a: b\r\n", 500);
    });
    const slowBody = await openMany(port, 20, (tracked) => {
      tracked.socket.write(
        `POST ${validatePath} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`,
      );
      drip(tracked, " ", 500);
    });
    const attacks = [...silent, ...loneP, ...slowloris, ...slowBody];
    const closed = allClosed(attacks, 15_000);
    const run = await legitimateClient(port, token, legitimate, closed);
    await closed;
    expectServed(run);
    const slowest = (sockets: Tracked[]): number =>
      Math.max(...sockets.map((tracked) => tracked.closedAfterMs() ?? Number.POSITIVE_INFINITY));
    expect(slowest(silent)).toBeLessThan(2_000 + 1_500);
    expect(slowest(loneP)).toBeLessThan(2_000 + 1_500);
    expect(slowest(slowloris)).toBeLessThan(2_000 + 2_000 + 1_500);
    expect(slowest(slowBody)).toBeLessThan(3_000 + 1_500);
    expect(
      sample(await metricsOf(port), "keycard_connections_closed_total", {
        reason: "sniff_timeout",
      }),
    ).toBeGreaterThanOrEqual(50);
  });

  it("closes an idle HTTP/2 session that only pings, and cancels a stream whose body never ends", async () => {
    const { port } = keycard;
    const idle = attackerHttp2(port);
    const pinger = setInterval(() => !idle.destroyed && idle.ping(() => undefined), 300);
    const endless = attackerHttp2(port);
    const stream = endless.request({
      ":method": "POST",
      ":path": validatePath,
      "content-type": "application/json",
    });
    stream.on("error", () => undefined);
    stream.write("{");
    const dripper = setInterval(() => !stream.destroyed && stream.write(" "), 300);
    const started = performance.now();
    const idleClosed = new Promise<number>((resolve) =>
      idle.once("close", () => resolve(performance.now() - started)),
    );
    const streamClosed = new Promise<number>((resolve) =>
      stream.once("close", () => resolve(performance.now() - started)),
    );
    expect(await idleClosed).toBeLessThan(2_000 + 1_500);
    expect(await streamClosed).toBeLessThan(3_000 + 1_500);
    expect(stream.rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
    clearInterval(pinger);
    clearInterval(dripper);
    endless.destroy();
    idle.destroy();
  });

  it("answers an HTTP/2 header block over 16 KiB with 431 and keeps the connection serving", async () => {
    const session = attackerHttp2(keycard.port);
    const request = (headers: Record<string, string>): Promise<number | string> =>
      new Promise((resolve) => {
        const stream = session.request({ ":path": "/healthz", ...headers });
        stream.on("response", (answer) => resolve(Number(answer[":status"])));
        stream.on("error", () => resolve(`reset ${stream.rstCode}`));
        stream.resume();
        stream.end();
      });
    // Sent before our SETTINGS arrive, so only the server's own check can refuse it.
    expect(await request({ "x-big": "a".repeat(20_000) })).toBe(431);
    expect(await request({})).toBe(200);
    session.destroy();
  });

  it("bounds connections that open 20,000 streams each for 4 s: memory and other clients unaffected", async () => {
    const { port, token } = keycard;
    const rssBefore = rssMiB(pid);
    const until = performance.now() + 4_000;
    let streams = 0;
    const flood = async (): Promise<void> => {
      while (performance.now() < until) {
        const tracked = await rawHttp2(port);
        for (let id = 1; id < 40_000 && !tracked.socket.destroyed; id += 2) {
          tracked.socket.write(postStream(id, validatePath, "application/json"));
          streams += 1;
          if (id % 2_000 === 1) {
            await new Promise((resolve) => setImmediate(resolve));
          }
        }
        tracked.socket.destroy();
      }
    };
    let peakRss = rssBefore;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, rssMiB(pid));
    }, 100);
    const run = await legitimateClient(port, token, legitimate, flood());
    clearInterval(sampler);
    expectServed(run);
    expect(streams).toBeGreaterThan(20_000);
    expect(peakRss - rssBefore).toBeLessThan(300);
  });

  it("cuts rapid-reset connections with GOAWAY, refuses their address for a while, and keeps serving others", async () => {
    const { port, token } = keycard;
    const opened = await Promise.all([1, 2, 3, 4].map(() => rawHttp2(port, resetter)));
    const until = performance.now() + 5_000;
    const openThenCancel = (id: number): Buffer =>
      Buffer.concat([postStream(id, validatePath, "application/json"), resetStream(id)]);
    const reconnectWhilePenalized = async (): Promise<void> => {
      while (performance.now() < until) {
        const tracked = await rawHttp2(port, resetter).catch(() => undefined);
        if (tracked !== undefined) {
          await writeUntilClosed(tracked, until, openThenCancel);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const closedByServer: boolean[] = [];
    const attack = Promise.all(
      opened.map(async (tracked) => {
        closedByServer.push(await writeUntilClosed(tracked, until, openThenCancel));
        await reconnectWhilePenalized();
      }),
    );
    const run = await legitimateClient(port, token, legitimate, attack);
    expectServed(run);
    // Every one of the four attacking connections is closed by the server before the attack
    // ends. Most are cut as reset floods; one whose frames the server reads only after its
    // address was penalized may be turned away as penalized instead (one run in about
    // seven had three flood cuts; the cause is not yet confirmed).
    expect(closedByServer).toEqual([true, true, true, true]);
    const metrics = await metricsOf(port);
    expect(
      sample(metrics, "keycard_connections_closed_total", { reason: "http2_reset_flood" }),
    ).toBeGreaterThanOrEqual(3);
    expect(
      sample(metrics, "keycard_connections_refused_total", { reason: "penalized" }),
    ).toBeGreaterThan(0);
  });

  it("survives connections that send whole requests and cancel them, reconnecting at once when cut", async () => {
    // Cuts decided while a cancelled answer is still in flight once aborted Node 20 (an
    // nghttp2 memory assertion): this attack found it.
    const { port, token } = keycard;
    const body = Buffer.from(JSON.stringify({ token }));
    const opened = await Promise.all(Array.from({ length: 4 }, () => rawHttp2(port, reloader)));
    const until = performance.now() + 5_000;
    const sendThenCancel = (id: number): Buffer =>
      Buffer.concat([postStream(id, validatePath, "application/json", body), resetStream(id)]);
    const reconnectAtOnce = async (): Promise<void> => {
      while (performance.now() < until) {
        const tracked = await rawHttp2(port, reloader).catch(() => undefined);
        if (tracked !== undefined) {
          await writeUntilClosed(tracked, until, sendThenCancel);
        }
      }
    };
    const cutByServer = Promise.all(
      opened.map(async (tracked) => {
        const closedByServer = await writeUntilClosed(tracked, until, sendThenCancel);
        await reconnectAtOnce();
        return closedByServer;
      }),
    );
    const run = await legitimateClient(port, token, legitimate, cutByServer);
    // Whole requests are real work, as from any busy client: answers slow down (no latency
    // bound here), but every one is right.
    expect(run.failures).toEqual([]);
    expect(run.answered).toBeGreaterThan(10);
    expect(keycard.started.child.exitCode).toBeNull();
    expect(await cutByServer).toEqual([true, true, true, true]);
  });

  it("refuses thousands of connections from one address beyond MAX_CONNECTIONS_PER_IP, logging a few lines", async () => {
    const { port, token, started } = keycard;
    const attempts = 3_000;
    const until = performance.now() + 2_000;
    const flood = async (): Promise<Tracked[]> => {
      const opened: Tracked[] = [];
      for (let i = 0; i < attempts || performance.now() < until; i += 100) {
        const batch = await Promise.all(
          Array.from({ length: 100 }, () => openSocket(port, crowd).catch(() => undefined)),
        );
        opened.push(...batch.filter((tracked): tracked is Tracked => tracked !== undefined));
      }
      return opened;
    };
    const attack = flood();
    const run = await legitimateClient(port, token, legitimate, attack);
    const opened = await attack;
    expectServed(run);
    const metrics = await metricsOf(port);
    expect(
      sample(metrics, "keycard_connections_refused_total", { reason: "per_ip" }),
    ).toBeGreaterThanOrEqual(attempts - 300);
    const refusalLines = started
      .output()
      .split("\n")
      .filter((line) => line.includes("MAX_CONNECTIONS_PER_IP"));
    expect(refusalLines.length).toBeGreaterThan(0);
    // At most one line per 10 s for this kind of refusal, however many connections.
    expect(refusalLines.length).toBeLessThanOrEqual(4);
    for (const tracked of opened) {
      tracked.socket.destroy();
    }
  });
});

describe("the front door with its default bounds", () => {
  afterAll(() => killStarted());

  it("closes silent, slowloris and slow-body sockets within 45 s", {
    timeout: 60_000,
  }, async () => {
    const { port } = await startKeycardProcess({});
    const silent = await openMany(port, 1);
    const slowloris = await openMany(port, 1, (tracked) => {
      tracked.socket.write("GET /health HTTP/1.1\r\nHost: x\r\n");
      drip(tracked, "X-a: b\r\n", 2_000);
    });
    const slowBody = await openMany(port, 1, (tracked) => {
      tracked.socket.write(
        "POST /auth/validate HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{",
      );
      drip(tracked, " ", 2_000);
    });
    await allClosed([...silent, ...slowloris, ...slowBody], 45_000);
  });
});
