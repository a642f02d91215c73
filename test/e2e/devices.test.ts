import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { status } from "@grpc/grpc-js";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import { keyHolder } from "../helpers/api-key-holder.js";
import {
  createTestUser,
  postJson,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import { LogLines } from "../helpers/log-lines.js";
import { bearer, expectError, type Json, restClient, send } from "../helpers/rest.js";
import { createGrpcClients, failureOf, bearer as grpcBearer, reasonOf } from "./grpc-client.js";

/** What every browser sends with a login (curl and gRPC clients do not). */
const fromBrowser = { "sec-fetch-site": "same-origin" };

/** A device id as keycard mints it. */
const deviceIdText = /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/;

/** The `device-id` Set-Cookie of a reply, if it has one. */
function deviceCookieOf(headers: Headers): string | undefined {
  return headers.getSetCookie().find((cookie) => cookie.startsWith("device-id="));
}

/** The value of a `device-id` Set-Cookie. */
function deviceIdIn(cookie: string | undefined): string {
  return /^device-id=([^;]*)/.exec(cookie ?? "")?.[1] ?? "";
}

/** Devices and places (issue 17, item 4) on a real server and Redis, over REST and Connect. */
describe("devices, places and labels of sessions", () => {
  const log = new LogLines();
  let keycard: TestKeycard;
  let located: TestKeycard;

  beforeAll(async () => {
    keycard = await startKeycard({ logger: pino({ level: "info" }, log) });
    located = await startKeycard({ locationHeader: "cf-ipcountry" });
  });
  afterAll(async () => {
    await keycard.close();
    await located.close();
  });

  const login = (server: TestKeycard, user: Json, headers: Record<string, string> = {}) =>
    postJson(
      `${server.baseUrl}/auth/login`,
      { email: user.email, password: user.password, api_key: user.api_key },
      headers,
    );

  const sessionsOf = async (server: TestKeycard, token: string): Promise<Json[]> => {
    const listed = await send(`${server.baseUrl}/auth/sessions`, { headers: bearer(token) });
    expect(listed.status).toBe(200);
    return listed.body.sessions as Json[];
  };

  const rename = (server: TestKeycard, token: string, sessionId: string, body: unknown) =>
    send(`${server.baseUrl}/auth/sessions/${sessionId}`, {
      method: "PATCH",
      headers: { "content-type": "application/json", ...bearer(token) },
      body: JSON.stringify(body),
    });

  it("gives a browser's first login a device-id cookie, and its next login the same device", async () => {
    const user = await createTestUser(keycard);
    const first = await login(keycard, user, fromBrowser);
    const cookie = deviceCookieOf(first.headers);
    expect(cookie).toMatch(
      /^device-id=[A-Za-z0-9_-]{22}; Max-Age=34560000; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
    const deviceId = deviceIdIn(cookie);
    expect(deviceId).toMatch(deviceIdText);

    const second = await login(keycard, user, {
      ...fromBrowser,
      cookie: `theme=dark; device-id=${deviceId}`,
    });
    expect(deviceCookieOf(second.headers)).toBeUndefined();
    const sessions = await sessionsOf(keycard, String(second.body.session_token));
    expect(sessions.map((session) => session.device_id)).toEqual([deviceId, deviceId]);
  });

  it("sets no cookie for a client that is not a browser, whose every login is a new device", async () => {
    const user = await createTestUser(keycard);
    const first = await login(keycard, user);
    const second = await login(keycard, user);
    expect(first.headers.getSetCookie()).toEqual([]);
    expect(second.headers.getSetCookie()).toEqual([]);
    const devices = (await sessionsOf(keycard, String(second.body.session_token))).map(
      (session) => session.device_id,
    );
    expect(devices).toHaveLength(2);
    expect(devices.every((device) => deviceIdText.test(String(device)))).toBe(true);
    expect(devices[0]).not.toBe(devices[1]);
    const fromPage = await login(keycard, user, { origin: keycard.baseUrl });
    expect(deviceIdIn(deviceCookieOf(fromPage.headers))).toMatch(deviceIdText);
  });

  it("ignores a forged or oversized device-id cookie and issues a new id", async () => {
    const user = await createTestUser(keycard);
    for (const forged of ["../../etc/passwd", "x".repeat(2_000), "AbCdEfGhIjKlMnOpQrStU"]) {
      const reply = await login(keycard, user, { ...fromBrowser, cookie: `device-id=${forged}` });
      expect(reply.status).toBe(200);
      const issued = deviceIdIn(deviceCookieOf(reply.headers));
      expect(issued).toMatch(deviceIdText);
      expect(issued).not.toBe(forged);
      const [session] = await sessionsOf(keycard, String(reply.body.session_token));
      expect(session?.device_id).toBe(issued);
    }
  });

  it("sets the device-id cookie beside the session cookie of a profile login", async () => {
    const user = await createTestUser(keycard);
    const reply = await postJson(`${keycard.baseUrl}/api/v1/auth/login`, user, fromBrowser);
    expect(reply.status).toBe(200);
    const cookies = reply.headers.getSetCookie();
    expect(cookies.some((cookie) => cookie.startsWith("auth-token="))).toBe(true);
    expect(deviceIdIn(deviceCookieOf(reply.headers))).toMatch(deviceIdText);
  });

  it("puts an API key login's session on the key's device, with no cookie", async () => {
    const holder = await keyHolder(restClient(keycard.baseUrl), false);
    const reply = await login(keycard, { api_key: holder.key }, fromBrowser);
    expect(reply.status).toBe(200);
    expect(deviceCookieOf(reply.headers)).toBeUndefined();
    const [session] = await sessionsOf(keycard, String(reply.body.session_token));
    expect(session?.device_id).toBe(holder.keyId);
  });

  it("records the location LOCATION_HEADER states, only a well-formed one, and none when unset", async () => {
    const user = await createTestUser(located);
    const stated = await login(located, user, { "cf-ipcountry": "DE" });
    const [session] = await sessionsOf(located, String(stated.body.session_token));
    expect(session?.location).toBe("DE");

    const garbled = await login(located, user, { "cf-ipcountry": "x".repeat(100) });
    const [unknown] = await sessionsOf(located, String(garbled.body.session_token));
    expect(unknown?.location).toBe("");

    const other = await createTestUser(keycard);
    const ignored = await login(keycard, other, { "cf-ipcountry": "DE" });
    const [unread] = await sessionsOf(keycard, String(ignored.body.session_token));
    expect(unread?.location).toBe("");
  });

  it("lists device, label, location, IP, first and last activity, and which one is current", async () => {
    const user = await createTestUser(located);
    const older = await login(located, user, { "cf-ipcountry": "FR", "user-agent": "curl/8.5.0" });
    const newer = await login(located, user, { "cf-ipcountry": "DE" });
    const token = String(newer.body.session_token);
    expect(
      (await rename(located, token, String(older.body.session_id), { label: "CI" })).status,
    ).toBe(200);

    const [current, renamed] = await sessionsOf(located, token);
    expect(current).toMatchObject({
      id: newer.body.session_id,
      device_id: expect.stringMatching(deviceIdText),
      label: "",
      location: "DE",
      ip_address: "127.0.0.1",
      current: true,
    });
    expect(renamed).toMatchObject({
      id: older.body.session_id,
      label: "CI",
      location: "FR",
      device_label: "curl 8.5",
      ip_address: "127.0.0.1",
      current: false,
    });
    for (const session of [current, renamed]) {
      expect(Date.parse(String(session?.created_at))).toBeLessThanOrEqual(
        Date.parse(String(session?.last_used_at)),
      );
    }
    const admin = await send(`${located.baseUrl}/admin/users/${user.id}/sessions`, {
      headers: bearer(testAdminToken),
    });
    expect((admin.body.sessions as Json[]).map((session) => session.label).sort()).toEqual([
      "",
      "CI",
    ]);
  });

  it("renames the caller's own session over REST and over Connect", async () => {
    const user = await createTestUser(keycard);
    const reply = await login(keycard, user);
    const token = String(reply.body.session_token);
    const sessionId = String(reply.body.session_id);

    const renamed = await rename(keycard, token, sessionId, { label: "Work laptop" });
    expect(renamed.status).toBe(200);
    expect(log.audits("session.renamed")).toContainEqual(
      expect.objectContaining({
        userId: user.id,
        sessionId,
        label: "Work laptop",
        ip: "127.0.0.1",
      }),
    );
    expect(renamed.body.session).toMatchObject({
      id: sessionId,
      label: "Work laptop",
      current: true,
    });

    const auth = createClient(
      AuthService,
      createConnectTransport({ baseUrl: keycard.baseUrl, httpVersion: "2" }),
    );
    const answer = await auth.renameSession(
      { sessionId, label: "Zoë's phone 📱" },
      { headers: bearer(token) },
    );
    expect(answer.session).toMatchObject({ id: sessionId, label: "Zoë's phone 📱" });
    const [listed] = await sessionsOf(keycard, token);
    expect(listed?.label).toBe("Zoë's phone 📱");
  });

  it("renames over gRPC, and answers NOT_FOUND for someone else's session", async () => {
    const grpc = createGrpcClients(keycard.port);
    try {
      const [alice, bob] = [await createTestUser(keycard), await createTestUser(keycard)];
      const mine = await login(keycard, alice);
      const theirs = await login(keycard, bob);
      const token = grpcBearer(String(mine.body.session_token));
      const renamed = await grpc.call(
        "RenameSession",
        { session_id: mine.body.session_id, label: "Build server" },
        token,
      );
      expect(renamed.session).toMatchObject({ id: mine.body.session_id, label: "Build server" });
      const foreign = grpc.call(
        "RenameSession",
        { session_id: theirs.body.session_id, label: "mine now" },
        token,
      );
      await expect(foreign).rejects.toMatchObject({ code: status.NOT_FOUND });
      expect(reasonOf(await failureOf(foreign))).toBe("NOT_FOUND");
    } finally {
      grpc.close();
    }
  });

  it("answers 404 for someone else's session, an unknown one and a revoked one", async () => {
    const [alice, bob] = [await createTestUser(keycard), await createTestUser(keycard)];
    const mine = await login(keycard, alice);
    const theirs = await login(keycard, bob);
    const token = String(mine.body.session_token);

    const foreign = await rename(keycard, token, String(theirs.body.session_id), { label: "x" });
    expectError(foreign, 404, "NOT_FOUND");
    const [bobs] = await sessionsOf(keycard, String(theirs.body.session_token));
    expect(bobs?.label).toBe("");
    expectError(
      await rename(keycard, token, "AAAAAAAAAAAAAAAAAAAAAA", { label: "x" }),
      404,
      "NOT_FOUND",
    );

    const other = await login(keycard, alice);
    const otherId = String(other.body.session_id);
    const revoked = await send(`${keycard.baseUrl}/auth/sessions/${otherId}`, {
      method: "DELETE",
      headers: bearer(token),
    });
    expect(revoked.status).toBe(200);
    expectError(await rename(keycard, token, otherId, { label: "back?" }), 404, "NOT_FOUND");
    expect((await sessionsOf(keycard, token)).map((session) => session.id)).toEqual([
      mine.body.session_id,
    ]);
  });

  it("refuses a label that is empty, too long, only spaces or has control characters", async () => {
    const user = await createTestUser(keycard);
    const reply = await login(keycard, user);
    const token = String(reply.body.session_token);
    const sessionId = String(reply.body.session_id);
    for (const label of ["", "x".repeat(65), "   ", "tab\there", "bell\u0007"]) {
      const refused = await rename(keycard, token, sessionId, { label });
      expectError(refused, 400, "INVALID_ARGUMENT");
      expect(refused.body.message).toMatch(/label/);
    }
    expect((await rename(keycard, token, sessionId, { label: "x".repeat(64) })).status).toBe(200);
  });
});
