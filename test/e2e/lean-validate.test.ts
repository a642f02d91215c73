import { once } from "node:events";
import http2 from "node:http2";
import net from "node:net";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
  compressionGzip,
  createConnectTransport,
  createGrpcTransport,
} from "@connectrpc/connect-node";
import { Metadata, status } from "@grpc/grpc-js";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import { InactiveReason } from "../../gen/keycard/v1/session_pb.js";
import { reasonOf } from "../../src/transport/handlers/errors.js";
import { createTestUser, loginRest, startKeycard, type TestKeycard } from "../helpers/keycard.js";
import { LogLines } from "../helpers/log-lines.js";
import { type RedisServer, startRedisServer } from "../helpers/redis-server.js";
import { createGrpcClients, rpcStatusOf } from "./grpc-client.js";

const validatePath = "/keycard.v1.AuthService/Validate";

/*
 * The lean path of Validate (src/transport/lean-validate.ts) must be invisible: the official
 * Connect and gRPC clients get the same answers, headers and errors as from the full Connect
 * path, which a deadline header forces (the lean path leaves deadlines to Connect).
 */
describe("the lean Validate path", () => {
  const log = new LogLines();
  let redis: RedisServer;
  let keycard: TestKeycard;
  let token: string;
  let subject: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    keycard = await startKeycard({
      redisUrl: redis.url,
      logger: pino({ level: "debug" }, log),
      maxBodyBytes: 4_096,
    });
    const user = await createTestUser(keycard, { roles: ["user", "ops"] });
    token = (await loginRest(keycard, user)).session_token;
    subject = user.id;
  });
  afterAll(async () => {
    await keycard.close();
    await redis.stop();
  });

  /** How many Validate calls the lean path has answered so far, by the debug log. */
  function leanCalls(): number {
    return log.lines.filter((line) => line.msg === "rpc ok" && line.lean === true).length;
  }

  const transports: [string, () => Transport][] = [
    [
      "Connect JSON over HTTP/1.1",
      () => createConnectTransport({ baseUrl: keycard.baseUrl, httpVersion: "1.1" }),
    ],
    [
      "Connect binary over HTTP/2",
      () =>
        createConnectTransport({
          baseUrl: keycard.baseUrl,
          httpVersion: "2",
          useBinaryFormat: true,
        }),
    ],
    ["gRPC over HTTP/2", () => createGrpcTransport({ baseUrl: keycard.baseUrl })],
  ];

  it.each(transports)("answers %s exactly as the full path does", async (_name, transport) => {
    const client = createClient(AuthService, transport());
    const before = leanCalls();
    const lean = await client.validate({ token });
    expect(leanCalls()).toBe(before + 1);
    const full = await client.validate({ token }, { timeoutMs: 5_000 });
    expect(leanCalls()).toBe(before + 1);
    expect(lean).toEqual(full);
    expect(lean).toMatchObject({ active: true, subject, roles: ["user", "ops"] });
    const inactive = await client.validate({ token: `${token.slice(0, -2)}xx` });
    expect(inactive).toEqual(
      await client.validate({ token: `${token.slice(0, -2)}xx` }, { timeoutMs: 5_000 }),
    );
    expect(inactive.reason).toBe(InactiveReason.UNKNOWN);
  });

  it("answers grpc-js, which shares no code with keycard, and reads the token from metadata", async () => {
    const grpc = createGrpcClients(keycard.port);
    try {
      const before = leanCalls();
      const metadata = new Metadata();
      metadata.set("authorization", `Bearer ${token}`);
      const answer = await grpc.call("Validate", {}, metadata);
      expect(answer).toMatchObject({ active: true, subject });
      expect(leanCalls()).toBe(before + 1);
    } finally {
      grpc.close();
    }
  });

  it("sends the same response headers as the full path, with the caller's request id", async () => {
    const send = (extra: Record<string, string>) =>
      fetch(`${keycard.baseUrl}${validatePath}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": "trace-42", ...extra },
        body: JSON.stringify({ token }),
      });
    const lean = await send({});
    const full = await send({ "connect-timeout-ms": "5000" });
    expect(lean.status).toBe(200);
    expect(lean.headers.get("x-request-id")).toBe("trace-42");
    expect(lean.headers.get("content-type")).toBe(full.headers.get("content-type"));
    expect(await lean.json()).toEqual(await full.json());
  });

  it("leaves bodies it cannot read plainly to the full path: bad JSON, oversized, compressed", async () => {
    const post = (body: string | Buffer, headers: Record<string, string> = {}) =>
      fetch(`${keycard.baseUrl}${validatePath}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      });
    const before = leanCalls();
    const garbled = await post("{not json");
    expect(garbled.status).toBe(400);
    expect(await garbled.json()).toMatchObject({ code: "invalid_argument" });
    const oversized = await post(JSON.stringify({ token: "x".repeat(10_000) }));
    expect(oversized.status).toBe(429);
    expect(await oversized.json()).toMatchObject({ code: "resource_exhausted" });
    const client = createClient(
      AuthService,
      createConnectTransport({
        baseUrl: keycard.baseUrl,
        httpVersion: "1.1",
        sendCompression: compressionGzip,
        compressMinBytes: 1,
      }),
    );
    expect((await client.validate({ token })).active).toBe(true);
    expect(leanCalls()).toBe(before);
  });

  it("refuses an oversized message on every protocol with ResourceExhausted and PAYLOAD_TOO_LARGE", async () => {
    for (const [, transport] of transports) {
      const failure = await createClient(AuthService, transport())
        .validate({ token: "x".repeat(10_000) })
        .catch((error: unknown) => ConnectError.from(error));
      expect(failure).toBeInstanceOf(ConnectError);
      expect((failure as ConnectError).code).toBe(Code.ResourceExhausted);
      expect(reasonOf(failure as ConnectError)).toBe("PAYLOAD_TOO_LARGE");
    }
  });

  it("answers an HTTP/1.0 request without a Host header", async () => {
    const socket = net.connect(keycard.port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    await once(socket, "connect");
    const body = JSON.stringify({ token });
    socket.write(
      `POST ${validatePath} HTTP/1.0\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    );
    await once(socket, "close");
    const text = Buffer.concat(chunks).toString("utf8");
    expect(text).toMatch(/^HTTP\/1\.[01] 200 /);
    expect(text).toContain('"active":true');
  });

  it("frames a gRPC answer that a raw HTTP/2 client can read: one message, status 0 in trailers", async () => {
    const session = http2.connect(keycard.baseUrl);
    try {
      const { create, toBinary } = await import("@bufbuild/protobuf");
      const { ValidateRequestSchema } = await import("../../gen/keycard/v1/auth_service_pb.js");
      const message = toBinary(ValidateRequestSchema, create(ValidateRequestSchema, { token }));
      const frame = Buffer.alloc(message.length + 5);
      frame.writeUInt32BE(message.length, 1);
      frame.set(message, 5);
      const stream = session.request({
        ":method": "POST",
        ":path": validatePath,
        "content-type": "application/grpc",
        te: "trailers",
      });
      stream.end(frame);
      const [headers] = (await once(stream, "response")) as [http2.IncomingHttpHeaders];
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      const [trailers] = (await once(stream, "trailers")) as [http2.IncomingHttpHeaders];
      expect(headers[":status"]).toBe(200);
      expect(headers["content-type"]).toBe("application/grpc");
      expect(trailers["grpc-status"]).toBe("0");
      const reply = Buffer.concat(chunks);
      expect(reply[0]).toBe(0);
      expect(reply.readUInt32BE(1)).toBe(reply.length - 5);
    } finally {
      session.close();
    }
  });

  it("fails fast with Unavailable on every protocol while Redis is down, and recovers", async () => {
    await redis.stop();
    try {
      for (const [, transport] of transports) {
        const failure = await createClient(AuthService, transport())
          .validate({ token })
          .catch((error: unknown) => ConnectError.from(error));
        expect(failure).toBeInstanceOf(ConnectError);
        expect((failure as ConnectError).code).toBe(Code.Unavailable);
        expect(reasonOf(failure as ConnectError)).toBe("STORE_UNAVAILABLE");
      }
      const grpc = createGrpcClients(keycard.port);
      try {
        const error = await grpc.call("Validate", { token }).catch((caught: unknown) => caught);
        expect((error as { code: number }).code).toBe(status.UNAVAILABLE);
        expect(rpcStatusOf(error).errorInfo[0]?.reason).toBe("STORE_UNAVAILABLE");
      } finally {
        grpc.close();
      }
    } finally {
      await redis.restart();
    }
    const client = createClient(AuthService, transports[0]?.[1]() as Transport);
    await expect
      .poll(async () => (await client.validate({ token }).catch(() => undefined))?.active, {
        timeout: 10_000,
      })
      .toBe(false);
  });
});
