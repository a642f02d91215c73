import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../src/domain/errors.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import { makeSession, makeUser, untilReady } from "../contract/store-contract.js";
import { type RedisTlsServer, startRedisTlsServer } from "../helpers/redis-tls.js";

describe("the Redis store over TLS (rediss://) with REDIS_TLS_CA_FILE", () => {
  let server: RedisTlsServer | undefined;

  beforeAll(async () => {
    server = await startRedisTlsServer();
  }, 30_000);

  afterAll(async () => {
    await server?.stop();
  });

  function running(): RedisTlsServer {
    if (server === undefined) {
      throw new Error("the TLS redis-server did not start");
    }
    return server;
  }

  it("creates a user and a session and looks the session up, trusting only the given CA", async () => {
    const { url, caFile } = running();
    const store = createRedisStore({
      url,
      namespace: `test-${randomUUID()}`,
      commandTimeoutMs: 500,
      tlsCaFile: caFile,
    });
    try {
      await untilReady(store);
      const user = makeUser();
      expect(await store.users.create(user)).toBe(true);
      const session = makeSession(user);
      expect(await store.sessions.create(session, session.expiresAt)).toBe(true);
      const found = await store.sessions.lookup(session.tokenHash);
      expect(found.session).toMatchObject({ id: session.id, userId: user.id });
      expect((await store.users.findByEmail(user.email))?.id).toBe(user.id);
    } finally {
      await store.close();
    }
  });

  it("refuses a server whose certificate another CA signed, fast and with the TLS reason", async () => {
    const { url, wrongCaFile } = running();
    const errors: Error[] = [];
    const store = createRedisStore({
      url,
      namespace: `test-${randomUUID()}`,
      commandTimeoutMs: 500,
      tlsCaFile: wrongCaFile,
      onError: (error) => errors.push(error),
    });
    try {
      const started = performance.now();
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(performance.now() - started).toBeLessThan(1_000);
      await expect.poll(() => errors.length, { timeout: 3_000 }).toBeGreaterThan(0);
      expect(errors[0]?.message).toMatch(
        /self[- ]signed certificate|unable to verify|certificate/i,
      );
    } finally {
      await store.close();
    }
  });

  it("refuses the server without a CA file, since the system CAs did not sign it", async () => {
    const { url } = running();
    const errors: Error[] = [];
    const store = createRedisStore({
      url,
      namespace: `test-${randomUUID()}`,
      commandTimeoutMs: 500,
      onError: (error) => errors.push(error),
    });
    try {
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect.poll(() => errors.length, { timeout: 3_000 }).toBeGreaterThan(0);
      expect(errors[0]?.message).toMatch(/certificate/i);
    } finally {
      await store.close();
    }
  });
});
