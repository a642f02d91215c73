import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { systemClock } from "../domain/clock.js";
import { createArgon2Hasher } from "../store/infra/password-hasher.js";
import { createRateLimits } from "../store/infra/rate-limits.js";
import { waitUntilReachable } from "../store/reachable.js";
import { redisKeys } from "../store/redis/keys.js";
import { tracedHasher, tracedStore } from "../store/traced-store.js";
import type { ServerDeps } from "../transport/keycard-app.js";
import { LogThrottle } from "../transport/log-throttle.js";
import { reworded } from "../transport/store-outage.js";
import { applyBootstrap } from "./bootstrap/apply.js";
import { BootstrapError, type BootstrapFile, loadBootstrapFile } from "./bootstrap/file.js";
import { type Config, ConfigError, loadConfig } from "./config/config.js";
import { createDemoAccount, devBanner, randomSecret } from "./dev-mode.js";
import { listenOrExit } from "./listen.js";
import { createLogger } from "./logger.js";
import { loadBuiltPortal } from "./portal-setup.js";
import { openStore, warnWithoutReplicas } from "./store-setup.js";
import type { Tracing } from "./tracing.js";
import { createApp, createKeycardServer } from "./wiring.js";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The process's settings; exits 2 with the problems when they are invalid, or when neither
 * REDIS_URL nor dev mode (KEYCARD_DEV=1) is set: a production deployment that lost its
 * REDIS_URL must not come up on a throwaway store, printing generated secrets.
 */
export function readConfig(env: Env): Config {
  try {
    const config = loadConfig(env);
    if (config.redisUrl === undefined && !config.devMode) {
      throw new ConfigError([
        "REDIS_URL is not set. Set it to your Redis, or KEYCARD_DEV=1 to run on the embedded in-memory store for development (npm start and npm run dev do)",
      ]);
    }
    return config;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`keycard: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

/**
 * Runs keycard as a process: reads the environment, opens the store, applies the bootstrap
 * file, listens, and stops gracefully on SIGTERM/SIGINT. Resolves once listening; invalid
 * settings or bootstrap file exit the process with code 2. Shared by `src/app/main.ts` (npm
 * start, the container) and `keycard serve`.
 */
export async function runServer(env: Env = process.env): Promise<void> {
  const config = readConfig(env);
  const bootstrap = readBootstrap(config);
  const logger = createLogger(config.logLevel);
  const tracing = await startTracingIfAsked(config, logger);
  const opened = openStore(config, logger);
  const store =
    tracing === undefined
      ? opened
      : tracedStore(opened, tracing.tracer, config.redisUrl === undefined ? undefined : "redis");
  if (!(await waitUntilReachable(store, 5_000))) {
    logger.error("the store is unreachable; serving 503 until it answers");
  }
  const devMode = config.devMode;
  const adminToken = config.adminToken ?? (devMode ? randomSecret() : undefined);
  if (adminToken === undefined) {
    logger.warn("KEYCARD_ADMIN_TOKEN is not set: every AdminService call will be refused");
  }
  const encryptionKey = config.encryptionKey ?? (devMode ? randomBytes(32) : undefined);
  const introspectionSecret = config.introspectionSecret ?? (devMode ? randomSecret() : undefined);
  if (encryptionKey === undefined) {
    logger.warn("KEYCARD_ENCRYPTION_KEY is not set: API keys and TOTP are unavailable");
  }
  const limiterErrors = new LogThrottle();
  const rateLimits = createRateLimits({
    ...(store.redis === undefined ? {} : { redis: store.redis }),
    keyPrefix: redisKeys(config.redisKeyPrefix).rateLimits(),
    loginPerMinute: config.loginRatePerMinute,
    otherPerMinute: config.authRatePerMinute,
    onError: (error) => {
      const count = limiterErrors.count();
      if (count > 0) {
        logger.warn(
          { err: { message: reworded((error as Error).message) }, count },
          "rate limiter's Redis counters unavailable; counting in this replica's memory",
        );
      }
    },
  });
  const portal = config.portal ? await loadBuiltPortal(logger) : undefined;
  const deps: ServerDeps = {
    store,
    ...(portal === undefined ? {} : { portal }),
    rateLimits,
    processMetrics: true,
    hasher:
      tracing === undefined
        ? createArgon2Hasher(config.hashConcurrency)
        : tracedHasher(createArgon2Hasher(config.hashConcurrency), tracing.tracer),
    clock: systemClock,
    logger,
    ...(tracing === undefined ? {} : { tracer: tracing.tracer }),
    settings: {
      ...config,
      ...(adminToken === undefined ? {} : { adminToken }),
      ...(encryptionKey === undefined ? {} : { encryptionKey }),
      ...(introspectionSecret === undefined ? {} : { introspectionSecret }),
    },
  };
  if (bootstrap !== undefined) {
    await runBootstrap(bootstrap, deps);
  }
  if (store.redis !== undefined) {
    warnWithoutReplicas(store.redis, config.redisDurability.replicas, logger);
  }
  const server = createKeycardServer(deps);
  const demo = devMode ? await createDemoAccount(server.users) : undefined;
  const port = await listenOrExit(server, config, store);
  logger.info(
    { port, store: devMode ? "memory" : "redis", authMode: config.authMode },
    `keycard listening in ${config.authMode} mode (${
      config.authMode === "hybrid"
        ? "session tokens, or X-API-Key + X-TOTP-Code on each request"
        : "session tokens"
    })`,
  );
  if (demo !== undefined && adminToken !== undefined && encryptionKey !== undefined) {
    const secrets = { adminToken, encryptionKey, introspectionSecret };
    process.stdout.write(`${devBanner(port, secrets, demo)}\n`);
  }
  const stop = async (signal: string): Promise<void> => {
    logger.info({ signal }, "shutting down: readiness is 503, draining in-flight requests");
    await server.close();
    await flushTraces(tracing, logger);
    await store.close();
    logger.info("stopped");
    logger.flush();
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
}

/**
 * Starts OpenTelemetry tracing when an OTLP endpoint is set. The SDK is loaded only then:
 * with tracing off, nothing of it is loaded and nothing is registered (no context manager,
 * no tracer provider), so requests pay nothing for it.
 */
async function startTracingIfAsked(config: Config, logger: Logger): Promise<Tracing | undefined> {
  if (config.tracing === undefined) {
    return undefined;
  }
  const { startTracing } = await import("./tracing.js");
  const tracing = startTracing(config.tracing);
  const { protocol, serviceName } = config.tracing;
  // The origin only: a URL's path or user part may carry a credential.
  const collector = new URL(config.tracing.url).origin;
  logger.info({ collector, protocol, serviceName }, "tracing on: exporting spans over OTLP/HTTP");
  return tracing;
}

/** How long stopping waits for the last spans to reach the collector. */
const traceFlushMs = 5_000;

/** Exports the spans still batched, for at most {@link traceFlushMs}; a slow collector loses them. */
async function flushTraces(tracing: Tracing | undefined, logger: Logger): Promise<void> {
  if (tracing === undefined) {
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), traceFlushMs);
  });
  const flushed = tracing.shutdown().then(
    () => false,
    () => true,
  );
  if (await Promise.race([flushed, gaveUp])) {
    logger.warn("the last spans could not be exported to the OTLP collector");
  }
  clearTimeout(timer);
}

/** Prints what is wrong with the bootstrap file and exits with code 2, like bad settings. */
function exitOnBootstrapError(error: BootstrapError): never {
  process.stderr.write(`keycard: ${error.message}\n`);
  process.exit(2);
}

function readBootstrap(config: Config): BootstrapFile | undefined {
  if (config.bootstrapFile === undefined) {
    return undefined;
  }
  try {
    return loadBootstrapFile(config.bootstrapFile, { tokenPrefix: config.tokenPrefix });
  } catch (error) {
    if (error instanceof BootstrapError) {
      exitOnBootstrapError(error);
    }
    throw error;
  }
}

/**
 * Applies the bootstrap file before listening, so that a server that answers already has
 * its accounts. A store that cannot be written to stops the process (exit 1): starting
 * without the configured accounts would fail later in a more confusing way.
 */
async function runBootstrap(file: BootstrapFile, deps: ServerDeps): Promise<void> {
  const { logger, store, clock } = deps;
  try {
    const { users, apiKeys, totp } = createApp(deps);
    const encryptionKey = deps.settings.encryptionKey;
    await applyBootstrap(file, { users, apiKeys, totp, store, clock, logger, encryptionKey });
  } catch (error) {
    if (error instanceof BootstrapError) {
      exitOnBootstrapError(error);
    }
    const message = error instanceof Error ? error.message : String(error);
    logger.error({ err: { message } }, `bootstrap from ${file.path} failed; exiting`);
    logger.flush();
    await store.close();
    process.exit(1);
  }
}
