import { setMaxListeners } from "node:events";
import type { ConnectRouter, ConnectRouterOptions } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { Clock } from "../domain/clock.js";
import type { PasswordHasher, Store } from "../domain/ports.js";
import type { SessionPolicy } from "../domain/session.js";
import { AdminServiceImpl } from "../service/admin-service-impl.js";
import { AuthServiceImpl } from "../service/auth-service-impl.js";
import { SessionService } from "../service/session-service.js";
import { UserService } from "../service/user-service.js";
import { authInterceptor } from "./interceptors/auth.js";
import { errorsInterceptor } from "./interceptors/errors.js";
import { loggingInterceptor } from "./interceptors/logging.js";
import { routes } from "./routes.js";

/** The settings the server itself uses (a subset of Config, so tests can pass their own). */
export interface ServerSettings {
  readonly policy: SessionPolicy;
  readonly tokenPrefix: string;
  readonly adminToken?: string;
  readonly trustedProxies: readonly string[];
  readonly maxBodyBytes: number;
  readonly shutdownTimeoutMs: number;
}

/** Everything the server is built from; main wires the real ones, tests their own. */
export interface ServerDeps {
  readonly store: Store;
  readonly hasher: PasswordHasher;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly settings: ServerSettings;
}

/**
 * The protocol-independent heart of the server: use cases, Connect handlers and the
 * interceptor chain `[logging, errors, auth]`. The HTTP server mounts it; tests can mount
 * it on `createRouterTransport` to call it in memory.
 */
export interface KeycardApp {
  readonly sessions: SessionService;
  readonly users: UserService;
  readonly routes: (router: ConnectRouter) => void;
  readonly routerOptions: ConnectRouterOptions;
  /** Aborted when a drain takes longer than the shutdown timeout. */
  readonly shutdown: AbortController;
}

/** Wires the use cases and handlers from their dependencies. */
export function createApp(deps: ServerDeps): KeycardApp {
  const { store, hasher, clock, logger, settings } = deps;
  const sessions = new SessionService({
    store,
    hasher,
    clock,
    policy: settings.policy,
    tokenPrefix: settings.tokenPrefix,
    onTheft: (session) =>
      logger.warn(
        { sessionId: session.id, userId: session.userId },
        "rotated token reused; session revoked",
      ),
    onBackgroundError: (error) => logger.warn({ err: error }, "background session write failed"),
  });
  const users = new UserService({ store, hasher, clock });
  const shutdown = new AbortController();
  setMaxListeners(0, shutdown.signal);
  return {
    sessions,
    users,
    shutdown,
    routes: routes({
      auth: new AuthServiceImpl(sessions, clock),
      admin: new AdminServiceImpl(users),
    }),
    routerOptions: {
      interceptors: [
        loggingInterceptor(logger),
        errorsInterceptor(),
        authInterceptor({ sessions, adminToken: settings.adminToken ?? "" }),
      ],
      readMaxBytes: settings.maxBodyBytes,
      shutdownSignal: shutdown.signal,
      jsonOptions: { alwaysEmitImplicit: true },
    },
  };
}
