import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/keycard/v1/admin_service_pb.js";
import { connectAuth, connectReasonOf } from "../helpers/connect-auth.js";
import {
  createTestUser,
  loginRest,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import { PasskeyRest } from "../helpers/passkey-flows.js";
import { bearer, send } from "../helpers/rest.js";
import { SoftAuthenticator } from "../helpers/soft-authenticator.js";
import {
  createGrpcClients,
  failureOf,
  type GrpcClients,
  bearer as grpcBearer,
  reasonOf,
} from "./grpc-client.js";

/**
 * Passkeys at every door (issue 18): the same registration, sign-in, refusals and
 * administration over Connect and gRPC as over REST; one assertion raced by 150 logins
 * opens one session; and a server without WEBAUTHN_RP_ID refuses every passkey call with
 * PASSKEYS_NOT_CONFIGURED.
 */
describe("passkeys over Connect and gRPC", () => {
  let keycard: TestKeycard;
  let grpc: GrpcClients;
  let authenticator: SoftAuthenticator;

  beforeAll(async () => {
    keycard = await startKeycard({ webauthn: { rpId: "localhost" } });
    grpc = createGrpcClients(keycard.port);
    authenticator = new SoftAuthenticator({ origin: `http://localhost:${keycard.port}` });
  });
  afterAll(async () => {
    grpc?.close();
    await keycard?.close();
  });

  const connectAdmin = () =>
    createClient(
      AdminService,
      createConnectTransport({ baseUrl: keycard.baseUrl, httpVersion: "2" }),
    );
  const admin = { headers: bearer(testAdminToken) };

  it("registers, lists, signs in and removes over Connect, with the reasons REST gives", async () => {
    const auth = connectAuth(keycard.baseUrl);
    const user = await createTestUser(keycard);
    const token = (await loginRest(keycard, user)).session_token;
    const headers = { headers: bearer(token) };
    const started = await auth.startPasskeyRegistration({}, headers);
    const response = authenticator.register(started.optionsJson);
    const { passkey } = await auth.finishPasskeyRegistration(
      { challengeId: started.challengeId, name: "Phone", responseJson: JSON.stringify(response) },
      headers,
    );
    expect(passkey).toMatchObject({ name: "Phone", backedUp: true, deviceType: "multiDevice" });
    expect((await auth.listOwnPasskeys({}, headers)).passkeys.map((p) => p.id)).toEqual([
      passkey?.id,
    ]);

    const ceremony = await auth.startPasskeyLogin({});
    const assertion = {
      challengeId: ceremony.challengeId,
      responseJson: JSON.stringify(authenticator.assert(ceremony.optionsJson)),
    };
    const login = await auth.login({ passkey: assertion });
    const me = await auth.getMe({}, { headers: bearer(login.sessionToken) });
    expect(me.session).toMatchObject({ amr: ["hwk"], aal: 2, passkeyIds: [passkey?.id] });
    const replay = auth.login({ passkey: assertion });
    await expect(replay).rejects.toMatchObject({ code: Code.Unauthenticated });
    expect(connectReasonOf(await replay.catch((error: unknown) => error))).toBe("PASSKEY_INVALID");

    const listed = await connectAdmin().listPasskeys({ userId: user.id }, admin);
    expect(listed.passkeys.map((p) => p.id)).toEqual([passkey?.id]);
    const removed = await auth.removeOwnPasskey({ passkeyId: passkey?.id ?? "" }, headers);
    expect(removed.revokedSessions).toBe(1);
  });

  it("signs in, lists and deletes over gRPC, and refuses with the same reasons", async () => {
    const user = await createTestUser(keycard);
    const token = (await loginRest(keycard, user)).session_token;
    const started = await grpc.call("StartPasskeyRegistration", {}, grpcBearer(token));
    const response = authenticator.register(started.options_json);
    const finished = await grpc.call(
      "FinishPasskeyRegistration",
      { challenge_id: started.challenge_id, name: "Key", response_json: JSON.stringify(response) },
      grpcBearer(token),
    );
    const passkeyId = finished.passkey?.id ?? "";
    const ceremony = await grpc.call("StartPasskeyLogin", {});
    const passkey = {
      challenge_id: ceremony.challenge_id,
      response_json: JSON.stringify(authenticator.assert(ceremony.options_json)),
    };
    const login = await grpc.call("Login", { passkey });
    expect(login.session_token).toMatch(/^kc_sess_/);
    expect(reasonOf(await failureOf(grpc.call("Login", { passkey })))).toBe("PASSKEY_INVALID");
    const malformed = await failureOf(
      grpc.call("Login", { passkey: { challenge_id: "x", response_json: "{" } }),
    );
    expect(malformed.code).toBe(3);
    const own = await grpc.call("ListOwnPasskeys", {}, grpcBearer(token));
    expect(own.passkeys.map((p) => p.id)).toEqual([passkeyId]);
    const adminMetadata = grpcBearer(testAdminToken);
    const listed = await grpc.call("ListPasskeys", { user_id: user.id }, adminMetadata);
    expect(listed.passkeys[0]?.last_used_at).not.toBeNull();
    const deleted = await grpc.call(
      "DeletePasskey",
      { user_id: user.id, passkey_id: passkeyId },
      adminMetadata,
    );
    expect(deleted.revoked_sessions).toBe(1);
    const validated = await grpc.call("Validate", { token: login.session_token });
    expect(validated.active).toBe(false);
  });

  it("lets exactly one of 150 concurrent logins with one assertion through", async () => {
    const auth = connectAuth(keycard.baseUrl);
    const user = await createTestUser(keycard);
    const token = (await loginRest(keycard, user)).session_token;
    // No counter (as synced passkeys keep none): only the single-use challenge stops a replay.
    const own = new SoftAuthenticator({
      origin: `http://localhost:${keycard.port}`,
      counts: false,
    });
    await new PasskeyRest(keycard).register(token, own);
    const ceremony = await auth.startPasskeyLogin({});
    const passkey = {
      challengeId: ceremony.challengeId,
      responseJson: JSON.stringify(own.assert(ceremony.optionsJson)),
    };
    const outcomes = await Promise.all(
      Array.from({ length: 150 }, () =>
        auth.login({ passkey }).then(
          () => "ok",
          (error: unknown) => connectReasonOf(error),
        ),
      ),
    );
    expect(outcomes.filter((outcome) => outcome === "ok")).toHaveLength(1);
    const refusals = new Set(outcomes.filter((outcome) => outcome !== "ok"));
    expect([...refusals].every((r) => r === "PASSKEY_INVALID" || r === "RATE_LIMITED")).toBe(true);
    expect(refusals.has("PASSKEY_INVALID")).toBe(true);
  });
});

describe("a server without WEBAUTHN_RP_ID", () => {
  let keycard: TestKeycard;

  beforeAll(async () => {
    keycard = await startKeycard({ store: "memory" });
  });
  afterAll(() => keycard?.close());

  it("refuses every passkey call with FAILED_PRECONDITION PASSKEYS_NOT_CONFIGURED", async () => {
    const user = await createTestUser(keycard);
    const token = (await loginRest(keycard, user)).session_token;
    const auth = connectAuth(keycard.baseUrl);
    const headers = { headers: bearer(token) };
    const passkey = { challengeId: "x", responseJson: '{"id":"a","response":{}}' };
    const calls: (() => Promise<unknown>)[] = [
      () => auth.startPasskeyRegistration({}, headers),
      () =>
        auth.finishPasskeyRegistration({ challengeId: "x", name: "", responseJson: "{}" }, headers),
      () => auth.listOwnPasskeys({}, headers),
      () => auth.removeOwnPasskey({ passkeyId: "x" }, headers),
      () => auth.startPasskeyLogin({}),
      () => auth.login({ passkey }),
      () => auth.login({ email: user.email, password: user.password, passkey }),
      () => auth.reauthenticate({ passkey }, headers),
    ];
    for (const call of calls) {
      const error = await call().catch((refused: unknown) => refused);
      expect(error).toMatchObject({ code: Code.FailedPrecondition });
      expect(connectReasonOf(error)).toBe("PASSKEYS_NOT_CONFIGURED");
    }
    const rest = await send(`${keycard.baseUrl}/auth/passkeys/login-options`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(rest.status).toBe(400);
    expect(rest.body.error).toBe("PASSKEYS_NOT_CONFIGURED");
    expect(String(rest.body.message)).toContain("WEBAUTHN_RP_ID");
    const listed = await send(`${keycard.baseUrl}/admin/users/${user.id}/passkeys`, {
      headers: bearer(testAdminToken),
    });
    expect(listed.body.error).toBe("PASSKEYS_NOT_CONFIGURED");
  });
});
