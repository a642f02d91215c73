import { setMaxListeners } from "node:events";
import type { ConnectRouter, ConnectRouterOptions } from "@connectrpc/connect";
import type { Logger } from "pino";
import { AdminService } from "../../gen/keycard/v1/admin_service_pb.js";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import type { Clock } from "../domain/clock.js";
import { defaultLoginThrottle, type LoginThrottlePolicy } from "../domain/login-throttle.js";
import type { PasswordHasher, Store } from "../domain/ports.js";
import type { RateLimits } from "../domain/rate-limits.js";
import type { SessionPolicy } from "../domain/session.js";
import { ApiKeyService } from "../service/api-key-service.js";
import type { AuditLog } from "../service/audit.js";
import { type ExpirySweeper, startExpirySweeper } from "../service/expiry-sweeper.js";
import { LoginGuard } from "../service/login-guard.js";
import { SecretGate } from "../service/secret-gate.js";
import { SecretKeeper } from "../service/secret-keeper.js";
import { SessionEpoch } from "../service/session-epoch.js";
import { SessionService } from "../service/session-service.js";
import { TotpService } from "../service/totp-service.js";
import { UserService } from "../service/user-service.js";
import { AdminServiceImpl } from "./handlers/admin-service-impl.js";
import { AuthServiceImpl } from "./handlers/auth-service-impl.js";
import { ExtAuthzImpl } from "./handlers/ext-authz-impl.js";
import { HealthServiceImpl } from "./handlers/health-service-impl.js";
import { authInterceptor } from "./interceptors/auth.js";
import { errorsInterceptor } from "./interceptors/errors.js";
import { CallLog, loggingInterceptor } from "./interceptors/logging.js";
import {
  countingAudit,
  createMetrics,
  type KeycardMetrics,
  metricsInterceptor,
  trackLiveSessions,
} from "./metrics.js";
import { rateLimitInterceptor } from "./rate-limit.js";
import { routes, type ServiceImpls } from "./routes.js";
import { DirectCaller } from "./rpc/direct-caller.js";
import type { ConnectionLimits } from "./server/limits.js";
import { unknownTokenReporter } from "./unknown-tokens.js";

/** The settings the server itself uses (a subset of Config, so tests can pass their own). */
export interface ServerSettings {
  readonly policy: SessionPolicy;
  readonly tokenPrefix: string;
  readonly adminToken?: string;
  /** `session`: requests carry session tokens; `hybrid`: API key + TOTP per request too. */
  readonly authMode: "session" | "hybrid";
  /** The 32-byte KEYCARD_ENCRYPTION_KEY; API keys and TOTP are refused without it. */
  readonly encryptionKey?: Buffer;
  /** KEYCARD_PREVIOUS_ENCRYPTION_KEYS: still decrypt TOTP secrets and find API keys. */
  readonly previousEncryptionKeys?: readonly Buffer[];
  /** ADMIN_PASSWORD: the built-in administrator account's password (reference 003). */
  readonly adminPassword?: string;
  readonly trustedProxies: readonly string[];
  /** HTTP_PROFILES: the compatibility profiles to serve; all when absent. */
  readonly httpProfiles?: readonly string[];
  /** SESSION_DURATION_DAYS as ms: lifetime of reference 003's admin-panel sessions. */
  readonly adminPanelSessionMs?: number;
  /** COOKIE_SECURE: the Secure flag of session cookies (default true). */
  readonly cookieSecure?: boolean;
  /** ALLOWED_ORIGINS: browser origins allowed to make credentialed cross-origin calls. */
  readonly allowedOrigins?: readonly string[];
  /** INTROSPECTION_SECRET: the credential of `POST /oauth2/introspect` callers; none accepted when absent. */
  readonly introspectionSecret?: string;
  /** LOGIN_* brute-force settings: delays and lockout of failed logins; the defaults when absent. */
  readonly loginThrottle?: LoginThrottlePolicy;
  readonly maxBodyBytes: number;
  readonly shutdownTimeoutMs: number;
  /** STORE_DEADLINE: one request's store calls together; the default (1 s) when absent. */
  readonly storeDeadlineMs?: number;
  /** The connection bounds of the front door; the defaults when absent. */
  readonly connections?: ConnectionLimits;
}

/** Everything the server is built from; main wires the real ones, tests their own. */
export interface ServerDeps {
  readonly store: Store;
  readonly hasher: PasswordHasher;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly settings: ServerSettings;
  /** Per-IP limits on AuthService calls (reference 002); none when absent. */
  readonly rateLimits?: RateLimits;
  /** Adds Node's default process metrics to `/metrics`; main turns it on, tests leave it off. */
  readonly processMetrics?: boolean;
}

/**
 * The protocol-independent heart of the server: use cases, Connect handlers and the
 * interceptor chain `[metrics, logging, errors, rate limit, auth]`. The HTTP server
 * mounts it; tests can mount it on `createRouterTransport` to call it in memory.
 */
export interface KeycardApp {
  readonly sessions: SessionService;
  /** The AuthService handlers, which the lean Validate path calls directly. */
  readonly auth: AuthServiceImpl;
  /** Envoy's ext_authz handler, which the lean path calls directly. */
  readonly extAuthz: ExtAuthzImpl;
  /** Calls AuthService and AdminService in process through the interceptors (REST, forward auth). */
  readonly direct: DirectCaller;
  readonly users: UserService;
  readonly apiKeys: ApiKeyService;
  readonly totp: TotpService;
  /** The guessing budget of the configured secrets (admin token, introspection secret). */
  readonly secretGate: SecretGate;
  /** This server's Prometheus registry and instruments, served at `/metrics`. */
  readonly metrics: KeycardMetrics;
  /** The log of finished calls, with the store's outages as state changes. */
  readonly calls: CallLog;
  readonly routes: (router: ConnectRouter) => void;
  readonly routerOptions: ConnectRouterOptions;
  /** Aborted when a drain takes longer than the shutdown timeout. */
  readonly shutdown: AbortController;
  /** Aborted when the server starts draining: readiness and gRPC health turn NOT_SERVING. */
  readonly draining: AbortController;
  /** Starts sweeping expired sessions (audit and metrics) until stopped; the server runs it. */
  readonly startExpirySweeper: () => ExpirySweeper;
  /** Reads the shared session epoch every second until stopped; the server runs it. */
  readonly watchSessionEpoch: () => { stop(): void };
}

/**
 * connect-node's JSON options. Its JSON serialization also reads `textDecoder` (typed only
 * there): a fatal one refuses invalid UTF-8, as REST and the lean path do, instead of
 * replacing it.
 */
const connectJsonOptions = {
  alwaysEmitImplicit: true,
  textDecoder: new TextDecoder("utf-8", { fatal: true }),
};

/** Wires the use cases and handlers from their dependencies. */
export function createApp(deps: ServerDeps): KeycardApp {
  const { store, hasher, clock, logger, settings } = deps;
  const metrics = createMetrics({ processMetrics: deps.processMetrics ?? false });
  const calls = new CallLog(logger);
  const audit: AuditLog = countingAudit(metrics, (event, fields) =>
    logger.info({ audit: event, ...fields }, event),
  );
  const secrets = new SecretKeeper(settings.encryptionKey, settings.previousEncryptionKeys);
  const guard = new LoginGuard({
    attempts: store.loginAttempts,
    users: store.users,
    clock,
    policy: settings.loginThrottle ?? defaultLoginThrottle,
    audit,
    onBackgroundError: (error) => logger.warn({ err: error }, "login.locked user lookup failed"),
  });
  const totp = new TotpService({ store, secrets, clock, audit, guard });
  const epoch = new SessionEpoch(store.sessionEpoch, (error) =>
    logger.warn({ err: error }, "reading the session epoch failed"),
  );
  const secretGate = new SecretGate(guard, clock);
  const apiKeys = new ApiKeyService({
    store,
    secrets,
    totp,
    clock,
    tokenPrefix: settings.tokenPrefix,
    audit,
    guard,
  });
  const sessions = new SessionService({
    store,
    hasher,
    apiKeys,
    totp,
    clock,
    policy: settings.policy,
    tokenPrefix: settings.tokenPrefix,
    hybrid: settings.authMode === "hybrid",
    ...(settings.adminPassword === undefined ? {} : { adminPassword: settings.adminPassword }),
    audit,
    onBackgroundError: (error) => logger.warn({ err: error }, "background session write failed"),
    onUnknownToken: unknownTokenReporter(metrics, logger),
    epoch,
    loginGuard: guard,
  });
  trackLiveSessions(metrics, () => sessions.countLive());
  const users = new UserService({ store, hasher, clock, audit });
  const auth = new AuthServiceImpl(sessions, clock);
  const shutdown = new AbortController();
  setMaxListeners(0, shutdown.signal);
  const draining = new AbortController();
  setMaxListeners(0, draining.signal);
  const impls: ServiceImpls = {
    auth,
    admin: new AdminServiceImpl({ users, apiKeys, totp, sessions }),
    health: new HealthServiceImpl(store, draining.signal),
    extAuthz: new ExtAuthzImpl(sessions),
  };
  const interceptors = [
    metricsInterceptor(metrics),
    loggingInterceptor(calls),
    errorsInterceptor(),
    ...(deps.rateLimits === undefined ? [] : [rateLimitInterceptor(deps.rateLimits)]),
    authInterceptor({
      sessions,
      apiKeys: settings.authMode === "hybrid" ? apiKeys : undefined,
      adminToken: settings.adminToken ?? "",
      audit,
      secretGate,
    }),
  ];
  const direct = new DirectCaller(interceptors);
  direct.register(AuthService, impls.auth);
  direct.register(AdminService, impls.admin);
  return {
    sessions,
    auth,
    users,
    apiKeys,
    totp,
    secretGate,
    metrics,
    calls,
    shutdown,
    draining,
    watchSessionEpoch: () => epoch.watch(),
    startExpirySweeper: () =>
      startExpirySweeper(sessions, (error) =>
        logger.warn({ err: error }, "sweeping expired sessions failed"),
      ),
    extAuthz: impls.extAuthz,
    direct,
    routes: routes(impls),
    routerOptions: {
      interceptors,
      readMaxBytes: settings.maxBodyBytes,
      shutdownSignal: shutdown.signal,
      jsonOptions: connectJsonOptions,
    },
  };
}
