import { randomUUID } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Metadata } from "@grpc/grpc-js";
import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import { StoreUnavailableError } from "../../src/domain/errors.js";
import type { Store } from "../../src/domain/ports.js";
import type { DeliveryPacing } from "../../src/domain/security-event.js";
import { keyHolder } from "../helpers/api-key-holder.js";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  createTestUser,
  type KeycardOptions,
  postJson,
  startKeycard,
  type TestKeycard,
} from "../helpers/keycard.js";
import { LogLines } from "../helpers/log-lines.js";
import { sample } from "../helpers/metrics.js";
import { type Json, restClient } from "../helpers/rest.js";
import { closedPort, WebhookReceiver } from "../helpers/webhook-receiver.js";
import { createGrpcClients } from "./grpc-client.js";

/** SECURITY_WEBHOOK_SECRET of every keycard here: 32 random bytes as hex. */
const secret = "5c1e9a7f3b2d8e4a6f0c9b1d7e3a5f2c8b4d0e6a9f1c3e7b5d2a8f4c0e6b9d1a";

/** What every browser sends with a login (curl and gRPC clients do not). */
const fromBrowser = { "sec-fetch-site": "same-origin" };

const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/** Retries within milliseconds, so a test waits on conditions, not on the production pace. */
const fastPacing: Partial<DeliveryPacing> = {
  firstRetryMs: 20,
  attemptTimeoutMs: 2_000,
  drainMs: 500,
};

/** How long a test waits for something the background does. */
const untilDone = { timeout: 10_000, interval: 20 } as const;

const day = 86_400_000;

/** The `device-id` a login's Set-Cookie gave, or "". */
function deviceIdIn(headers: Headers): string {
  const cookie = headers.getSetCookie().find((line) => line.startsWith("device-id="));
  return /^device-id=([^;]*)/.exec(cookie ?? "")?.[1] ?? "";
}

/** New-device and new-place signals (issue 17, item 5): real server, Redis and receiver. */
describe("new-device and new-place signals", () => {
  const log = new LogLines();
  const logger = pino({ level: "debug" }, log);
  const receiver = new WebhookReceiver(secret);
  let url: string;
  let keycard: TestKeycard;

  /** A keycard that signals to `hookUrl` (the shared receiver when absent). */
  const signalling = (options: KeycardOptions = {}, hookUrl = url): Promise<TestKeycard> =>
    startKeycard({
      logger,
      locationHeader: "cf-ipcountry",
      securityWebhook: { url: hookUrl, secret, pacing: fastPacing },
      ...options,
    });

  beforeAll(async () => {
    url = await receiver.listen();
    keycard = await signalling();
  });
  afterAll(async () => {
    await keycard.close();
    await receiver.close();
  });

  const login = async (
    server: TestKeycard,
    user: Json,
    headers: Record<string, string> = {},
    path = "/auth/login",
  ) => {
    const credentials = { email: user.email, password: user.password };
    const reply = await postJson(`${server.baseUrl}${path}`, credentials, headers);
    expect(reply.status).toBe(200);
    return reply;
  };

  /** A browser login with the cookie jar `deviceId` (a new jar when empty); answers its device. */
  const browserLogin = async (
    server: TestKeycard,
    user: Json,
    deviceId = "",
    headers: Record<string, string> = {},
  ) => {
    const cookie = deviceId === "" ? {} : { cookie: `device-id=${deviceId}` };
    const reply = await login(server, user, { ...fromBrowser, ...cookie, ...headers });
    return { deviceId: deviceIdIn(reply.headers) || deviceId, sessionId: reply.body.session_id };
  };

  const signalsOf = (userId: string, event?: string) =>
    log.lines.filter(
      (line) =>
        line.userId === userId &&
        (event === undefined
          ? line.audit === "login.new_device" || line.audit === "login.new_location"
          : line.audit === event),
    );

  const metric = async (server: TestKeycard, name: string, labels: Record<string, string>) =>
    sample(await (await fetch(`${server.baseUrl}/metrics`)).text(), name, labels) ?? 0;
  const signalsCounted = (server: TestKeycard, kind: string) =>
    metric(server, "keycard_login_new_signals_total", { kind });
  const deliveries = (server: TestKeycard, outcome: string) =>
    metric(server, "keycard_security_webhook_deliveries_total", { outcome });

  it("signals nothing at an account's first browser login, nor from the same device again", async () => {
    const user = await createTestUser(keycard);
    const first = await browserLogin(keycard, user);
    await browserLogin(keycard, user, first.deviceId);
    await browserLogin(keycard, user, first.deviceId);
    // A new device's signal comes after any the earlier logins would have made.
    const sentinel = await browserLogin(keycard, user);
    await expect.poll(() => signalsOf(user.id).length, untilDone).toBeGreaterThan(0);
    expect(signalsOf(user.id)).toEqual([
      expect.objectContaining({ audit: "login.new_device", sessionId: sentinel.sessionId }),
    ]);
  });

  it("signals a login from a new device over REST and a profile: audited, counted, delivered signed", async () => {
    const user = await createTestUser(keycard);
    const counted = await signalsCounted(keycard, "device");
    await browserLogin(keycard, user);
    const reply = await login(
      keycard,
      user,
      { ...fromBrowser, "user-agent": firefox },
      "/api/v1/auth/login",
    );
    const deviceId = deviceIdIn(reply.headers);
    expect(deviceId).not.toBe("");

    await expect.poll(() => receiver.of(user.id).length, untilDone).toBe(1);
    const [audited] = signalsOf(user.id);
    expect(audited).toMatchObject({
      audit: "login.new_device",
      userId: user.id,
      deviceId,
      device: "Firefox 128 on Linux",
      ip: "127.0.0.1",
    });
    expect(await signalsCounted(keycard, "device")).toBe(counted + 1);

    const [delivery] = receiver.of(user.id);
    expect(delivery?.signed).toBe(true);
    expect(delivery?.headers["content-type"]).toBe("application/json");
    expect(delivery?.headers["keycard-event-id"]).toBe(audited?.eventId);
    expect(Math.abs((delivery?.timestamp ?? 0) - Date.now() / 1000)).toBeLessThan(60);
    expect(delivery?.event).toEqual({
      type: "login.new_device",
      id: audited?.eventId,
      occurred_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      user_id: user.id,
      email: user.email,
      session_id: audited?.sessionId,
      device_id: deviceId,
      location: "",
      ip: "127.0.0.1",
      user_agent: firefox,
    });
  });

  it("signals a new place over Connect, and no device for a client that keeps no cookie", async () => {
    const user = await createTestUser(keycard);
    const auth = createClient(
      AuthService,
      createConnectTransport({ baseUrl: keycard.baseUrl, httpVersion: "1.1" }),
    );
    const counted = await signalsCounted(keycard, "location");
    const from = (country: string) => ({ headers: { "cf-ipcountry": country } });
    await auth.login({ email: user.email, password: user.password }, from("DE"));
    await auth.login({ email: user.email, password: user.password }, from("DE"));
    const abroad = await auth.login({ email: user.email, password: user.password }, from("FR"));

    await expect.poll(() => receiver.of(user.id).length, untilDone).toBe(1);
    expect(signalsOf(user.id)).toEqual([
      expect.objectContaining({
        audit: "login.new_location",
        sessionId: abroad.sessionId,
        location: "FR",
        ip: "127.0.0.1",
      }),
    ]);
    expect(receiver.of(user.id)[0]).toMatchObject({
      signed: true,
      event: { type: "login.new_location", location: "FR", session_id: abroad.sessionId },
    });
    expect(await signalsCounted(keycard, "location")).toBe(counted + 1);
  });

  it("signals over gRPC: an API key's first login is a new device, its next ones are not", async () => {
    const holder = await keyHolder(restClient(keycard.baseUrl), false);
    const password = { email: holder.email, password: holder.password };
    await browserLogin(keycard, password, "", { "cf-ipcountry": "DE" });
    const grpc = createGrpcClients(keycard.port);
    try {
      const from = (country: string) => {
        const metadata = new Metadata();
        metadata.set("cf-ipcountry", country);
        return metadata;
      };
      await grpc.call("Login", { api_key: holder.key }, from("DE"));
      await grpc.call("Login", { api_key: holder.key }, from("DE"));
      await grpc.call("Login", { api_key: holder.key }, from("JP"));
    } finally {
      grpc.close();
    }
    await expect.poll(() => receiver.of(holder.id).length, untilDone).toBe(2);
    expect(signalsOf(holder.id).map((line) => [line.audit, line.deviceId, line.location])).toEqual([
      ["login.new_device", holder.keyId, "DE"],
      ["login.new_location", holder.keyId, "JP"],
    ]);
  });

  it("counts a device not used for more than 90 days as new again", async () => {
    const clock = new FakeClock();
    const later = await signalling({ clock });
    try {
      const user = await createTestUser(later);
      const laptop = await browserLogin(later, user);
      clock.advance(89 * day);
      const phone = await browserLogin(later, user);
      await browserLogin(later, user, laptop.deviceId);
      clock.advance(91 * day);
      const phoneAgain = await browserLogin(later, user, phone.deviceId);

      await expect.poll(() => signalsOf(user.id).length, untilDone).toBe(2);
      expect(signalsOf(user.id).map((line) => [line.sessionId, line.deviceId])).toEqual([
        [phone.sessionId, phone.deviceId],
        [phoneAgain.sessionId, phone.deviceId],
      ]);
      await expect.poll(() => receiver.of(user.id).length, untilDone).toBe(2);
      expect(receiver.of(user.id).map(({ event }) => event.occurred_at)).toEqual([
        new Date(Date.UTC(2030, 0, 1) + 89 * day).toISOString(),
        new Date(Date.UTC(2030, 0, 1) + 180 * day).toISOString(),
      ]);
    } finally {
      await later.close();
    }
  });

  it("keeps at most 64 devices per user, forgetting the least recently used", async () => {
    const namespace = `test-${randomUUID()}`;
    const bounded = await signalling({ namespace });
    const redis = new Redis(inject("redisUrl"));
    try {
      const user = await createTestUser(bounded);
      const first = await browserLogin(bounded, user);
      for (let device = 0; device < 64; device += 1) {
        await browserLogin(bounded, user);
      }
      const key = `${namespace}:{u:${user.id}}:sightings`;
      await expect.poll(() => signalsOf(user.id).length, untilDone).toBe(64);
      // 64 devices and the mark that devices were seen at all.
      expect(await redis.zcard(key)).toBe(65);
      expect(await redis.zscore(key, `d:${first.deviceId}`)).toBeNull();

      const forgotten = await browserLogin(bounded, user, first.deviceId);
      await expect.poll(() => signalsOf(user.id).length, untilDone).toBe(65);
      expect(signalsOf(user.id).at(-1)).toMatchObject({ sessionId: forgotten.sessionId });
      expect(await redis.zcard(key)).toBe(65);
    } finally {
      redis.disconnect();
      await bounded.close();
    }
  });

  it("retries a delivery the receiver answered 500, and delivers it once it answers 200", async () => {
    const user = await createTestUser(keycard);
    receiver.answer(user.id, [500, 503]);
    const retried = await deliveries(keycard, "retried");
    const delivered = await deliveries(keycard, "delivered");
    await browserLogin(keycard, user);
    await browserLogin(keycard, user);

    await expect.poll(() => receiver.of(user.id).length, untilDone).toBe(3);
    expect(receiver.of(user.id).map(({ status, signed }) => [status, signed])).toEqual([
      [500, true],
      [503, true],
      [204, true],
    ]);
    const ids = new Set(receiver.of(user.id).map(({ event }) => event.id));
    expect(ids.size).toBe(1);
    await expect.poll(() => deliveries(keycard, "delivered"), untilDone).toBe(delivered + 1);
    expect(await deliveries(keycard, "retried")).toBe(retried + 2);
  });

  it("gives up at once a delivery the receiver refuses with 400", async () => {
    const user = await createTestUser(keycard);
    receiver.answer(user.id, [400]);
    const failed = await deliveries(keycard, "failed");
    await browserLogin(keycard, user);
    await browserLogin(keycard, user);

    await expect.poll(() => deliveries(keycard, "failed"), untilDone).toBe(failed + 1);
    // `failed` is counted when the event is given up: no try can follow it.
    expect(receiver.of(user.id).map(({ status }) => status)).toEqual([400]);
    const eventId = receiver.of(user.id)[0]?.event.id;
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        eventId,
        answer: "HTTP 400",
        msg: "security webhook delivery failed; the event is given up",
      }),
    );
  });

  it("delivers to a receiver that was down (connection refused) once it comes up; the login never waited", async () => {
    const port = await closedPort();
    const late = new WebhookReceiver(secret);
    const waiting = await signalling({
      securityWebhook: {
        url: `http://127.0.0.1:${port}/hooks/keycard`,
        secret,
        pacing: { firstRetryMs: 100, attempts: 10 },
      },
    });
    try {
      const user = await createTestUser(waiting);
      await browserLogin(waiting, user);
      const reply = await postJson(
        `${waiting.baseUrl}/auth/login`,
        { email: user.email, password: user.password },
        fromBrowser,
      );
      expect(reply.status).toBe(200);
      await expect.poll(() => deliveries(waiting, "retried"), untilDone).toBeGreaterThan(0);
      expect(await deliveries(waiting, "delivered")).toBe(0);
      expect(log.lines).toContainEqual(
        expect.objectContaining({ answer: "ECONNREFUSED", type: "login.new_device" }),
      );

      await late.listen(port);
      await expect.poll(() => late.of(user.id).length, untilDone).toBe(1);
      expect(late.of(user.id)[0]).toMatchObject({
        signed: true,
        event: { type: "login.new_device", session_id: reply.body.session_id },
      });
      expect(await deliveries(waiting, "delivered")).toBe(1);
    } finally {
      await waiting.close();
      await late.close();
    }
  });

  it("answers a login while the receiver hangs, and stops without waiting for it", async () => {
    const stuck = await signalling({
      securityWebhook: { url, secret, pacing: { attemptTimeoutMs: 60_000, drainMs: 300 } },
    });
    const user = await createTestUser(stuck);
    receiver.answer(user.id, ["hang"]);
    await browserLogin(stuck, user);
    const started = performance.now();
    await browserLogin(stuck, user);
    const answeredMs = performance.now() - started;
    await expect.poll(() => receiver.of(user.id).length, untilDone).toBe(1);
    expect(answeredMs).toBeLessThan(5_000);

    const stopping = performance.now();
    await stuck.close();
    expect(performance.now() - stopping).toBeLessThan(5_000);
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        undelivered: 1,
        msg: "stopping: security events not yet delivered to SECURITY_WEBHOOK_URL are given up",
      }),
    );
  });

  it("lets a login succeed when its devices and places cannot be recorded, counting the failure", async () => {
    const failing = (store: Store): Store => ({
      ...store,
      sightings: {
        record: () => Promise.reject(new StoreUnavailableError({ cause: new Error("down") })),
      },
    });
    const blind = await signalling({ hookStore: failing });
    try {
      const user = await createTestUser(blind);
      await browserLogin(blind, user);
      await browserLogin(blind, user);
      await expect
        .poll(() => metric(blind, "keycard_login_signal_errors_total", {}), untilDone)
        .toBe(2);
      expect(log.lines).toContainEqual(
        expect.objectContaining({
          level: 40,
          msg: "recording a login's device and place failed: no new-device or new-place signal for it (the login succeeded)",
        }),
      );
    } finally {
      await blind.close();
    }
  });

  it("never writes the webhook secret to the log", () => {
    expect(log.lines.length).toBeGreaterThan(100);
    expect(log.text).not.toContain(secret);
  });
});
