import { randomUUID } from "node:crypto";
import pino, { type Logger } from "pino";
import { afterAll, beforeAll, expect, inject } from "vitest";
import { createApp, createKeycardServer } from "../../src/app/wiring.js";
import { type Clock, systemClock } from "../../src/domain/clock.js";
import { defaultLoginThrottle, type LoginThrottlePolicy } from "../../src/domain/login-throttle.js";
import type { Store } from "../../src/domain/ports.js";
import type { SecurityWebhookSettings } from "../../src/domain/security-event.js";
import type { SessionPolicy } from "../../src/domain/session.js";
import type { JwtConfig } from "../../src/service/jwt-keys.js";
import { createArgon2Hasher } from "../../src/store/infra/password-hasher.js";
import { createMemoryStore } from "../../src/store/memory/memory-store.js";
import { waitUntilReachable } from "../../src/store/reachable.js";
import type { Durability } from "../../src/store/redis/durable-writes.js";
import type { MasterChange } from "../../src/store/redis/master-watch.js";
import { createRedisStore } from "../../src/store/redis/redis-store.js";
import type { KeycardApp, ServerSettings } from "../../src/transport/keycard-app.js";
import type { ConnectionLimits } from "../../src/transport/server/limits.js";
import type { KeycardServer } from "../../src/transport/server.js";
import { loadPortalAssets } from "../../src/transport/ui/portal-assets.js";
import { type Json, jsonPost, type Rest, restClient, send } from "./rest.js";

/** The session policy tests start from: production defaults, short grace. */
export const testPolicy: SessionPolicy = {
  defaultDuration: 12 * 3_600_000,
  maxDuration: 30 * 86_400_000,
  idleTimeout: 0,
  refreshGrace: 2_000,
  retention: 7 * 86_400_000,
  touchInterval: 60_000,
  renewAfter: 0.8,
  rememberDuration: 30 * 86_400_000,
  apiSessionDuration: 0,
  maxSessionsPerUser: 100,
};

/**
 * The brute-force policy tests start from: production lockout and delays, but the per-pair
 * delay starts after 20 failures and the per-IP one is off, because every test client is
 * 127.0.0.1 and some suites fail logins on purpose (the abuse storm, timing comparisons).
 * Throttle tests pass their own (test/e2e/login-guard.test.ts uses the production one).
 */
export const testLoginThrottle: LoginThrottlePolicy = {
  ...defaultLoginThrottle,
  pairDelayAfter: 20,
  ipDelayAfter: 0,
};

/** The KEYCARD_ENCRYPTION_KEY of every test server. */
export const testEncryptionKey = Buffer.alloc(32, 7);

/** The admin token every test server accepts. */
export const testAdminToken = "test-admin-token-0123456789abcdef";

/** How to build a test server. */
export interface KeycardOptions {
  readonly store?: "redis" | "memory";
  readonly redisUrl?: string;
  readonly policy?: Partial<SessionPolicy>;
  readonly trustedProxies?: readonly string[];
  readonly maxBodyBytes?: number;
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly authMode?: "session" | "hybrid";
  readonly adminPassword?: string;
  readonly adminPanelSessionMs?: number;
  readonly allowedOrigins?: readonly string[];
  readonly cookieSecure?: boolean;
  /** COOKIE_DOMAIN: the parent domain of keycard's cookies; host-only when absent. */
  readonly cookieDomain?: string;
  /** ALLOWED_REDIRECT_DOMAINS, as the config keeps them (`example.com`, `10.0.0.5`, `[::1]`). */
  readonly allowedRedirectDomains?: readonly string[];
  /** LOCATION_HEADER, lower-cased; no location is read when absent. */
  readonly locationHeader?: string;
  readonly httpProfiles?: readonly string[];
  readonly introspectionSecret?: string;
  readonly loginThrottle?: LoginThrottlePolicy;
  /** The Redis key namespace; a fresh one when absent. Two keycards given one share state. */
  readonly namespace?: string;
  /**
   * Hooks into the store the server uses (it still talks to the real Redis), e.g. to kill
   * redis-server at the exact moment a write starts.
   */
  readonly hookStore?: (store: Store) => Store;
  /** VALIDATE_CACHE_TTL in ms: token look-ups answered from memory (Redis only; off when absent). */
  readonly validateCacheMs?: number;
  /** KEYCARD_ENCRYPTION_KEY; the shared test key when absent. */
  readonly encryptionKey?: Buffer;
  /** KEYCARD_PREVIOUS_ENCRYPTION_KEYS. */
  readonly previousEncryptionKeys?: readonly Buffer[];
  /** REDIS_WAIT_*: replicas that must hold a revocation before it is acknowledged. */
  readonly durability?: Durability;
  /** Told when the Redis master keycard writes to changes (a failover). */
  readonly onMasterChange?: (change: MasterChange) => void;
  /** The connection bounds of the front door; the defaults when absent. */
  readonly connections?: ConnectionLimits;
  /** JWT_*: what IssueJwt signs; the defaults when absent. */
  readonly jwt?: JwtConfig;
  /** SECURITY_WEBHOOK_*: where new-device and new-place events go; nowhere when absent. */
  readonly securityWebhook?: SecurityWebhookSettings;
  /**
   * Serve the sign-in portal at `/ui/`: `true` as built by this run's global setup, or the
   * build in another folder (an empty one: not built); off when absent.
   */
  readonly portal?: true | { readonly dir: string };
  /**
   * WEBAUTHN_*: passkeys on, for `rpId` (such as "localhost") and `origins`; the origins
   * default to http://localhost:<the port keycard listens on>. Passkeys are off when absent.
   */
  readonly webauthn?: TestRelyingParty;
}

/** The relying party of a test keycard's passkeys. */
export interface TestRelyingParty {
  readonly rpId: string;
  readonly origins?: readonly string[];
  readonly rpName?: string;
}

/**
 * The server settings of a test keycard: the test policy and admin token, session mode, no
 * trusted proxies, a 64 KiB body limit and a 2 s shutdown; `overrides` replace any of them.
 */
export function testSettings(overrides: Partial<ServerSettings> = {}): ServerSettings {
  return {
    policy: testPolicy,
    tokenPrefix: "kc",
    adminToken: testAdminToken,
    authMode: "session",
    trustedProxies: [],
    maxBodyBytes: 65_536,
    shutdownTimeoutMs: 2_000,
    loginThrottle: testLoginThrottle,
    ...overrides,
  };
}

/** The app (no listener) on the embedded store, silent, with the given clock and settings. */
export function inMemoryApp(clock: Clock, settings: ServerSettings = testSettings()): KeycardApp {
  return createApp({
    store: createMemoryStore(clock),
    hasher: createArgon2Hasher(),
    clock,
    logger: pino({ level: "silent" }),
    settings,
  });
}

/** A keycard server listening on an ephemeral port, with its store. */
export interface TestKeycard {
  readonly port: number;
  readonly baseUrl: string;
  readonly store: Store;
  readonly server: KeycardServer;
  close(): Promise<void>;
}

/** How a test store reaches Redis; absent fields take the shared test Redis's defaults. */
export interface TestStoreOptions {
  readonly redisUrl?: string;
  readonly clock?: Clock;
  readonly namespace?: string;
  readonly validateCacheMs?: number;
  /** REDIS_WAIT_*: replicas that must hold a revocation (none when absent). */
  readonly durability?: Durability;
  /** Told when the Redis master keycard writes to changes (a failover). */
  readonly onMasterChange?: (change: MasterChange) => void;
  /** REDIS_COMMAND_TIMEOUT (and the store deadline); 500 ms when absent. */
  readonly commandTimeoutMs?: number;
}

/** A store for tests: Redis under a namespace of its own, or the embedded store. */
export function testStore(kind: "redis" | "memory", options: TestStoreOptions = {}): Store {
  const clock = options.clock ?? systemClock;
  if (kind === "memory") {
    return createMemoryStore(clock);
  }
  return createRedisStore({
    url: options.redisUrl ?? inject("redisUrl"),
    namespace: options.namespace ?? `test-${randomUUID()}`,
    commandTimeoutMs: options.commandTimeoutMs ?? 500,
    lookupCache: { ttlMs: options.validateCacheMs ?? 0, maxEntries: 1_000 },
    clock,
    ...(options.durability === undefined ? {} : { durability: options.durability }),
    ...(options.onMasterChange === undefined ? {} : { onMasterChange: options.onMasterChange }),
  });
}

/** Builds and starts keycard on port 0, the same way main does but with test deps. */
export async function startKeycard(options: KeycardOptions = {}): Promise<TestKeycard> {
  const clock = options.clock ?? systemClock;
  const store = testStore(options.store ?? "redis", { ...options, clock });
  if (!(await waitUntilReachable(store, 10_000))) {
    throw new Error("the test store did not become reachable");
  }
  const {
    store: _kind,
    redisUrl: _url,
    logger,
    clock: _clock,
    policy,
    namespace: _namespace,
    hookStore,
    validateCacheMs: _cache,
    durability: _durability,
    portal,
    webauthn,
    ...settings
  } = options;
  // Filled in once the port is known when the test gives no origins: read at each ceremony.
  const origins = [...(webauthn?.origins ?? [])];
  const server = createKeycardServer({
    ...(portal === undefined
      ? {}
      : { portal: await loadPortalAssets(portal === true ? inject("portalDir") : portal.dir) }),
    store: hookStore === undefined ? store : hookStore(store),
    hasher: createArgon2Hasher(),
    clock,
    logger: logger ?? pino({ level: "silent" }),
    settings: testSettings({
      ...settings,
      policy: { ...testPolicy, ...policy },
      encryptionKey: options.encryptionKey ?? testEncryptionKey,
      ...(webauthn === undefined
        ? {}
        : { webauthn: { id: webauthn.rpId, name: webauthn.rpName ?? "keycard", origins } }),
    }),
  });
  const port = await server.listen(0, "127.0.0.1");
  if (webauthn !== undefined && origins.length === 0) {
    origins.push(`http://localhost:${port}`);
  }
  return {
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    store,
    server,
    close: async () => {
      await server.close();
      await store.close();
    },
  };
}

/** The keycard of a suite, running while its tests run, and a REST client for it. */
export interface SuiteKeycard {
  readonly keycard: TestKeycard;
  readonly rest: Rest;
}

/** Starts keycard for the enclosing suite (in beforeAll, closed in afterAll). */
export function keycardForSuite(options: KeycardOptions = {}): SuiteKeycard {
  let running: TestKeycard | undefined;
  beforeAll(async () => {
    running = await startKeycard(options);
  });
  afterAll(() => running?.close());
  const keycard = (): TestKeycard => {
    if (running === undefined) {
      throw new Error("the suite's keycard is not running");
    }
    return running;
  };
  const client = (): Rest => restClient(keycard().baseUrl);
  return {
    get keycard() {
      return keycard();
    },
    rest: {
      get baseUrl() {
        return keycard().baseUrl;
      },
      get: (path, headers) => client().get(path, headers),
      post: (path, body, headers) => client().post(path, body, headers),
      del: (path, headers) => client().del(path, headers),
    },
  };
}

/** Starts keycard for the enclosing suite and returns a REST client that talks to it. */
export function restKeycardForSuite(options: KeycardOptions = {}): Rest {
  return keycardForSuite(options).rest;
}

let userCounter = 0;

/** A new account with a unique email; returns its credentials and id. */
export async function createTestUser(
  keycard: TestKeycard,
  fields: { displayName?: string; roles?: string[]; password?: string } = {},
): Promise<{ id: string; email: string; password: string; displayName: string }> {
  userCounter += 1;
  const email = `user${userCounter}-${randomUUID().slice(0, 8)}@example.com`;
  const password = fields.password ?? "correct horse battery staple";
  const displayName = fields.displayName ?? `User ${userCounter}`;
  const user = await keycard.server.users.create({
    email,
    password,
    displayName,
    roles: fields.roles ?? ["user"],
  });
  return { id: user.id, email, password, displayName };
}

/** An account created over REST, with the credentials it was created with. */
export interface RestUser {
  readonly id: string;
  readonly email: string;
  readonly password: string;
  readonly displayName: string;
}

/** Creates an account through POST /admin/users, as reference 000's administrator would. */
export async function createUserOverRest(
  rest: Rest,
  displayName = "Alice",
  fields: Json = {},
): Promise<RestUser> {
  const email = `${displayName.toLowerCase()}-${randomUUID().slice(0, 8)}@example.com`;
  const password = "correct horse battery staple";
  const reply = await rest.post(
    "/admin/users",
    { email, display_name: displayName, password, ...fields },
    { authorization: `Bearer ${testAdminToken}` },
  );
  expect(reply.status).toBe(200);
  return { id: String((reply.body.user as Json).id), email, password, displayName };
}

/** POSTs JSON over HTTP/1.1 (fetch) and returns status, headers and parsed body. */
export function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  return requestJson(url, jsonPost(body, headers));
}

/** Sends any request and returns status, headers and parsed JSON body; an empty body throws. */
export async function requestJson(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const reply = await send(url, init);
  return {
    status: reply.status,
    headers: reply.headers,
    body: JSON.parse(reply.text) as Record<string, unknown>,
  };
}

/** Logs in over REST and returns the login response body. */
export async function loginRest(
  keycard: TestKeycard,
  user: { email: string; password: string },
  extra: Record<string, unknown> = {},
): Promise<{ session_token: string; session_id: string; expires_at: string; expires_in: number }> {
  const { email, password } = user;
  const response = await postJson(`${keycard.baseUrl}/auth/login`, { email, password, ...extra });
  if (response.status !== 200) {
    throw new Error(`login failed: ${response.status} ${JSON.stringify(response.body)}`);
  }
  return response.body as never;
}
