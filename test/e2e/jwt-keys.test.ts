import { randomUUID } from "node:crypto";
import { get } from "node:http";
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JwtConfig } from "../../src/service/jwt-keys.js";
import { FakeClock } from "../helpers/fake-clock.js";
import {
  createTestUser,
  loginRest,
  postJson,
  startKeycard,
  type TestKeycard,
  testAdminToken,
} from "../helpers/keycard.js";
import { bearer, send } from "../helpers/rest.js";

/**
 * keycard's JWT signing keys on Redis (issue 16): rotation on demand and on schedule, two
 * replicas sharing one key set, the other algorithms, and the documents verifiers read.
 */
const day = 86_400_000;
const jwtConfig = (fields: Partial<JwtConfig> = {}): JwtConfig => ({
  algorithm: "EdDSA",
  issuer: "keycard",
  audiences: [],
  maxTtlMs: 3_600_000,
  rotationMs: 30 * day,
  ...fields,
});

async function keySet(keycard: TestKeycard): Promise<JSONWebKeySet> {
  const reply = await send(`${keycard.baseUrl}/.well-known/jwks.json`);
  expect(reply.status).toBe(200);
  return JSON.parse(reply.text) as JSONWebKeySet;
}

async function jwtOf(keycard: TestKeycard): Promise<string> {
  const user = await createTestUser(keycard);
  const login = await loginRest(keycard, user);
  const reply = await postJson(`${keycard.baseUrl}/auth/jwt`, {}, bearer(login.session_token));
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return String(reply.body.token);
}

const kidOf = (jwt: string) => decodeProtectedHeader(jwt).kid;
const kidsOf = (set: JSONWebKeySet) => set.keys.map((key) => key.kid);

function rotate(keycard: TestKeycard, body: Record<string, unknown>, token = testAdminToken) {
  return postJson(`${keycard.baseUrl}/admin/jwt-keys/rotate`, body, bearer(token));
}

describe("rotating the signing key", () => {
  let keycard: TestKeycard;
  beforeAll(async () => {
    keycard = await startKeycard({ jwt: jwtConfig() });
  });
  afterAll(() => keycard?.close());

  it("signs new JWTs with the new key at once when asked, while old JWTs still verify", async () => {
    const before = await jwtOf(keycard);
    const rotated = await rotate(keycard, { immediate: true });
    expect(rotated).toMatchObject({ status: 200, body: { algorithm: "EdDSA" } });
    const after = await jwtOf(keycard);
    expect(kidOf(after)).toBe(rotated.body.key_id);
    expect(kidOf(after)).not.toBe(kidOf(before));

    const keys = createLocalJWKSet(await keySet(keycard));
    await expect(jwtVerify(before, keys)).resolves.toBeDefined();
    await expect(jwtVerify(after, keys)).resolves.toBeDefined();
  });

  it("publishes a key rotated without `immediate` before it signs", async () => {
    const current = kidOf(await jwtOf(keycard));
    const rotated = await rotate(keycard, {});
    expect(rotated.status).toBe(200);
    const activeFrom = Date.parse(String(rotated.body.active_from));
    expect(activeFrom - Date.now()).toBeGreaterThan(9 * 60_000);
    expect(kidsOf(await keySet(keycard))).toContain(rotated.body.key_id);
    expect(kidOf(await jwtOf(keycard))).toBe(current);
  });

  it("names the JWKS under the host asked when JWT_ISSUER is no URL, and lets nobody cache that", async () => {
    const reply = await new Promise<{ body: string; cacheControl: string | undefined }>(
      (resolve, reject) => {
        const path = "/.well-known/openid-configuration";
        const headers = { host: "evil.example" };
        get({ host: "127.0.0.1", port: keycard.port, path, headers }, (response) => {
          let body = "";
          response.on("data", (chunk: Buffer) => {
            body += chunk.toString();
          });
          response.on("end", () =>
            resolve({ body, cacheControl: response.headers["cache-control"] }),
          );
        }).on("error", reject);
      },
    );
    expect(JSON.parse(reply.body)).toMatchObject({
      issuer: "keycard",
      jwks_uri: "http://evil.example/.well-known/jwks.json",
    });
    expect(reply.cacheControl).toBe("no-store");
  });

  it("answers only the administrator", async () => {
    const user = await createTestUser(keycard);
    const login = await loginRest(keycard, user);
    expect((await rotate(keycard, {}, login.session_token)).status).toBe(403);
    expect((await rotate(keycard, {}, "not-the-admin-token")).status).toBe(401);
  });
});

describe("the JWKS and discovery documents", () => {
  let keycard: TestKeycard;
  beforeAll(async () => {
    keycard = await startKeycard({ jwt: jwtConfig({ issuer: "https://auth.example.com/" }) });
  });
  afterAll(() => keycard?.close());

  it("publishes public keys only, cacheable by anyone for five minutes", async () => {
    await jwtOf(keycard);
    const reply = await send(`${keycard.baseUrl}/.well-known/jwks.json`);
    expect(reply.headers.get("cache-control")).toBe("public, max-age=300");
    expect(reply.headers.get("access-control-allow-origin")).toBe("*");
    const set = JSON.parse(reply.text) as JSONWebKeySet;
    expect(set.keys).toEqual([
      {
        kty: "OKP",
        crv: "Ed25519",
        x: expect.any(String),
        kid: expect.any(String),
        alg: "EdDSA",
        use: "sig",
      },
    ]);
    const post = await send(`${keycard.baseUrl}/.well-known/jwks.json`, { method: "POST" });
    expect(post.status).toBe(405);
  });

  it("tells libraries where the keys are, under JWT_ISSUER when it is a URL", async () => {
    const reply = await send(`${keycard.baseUrl}/.well-known/openid-configuration`);
    expect(JSON.parse(reply.text)).toMatchObject({
      issuer: "https://auth.example.com/",
      jwks_uri: "https://auth.example.com/.well-known/jwks.json",
      acr_values_supported: ["aal1", "aal2"],
    });
  });
});

describe("two replicas sharing Redis", () => {
  const clock = new FakeClock();
  const namespace = `test-${randomUUID()}`;
  let replicas: TestKeycard[] = [];
  beforeAll(async () => {
    replicas = await Promise.all(
      [1, 2].map(() => startKeycard({ clock, namespace, jwt: jwtConfig() })),
    );
  });
  afterAll(() => Promise.all(replicas.map((replica) => replica.close())));

  it("sign with one key set, and each publishes the key the other rotated to", async () => {
    const [a, b] = replicas as [TestKeycard, TestKeycard];
    const [fromA, fromB] = await Promise.all([jwtOf(a), jwtOf(b)]);
    expect(kidOf(fromA)).toBe(kidOf(fromB));
    const bKeys = createLocalJWKSet(await keySet(b));
    await expect(
      jwtVerify(fromA, bKeys, { currentDate: new Date(clock.now()) }),
    ).resolves.toBeDefined();

    const rotated = await rotate(a, { immediate: true });
    clock.advance(11_000);
    expect(kidsOf(await keySet(b))).toContain(rotated.body.key_id);
    expect(kidOf(await jwtOf(b))).toBe(rotated.body.key_id);
  });

  it("make the scheduled key once, whichever replica notices first", async () => {
    const [a, b] = replicas as [TestKeycard, TestKeycard];
    clock.advance(31 * day);
    await Promise.all([jwtOf(a), jwtOf(b)]);
    const [keysA, keysB] = await Promise.all([keySet(a), keySet(b)]);
    expect(kidsOf(keysA)).toEqual(kidsOf(keysB));
    clock.advance(11 * 60_000);
    const [fromA, fromB] = await Promise.all([jwtOf(a), jwtOf(b)]);
    expect(kidOf(fromA)).toBe(kidOf(fromB));
    expect(kidsOf(keysA)).toContain(kidOf(fromA));
  });
});

describe("the other algorithms", () => {
  it("signs with ES256 on a P-256 key when asked", async () => {
    const keycard = await startKeycard({ jwt: jwtConfig({ algorithm: "ES256" }) });
    try {
      const jwt = await jwtOf(keycard);
      expect(decodeProtectedHeader(jwt).alg).toBe("ES256");
      const set = await keySet(keycard);
      expect(set.keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256" });
      await expect(jwtVerify(jwt, createLocalJWKSet(set))).resolves.toBeDefined();
    } finally {
      await keycard.close();
    }
  });

  it("signs with HS256 and the shared secret only when configured, publishing nothing and refusing rotation", async () => {
    const secret = "Zq3kP9xR2mW7vT5nB8cL4hJ6gF1dS0aQ";
    const keycard = await startKeycard({ jwt: jwtConfig({ algorithm: "HS256", secret }) });
    try {
      const jwt = await jwtOf(keycard);
      const { protectedHeader } = await jwtVerify(jwt, new TextEncoder().encode(secret));
      expect(protectedHeader.alg).toBe("HS256");
      expect((await keySet(keycard)).keys).toEqual([]);
      const rotated = await rotate(keycard, { immediate: true });
      expect(rotated).toMatchObject({ status: 400, body: { error: "SIGNING_KEY_FIXED" } });
    } finally {
      await keycard.close();
    }
  });
});
