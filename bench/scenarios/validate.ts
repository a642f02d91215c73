/**
 * Scenario 1: Validate over gRPC (HTTP/2, binary) and over Connect JSON (HTTP/1.1), each
 * against a bare node:http(2) + ioredis server doing the same two Redis reads (GET pointer,
 * HGETALL session): the floor of what Node can do. Alternating rounds, best of each.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { ValidateRequestSchema } from "../../gen/keycard/v1/auth_service_pb.js";
import { alternate, type BenchOptions, best, throughputRow } from "../lib/compare.js";
import { loginToken, namespace, startKeycard, validatePath } from "../lib/keycard.js";
import { type Figures, h2load, type LoadSpec } from "../lib/load.js";
import { cpus, freePort, startProcess, startRedis } from "../lib/processes.js";
import type { ScenarioResult } from "../lib/report.js";

/** A gRPC message frame (uncompressed, length-prefixed) holding a ValidateRequest. */
export function grpcValidateFrame(token: string): Uint8Array {
  const message = toBinary(ValidateRequestSchema, create(ValidateRequestSchema, { token }));
  const frame = new Uint8Array(5 + message.length);
  new DataView(frame.buffer).setUint32(1, message.length);
  frame.set(message, 5);
  return frame;
}

/** Starts the floor server (`h1` or `h2`) on the server CPU; resolves with its URL. */
async function startFloor(mode: "h1" | "h2", redisUrl: string): Promise<string> {
  const port = await freePort();
  await startProcess({
    command: process.execPath,
    argv: ["--import", "tsx", "bench/servers/floor.ts", mode, String(port), redisUrl, namespace],
    ready: /ready/,
    cpu: cpus.server,
  });
  return `http://127.0.0.1:${port}/validate`;
}

/** Runs scenario 1. */
export async function validateScenario(
  options: BenchOptions,
  log: (line: string) => void,
): Promise<ScenarioResult> {
  const redis = await startRedis();
  const keycard = await startKeycard(redis.url);
  const uncached = await startKeycard(redis.url, { VALIDATE_CACHE_TTL: "0" });
  const token = await loginToken(keycard.baseUrl);
  const floorH2 = await startFloor("h2", redis.url);
  const floorH1 = await startFloor("h1", redis.url);
  const timing = {
    seconds: options.seconds,
    warmupSeconds: options.warmupSeconds,
    ...(options.requests === undefined ? {} : { requests: options.requests }),
  };
  const h2: Omit<LoadSpec, "url" | "body"> = {
    protocol: "h2",
    connections: options.h2Connections,
    streams: options.h2Streams,
    ...timing,
  };
  const h1: Omit<LoadSpec, "url" | "body"> = {
    protocol: "h1",
    connections: options.h1Connections,
    ...timing,
  };
  const json = { token };
  const jsonHeaders = { "content-type": "application/json" };
  const bodyLabel = '{"token":"<session token>"}';
  const validateUrl = `${keycard.baseUrl}${validatePath}`;
  const uncachedUrl = `${uncached.baseUrl}${validatePath}`;
  const grpcRun = (url: string) => () =>
    h2load({
      ...h2,
      url,
      body: grpcValidateFrame(token),
      bodyLabel: "gRPC frame of ValidateRequest{token}",
      headers: { "content-type": "application/grpc", te: "trailers" },
    });
  const jsonRun = (url: string) => () =>
    h2load({ ...h1, url, body: JSON.stringify(json), bodyLabel, headers: jsonHeaders });
  log("1. Validate vs the node:http + ioredis floor");
  const runs = await alternate(
    options.rounds,
    [
      { name: "keycard gRPC", run: grpcRun(validateUrl) },
      { name: "keycard gRPC, no cache", run: grpcRun(uncachedUrl) },
      {
        name: "floor h2",
        run: () =>
          h2load({
            ...h2,
            url: floorH2,
            body: JSON.stringify(json),
            bodyLabel,
            headers: jsonHeaders,
          }),
      },
      { name: "keycard Connect JSON", run: jsonRun(validateUrl) },
      { name: "keycard Connect JSON, no cache", run: jsonRun(uncachedUrl) },
      {
        name: "floor h1",
        run: () =>
          h2load({
            ...h1,
            url: floorH1,
            body: JSON.stringify(json),
            bodyLabel,
            headers: jsonHeaders,
          }),
      },
    ],
    log,
  );
  const pick = (name: string): Figures => best(runs.get(name));
  const rows = [
    throughputRow(
      "Validate gRPC (HTTP/2, binary)",
      pick("keycard gRPC"),
      "node:http2 + ioredis floor",
      pick("floor h2"),
      0.6,
    ),
    throughputRow(
      "Validate Connect JSON (HTTP/1.1)",
      pick("keycard Connect JSON"),
      "node:http + ioredis floor",
      pick("floor h1"),
      0.6,
    ),
    throughputRow(
      "Validate gRPC, VALIDATE_CACHE_TTL=0 (every call reads Redis)",
      pick("keycard gRPC, no cache"),
      "node:http2 + ioredis floor",
      pick("floor h2"),
      0.6,
    ),
    throughputRow(
      "Validate Connect JSON, VALIDATE_CACHE_TTL=0",
      pick("keycard Connect JSON, no cache"),
      "node:http + ioredis floor",
      pick("floor h1"),
      0.6,
    ),
  ];
  return {
    id: 1,
    title: "Validate vs the node:http + ioredis floor",
    rows,
    commands: [...runs.values()].flatMap((figures) => figures.map((f) => f.command)),
    notes: [
      `Best of ${options.rounds} alternating rounds per subject; p50/p99 from h2load's per-request log of that run.`,
      "The floor does what keycard's store does for Validate (GET the token pointer, HGETALL the session) and answers JSON; its HTTP/2 side is sent the JSON body (it speaks no gRPC).",
      "keycard runs as `node --import tsx src/main.ts` with REDIS_URL to a private redis-server and LOG_LEVEL=info, once on its defaults (VALIDATE_CACHE_TTL=1s: a replica answers a token it looked up within the last second from memory, revocations pushed over pub/sub) and once with VALIDATE_CACHE_TTL=0.",
    ],
    details: Object.fromEntries(runs),
  };
}
