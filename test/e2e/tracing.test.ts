import { randomUUID } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import {
  type ContextManager,
  context,
  propagation,
  ROOT_CONTEXT,
  type TextMapPropagator,
  trace,
} from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Authorization } from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { AdminService } from "../../gen/keycard/v1/admin_service_pb.js";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import { createTestUser, loginRest, startKeycard } from "../helpers/keycard.js";
import { OtlpReceiver, type ReceivedSpan, spanKind } from "../helpers/otlp-receiver.js";
import { exitCodeOf, type Started, startMain, waitFor } from "../helpers/process.js";

const adminToken = "tracing-admin-Vq8rN2xK5mZ7wP4j";
const password = "a tracing test's own password";
/** The W3C trace context an upstream service sends along. */
const upstream = {
  traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
  spanId: "00f067aa0ba902b7",
};
const traceparent = `00-${upstream.traceId}-${upstream.spanId}-01`;

/**
 * Starts keycard as a process on the test Redis, with a key prefix of its own and no limit
 * on logins per minute (the suite logs in more often than a person would).
 */
function startTraced(env: Record<string, string>): Started {
  return startMain({
    REDIS_URL: inject("redisUrl"),
    REDIS_KEY_PREFIX: `tracing-${randomUUID()}`,
    KEYCARD_ADMIN_TOKEN: adminToken,
    LOGIN_RATE_LIMIT: "0",
    LOG_LEVEL: "debug",
    ...env,
  });
}

/** Stops a keycard process the way an orchestrator does, and expects a clean exit. */
async function stop(started: Started): Promise<void> {
  started.child.kill("SIGTERM");
  expect(await exitCodeOf(started.child)).toBe(0);
}

/** A JSON POST to keycard's REST door. */
async function post(
  baseUrl: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/** The debug log line of the call with this request id (the lean path marks its own). */
function callLine(started: Started, requestId: string): Record<string, unknown> | undefined {
  return started
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .find((line) => line.requestId === requestId);
}

describe("tracing with OTEL_EXPORTER_OTLP_ENDPOINT set", () => {
  const receiver = new OtlpReceiver();
  let keycard: Started;
  let baseUrl: string;
  let user: { id: string; email: string };

  beforeAll(async () => {
    keycard = startTraced({
      OTEL_EXPORTER_OTLP_ENDPOINT: await receiver.listen(),
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_SERVICE_NAME: "keycard-under-test",
      OTEL_BSP_SCHEDULE_DELAY: "50",
    });
    baseUrl = `http://127.0.0.1:${(await waitFor(keycard, /"port":(\d+)/))[1]}`;
    const email = `tracing-${randomUUID()}@example.com`;
    const created = await post(
      baseUrl,
      "/admin/users",
      { email, display_name: "Tracing", password },
      { authorization: `Bearer ${adminToken}` },
    );
    expect(created.status).toBe(200);
    user = { id: ((await created.json()) as { user: { id: string } }).user.id, email };
  });
  afterAll(async () => {
    await stop(keycard);
    await receiver.close();
  });

  /** Logs the user in over REST; answers the token, the session id and the request id. */
  async function login(): Promise<{ token: string; sessionId: string; requestId: string }> {
    const requestId = randomUUID();
    const answer = await post(
      baseUrl,
      "/auth/login",
      { email: user.email, password },
      { "x-request-id": requestId },
    );
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { session_token: string; session_id: string };
    return { token: body.session_token, sessionId: body.session_id, requestId };
  }

  /** The span of the request with this id. */
  function spanOf(requestId: string): Promise<ReceivedSpan> {
    return receiver.span((span) => span.attributes["keycard.request_id"] === requestId);
  }

  it("exports to /v1/traces under OTEL_SERVICE_NAME, a REST login as a SERVER span named after its route, with the password check as its child", async () => {
    const { sessionId, requestId } = await login();
    const span = await spanOf(requestId);
    expect(span).toMatchObject({ name: "POST /auth/login", kind: spanKind.server });
    expect(span.resource["service.name"]).toBe("keycard-under-test");
    expect(span.attributes).toMatchObject({
      "http.request.method": "POST",
      "http.route": "/auth/login",
      "http.response.status_code": 200,
      "keycard.rpc": "keycard.v1.AuthService/Login",
      "keycard.outcome": "ok",
      "keycard.session_id": sessionId,
    });
    const verify = await receiver.span(
      (child) => child.name === "keycard.password.verify" && child.parentSpanId === span.spanId,
    );
    expect(verify).toMatchObject({ kind: spanKind.internal, traceId: span.traceId });
    expect(receiver.exports.every((sent) => sent.path === "/v1/traces")).toBe(true);
  });

  it("reports a refused login's reason as its outcome", async () => {
    const requestId = randomUUID();
    const answer = await post(
      baseUrl,
      "/auth/login",
      { email: user.email, password: "not the password at all" },
      { "x-request-id": requestId },
    );
    expect(answer.status).toBe(401);
    const span = await spanOf(requestId);
    expect(span.attributes).toMatchObject({
      "keycard.outcome": "INVALID_CREDENTIALS",
      "http.response.status_code": 401,
    });
    expect(span.attributes["keycard.session_id"]).toBeUndefined();
  });

  it("continues the caller's trace from traceparent on a Connect Validate, with the store's look-up as a CLIENT child", async () => {
    const { token, sessionId } = await login();
    const requestId = randomUUID();
    const client = createClient(
      AuthService,
      createConnectTransport({ baseUrl, httpVersion: "1.1" }),
    );
    const answer = await client.validate(
      { token },
      { headers: { traceparent, "x-request-id": requestId } },
    );
    expect(answer.active).toBe(true);
    const span = await spanOf(requestId);
    expect(span).toMatchObject({
      name: "keycard.v1.AuthService/Validate",
      kind: spanKind.server,
      traceId: upstream.traceId,
      parentSpanId: upstream.spanId,
    });
    expect(span.attributes).toMatchObject({
      "rpc.system": "connect_rpc",
      "rpc.service": "keycard.v1.AuthService",
      "rpc.method": "Validate",
      "keycard.outcome": "ok",
      "keycard.session_id": sessionId,
      "enduser.id": user.id,
    });
    const lookup = await receiver.span(
      (child) => child.parentSpanId === span.spanId && child.name.startsWith("keycard.store."),
    );
    expect(lookup).toMatchObject({
      name: "keycard.store.sessions.lookup",
      kind: spanKind.client,
      traceId: upstream.traceId,
    });
    expect(lookup.attributes).toMatchObject({
      "db.system": "redis",
      "db.operation.name": "sessions.lookup",
      "keycard.outcome": "ok",
    });
  });

  it("traces a gRPC Validate on the lean path, traceparent read from its metadata, and an inactive token's reason as its outcome", async () => {
    const client = createClient(AuthService, createGrpcTransport({ baseUrl }));
    const requestId = randomUUID();
    const answer = await client.validate(
      { token: `kc_sess_${"A".repeat(43)}` },
      { headers: { traceparent, "x-request-id": requestId } },
    );
    expect(answer.active).toBe(false);
    const span = await spanOf(requestId);
    expect(span).toMatchObject({
      name: "keycard.v1.AuthService/Validate",
      traceId: upstream.traceId,
      parentSpanId: upstream.spanId,
    });
    expect(span.attributes).toMatchObject({
      "rpc.system": "grpc",
      "rpc.grpc.status_code": 0,
      "network.protocol.version": "2",
      "keycard.outcome": "SESSION_INVALID",
    });
    expect(callLine(keycard, requestId)).toMatchObject({ msg: "rpc ok", lean: true });
  });

  it("traces forward auth, answered or refused, under its route", async () => {
    const { token, sessionId } = await login();
    const allowedId = randomUUID();
    const allowed = await fetch(`${baseUrl}/auth/verify`, {
      headers: { authorization: `Bearer ${token}`, "x-request-id": allowedId },
    });
    expect(allowed.status).toBe(200);
    expect((await spanOf(allowedId)).attributes).toMatchObject({
      "http.route": "/auth/verify",
      "keycard.outcome": "ok",
      "keycard.session_id": sessionId,
      "enduser.id": user.id,
    });
    const refusedId = randomUUID();
    const refused = await fetch(`${baseUrl}/auth/verify`, {
      headers: { "x-request-id": refusedId },
    });
    expect(refused.status).toBe(401);
    const span = await receiver.span(
      (candidate) =>
        candidate.name === "GET /auth/verify" &&
        candidate.attributes["http.response.status_code"] === 401,
    );
    expect(span.attributes["keycard.outcome"]).toBe("UNAUTHENTICATED");
  });

  it("traces Envoy's ext_authz Check with the session it allowed, or the reason it denied", async () => {
    const { token, sessionId } = await login();
    const client = createClient(Authorization, createGrpcTransport({ baseUrl }));
    const check = async (headers: Record<string, string>): Promise<ReceivedSpan> => {
      const requestId = randomUUID();
      await client.check(
        { attributes: { request: { http: { headers } } } },
        { headers: { "x-request-id": requestId } },
      );
      return spanOf(requestId);
    };
    const allowed = await check({ authorization: `Bearer ${token}` });
    expect(allowed.name).toBe("envoy.service.auth.v3.Authorization/Check");
    expect(allowed.attributes).toMatchObject({
      "keycard.outcome": "ok",
      "keycard.session_id": sessionId,
      "enduser.id": user.id,
    });
    const denied = await check({});
    expect(denied.attributes["keycard.outcome"]).toBe("UNAUTHENTICATED");
    expect(denied.attributes["keycard.session_id"]).toBeUndefined();
  });

  it("traces an admin call over gRPC as the administrator's, and a refused one with its reason", async () => {
    const client = createClient(AdminService, createGrpcTransport({ baseUrl }));
    const requestId = randomUUID();
    await client.listUsers(
      {},
      { headers: { authorization: `Bearer ${adminToken}`, "x-request-id": requestId } },
    );
    const span = await spanOf(requestId);
    expect(span.name).toBe("keycard.v1.AdminService/ListUsers");
    expect(span.attributes).toMatchObject({
      "rpc.system": "grpc",
      "keycard.principal": "admin",
      "keycard.outcome": "ok",
    });
    const refusedId = randomUUID();
    await expect(
      client.listUsers({}, { headers: { "x-request-id": refusedId } }),
    ).rejects.toMatchObject({ rawMessage: expect.stringContaining("administrator token") });
    expect((await spanOf(refusedId)).attributes).toMatchObject({
      "keycard.outcome": "ADMIN_TOKEN_REQUIRED",
      "rpc.grpc.status_code": 16,
    });
  });

  it("never exports a password, a session token or the admin token", async () => {
    const { token, requestId } = await login();
    const logoutId = randomUUID();
    const out = await post(
      baseUrl,
      "/auth/logout",
      {},
      {
        authorization: `Bearer ${token}`,
        "x-request-id": logoutId,
      },
    );
    expect(out.status).toBe(200);
    await spanOf(requestId);
    expect((await spanOf(logoutId)).attributes["keycard.principal"]).toBe("session");
    const exported = receiver.exports.map((sent) => sent.body.toString("utf8")).join("\n");
    for (const secret of [password, "not the password at all", token, adminToken]) {
      expect(exported).not.toContain(secret);
    }
    expect(exported).not.toContain(token.slice("kc_sess_".length));
  });
});

describe("tracing's export", () => {
  it("is OTLP protobuf by default, leaves probes out, and exports the spans still batched when keycard stops", async () => {
    const receiver = new OtlpReceiver();
    try {
      const keycard = startTraced({
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${await receiver.listen()}/custom/traces`,
        // Nothing would be exported for a minute but for the flush at the stop.
        OTEL_BSP_SCHEDULE_DELAY: "60000",
      });
      const port = (await waitFor(keycard, /"port":(\d+)/))[1];
      const answer = await post(`http://127.0.0.1:${port}`, "/auth/validate", { token: "" });
      expect(answer.status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect(receiver.exports).toEqual([]);
      await stop(keycard);
      expect(receiver.exports).toHaveLength(1);
      expect(receiver.exports[0]).toMatchObject({
        path: "/custom/traces",
        contentType: "application/x-protobuf",
      });
      expect(receiver.exports[0]?.body.includes("POST /auth/validate")).toBe(true);
      expect(receiver.exports[0]?.body.includes("healthz")).toBe(false);
    } finally {
      await receiver.close();
    }
  });

  it("is off with OTEL_SDK_DISABLED=true, whatever the endpoint: nothing is exported", async () => {
    const receiver = new OtlpReceiver();
    try {
      const keycard = startTraced({
        OTEL_EXPORTER_OTLP_ENDPOINT: await receiver.listen(),
        OTEL_SDK_DISABLED: "true",
        OTEL_BSP_SCHEDULE_DELAY: "50",
      });
      const port = (await waitFor(keycard, /"port":(\d+)/))[1];
      const answer = await post(`http://127.0.0.1:${port}`, "/auth/validate", { token: "" });
      expect(answer.status).toBe(200);
      await stop(keycard);
      expect(receiver.exports).toEqual([]);
      expect(keycard.output()).not.toContain("tracing on");
    } finally {
      await receiver.close();
    }
  });
});

describe("keycard without a tracer", () => {
  it("never touches OpenTelemetry's context or propagation at any door, and registers no tracer", async () => {
    const touched: string[] = [];
    const spyContext: ContextManager = {
      active: () => {
        touched.push("context.active");
        return ROOT_CONTEXT;
      },
      with: (_context, fn, thisArg, ...args) => {
        touched.push("context.with");
        return fn.call(thisArg, ...args);
      },
      bind: (_context, target) => target,
      enable() {
        return this;
      },
      disable() {
        return this;
      },
    };
    const spyPropagator: TextMapPropagator = {
      inject: () => touched.push("propagation.inject"),
      extract: (given) => {
        touched.push("propagation.extract");
        return given;
      },
      fields: () => [],
    };
    context.setGlobalContextManager(spyContext);
    propagation.setGlobalPropagator(spyPropagator);
    const keycard = await startKeycard();
    try {
      const user = await createTestUser(keycard);
      const { session_token: token } = await loginRest(keycard, user);
      const headers = { traceparent };
      for (const transport of [
        createConnectTransport({ baseUrl: keycard.baseUrl, httpVersion: "1.1" }),
        createGrpcTransport({ baseUrl: keycard.baseUrl }),
      ]) {
        const answer = await createClient(AuthService, transport).validate({ token }, { headers });
        expect(answer.active).toBe(true);
      }
      const verify = await fetch(`${keycard.baseUrl}/auth/verify`, {
        headers: { authorization: `Bearer ${token}`, traceparent },
      });
      expect(verify.status).toBe(200);
      expect(touched).toEqual([]);
      expect(trace.getTracer("keycard").startSpan("probe").isRecording()).toBe(false);
    } finally {
      await keycard.close();
      context.disable();
      propagation.disable();
    }
  });
});
