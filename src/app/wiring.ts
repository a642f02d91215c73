import { setMaxListeners } from "node:events";
import { AdminService } from "../../gen/keycard/v1/admin_service_pb.js";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import { StoreUnavailableError } from "../domain/errors.js";
import { defaultLoginThrottle } from "../domain/login-throttle.js";
import { ApiKeyService } from "../service/api-key-service.js";
import type { AuditLog } from "../service/audit.js";
import { startExpirySweeper } from "../service/expiry-sweeper.js";
import { JwtIssuer } from "../service/jwt-issuer.js";
import { defaultJwtConfig, jwtKeysFor } from "../service/jwt-keys.js";
import { LoginGuard } from "../service/login-guard.js";
import { LoginSignals } from "../service/login-signals.js";
import { OwnTotp } from "../service/own-totp.js";
import { PasskeyProof } from "../service/passkey-proof.js";
import { Passkeys } from "../service/passkeys.js";
import { PasswordChanger } from "../service/password-changer.js";
import { PasswordResets } from "../service/password-resets.js";
import { Reauthenticator } from "../service/reauthenticator.js";
import { RecoveryCodes } from "../service/recovery-codes.js";
import { SecondFactor } from "../service/second-factor.js";
import { SecretGate } from "../service/secret-gate.js";
import { SecretKeeper } from "../service/secret-keeper.js";
import { SessionEpoch } from "../service/session-epoch.js";
import type { SessionEndListener } from "../service/session-lifetimes.js";
import { SessionService } from "../service/session-service.js";
import { TotpService } from "../service/totp-service.js";
import { UserService } from "../service/user-service.js";
import { SecurityWebhook } from "../store/infra/security-webhook.js";
import { createWebAuthnVerifier } from "../store/infra/webauthn-verifier.js";
import { cookiePolicyOf } from "../transport/cookie-policy.js";
import { AdminServiceImpl } from "../transport/handlers/admin-service-impl.js";
import { AuthServiceImpl } from "../transport/handlers/auth-service-impl.js";
import { ExtAuthzImpl } from "../transport/handlers/ext-authz-impl.js";
import { HealthServiceImpl } from "../transport/handlers/health-service-impl.js";
import { authInterceptor } from "../transport/interceptors/auth.js";
import { cookieSessionInterceptor } from "../transport/interceptors/cookie-session.js";
import { errorsInterceptor } from "../transport/interceptors/errors.js";
import { CallLog, loggingInterceptor } from "../transport/interceptors/logging.js";
import { validationInterceptor } from "../transport/interceptors/validation.js";
import { connectJsonOptions, type KeycardApp, type ServerDeps } from "../transport/keycard-app.js";
import {
  countingAudit,
  createMetrics,
  type KeycardMetrics,
  metricsInterceptor,
  trackLiveSessions,
} from "../transport/metrics.js";
import { rateLimitInterceptor } from "../transport/rate-limit.js";
import { routes, type ServiceImpls } from "../transport/routes.js";
import { DirectCaller } from "../transport/rpc/direct-caller.js";
import { createServer, type KeycardServer } from "../transport/server.js";
import { CallSpans } from "../transport/tracing/call-spans.js";
import { unknownTokenReporter } from "../transport/unknown-tokens.js";

/** PRIVILEGED_SESSION_MAX_AGE's default: a password or TOTP change needs a login at most 5 min old. */
const defaultPrivilegedSessionMaxAgeMs = 5 * 60_000;

/**
 * New-device and new-place signals, delivered to SECURITY_WEBHOOK_URL when it is set, and
 * how to stop them: let the logins being looked at finish, then drain the webhook.
 */
function loginSignals(
  deps: ServerDeps,
  metrics: KeycardMetrics,
  audit: AuditLog,
): { signals: LoginSignals; stop: () => Promise<void> } {
  const { store, clock, logger, settings } = deps;
  const webhook =
    settings.securityWebhook === undefined
      ? undefined
      : new SecurityWebhook({
          settings: settings.securityWebhook,
          clock,
          logger,
          onOutcome: (outcome) => metrics.webhookDeliveries.inc({ outcome }),
        });
  const signals = new LoginSignals({
    sightings: store.sightings,
    audit,
    ...(webhook === undefined ? {} : { notifier: webhook }),
    onFailure: (error) => {
      metrics.loginSignalErrors.inc();
      logger.warn(
        { err: error },
        "recording a login's device and place failed: no new-device or new-place signal for it (the login succeeded)",
      );
    },
  });
  const stop = async (): Promise<void> => {
    await signals.settle();
    await webhook?.close();
  };
  return { signals, stop };
}

/** Wires the use cases and handlers from their dependencies. */
export function createApp(deps: ServerDeps): KeycardApp {
  const { store, hasher, clock, logger, settings } = deps;
  const metrics = createMetrics({ processMetrics: deps.processMetrics ?? false });
  const calls = new CallLog(logger);
  const spans = deps.tracer === undefined ? undefined : new CallSpans(deps.tracer);
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
  const maxAuthAgeMs = settings.privilegedSessionMaxAgeMs ?? defaultPrivilegedSessionMaxAgeMs;
  const recoveryCodes = new RecoveryCodes({ store, secrets, clock, audit, guard, maxAuthAgeMs });
  const verifier = createWebAuthnVerifier();
  const relyingParty = settings.webauthn === undefined ? {} : { relyingParty: settings.webauthn };
  const passkeyProof = new PasskeyProof({ store, verifier, ...relyingParty, clock, audit, guard });
  const secondFactor = new SecondFactor({ totp, recoveryCodes, passkeys: passkeyProof });
  const epoch = new SessionEpoch(store.sessionEpoch, (error) =>
    error instanceof StoreUnavailableError
      ? logger.warn(
          "reading the session epoch failed: the store is unavailable (an emergency end on another replica reaches this one once it answers)",
        )
      : logger.warn({ err: error }, "reading the session epoch failed"),
  );
  const secretGate = new SecretGate(guard, clock);
  const apiKeys = new ApiKeyService({
    store,
    secrets,
    secondFactor,
    clock,
    tokenPrefix: settings.tokenPrefix,
    audit,
    guard,
  });
  const signals = loginSignals(deps, metrics, audit);
  const onSessionEnd: SessionEndListener = (reason, lifetimeMs) =>
    metrics.sessionLifetime.observe({ reason }, lifetimeMs / 1000);
  const sessions = new SessionService({
    store,
    hasher,
    apiKeys,
    secondFactor,
    passkeyProof,
    clock,
    policy: settings.policy,
    tokenPrefix: settings.tokenPrefix,
    hybrid: settings.authMode === "hybrid",
    ...(settings.adminPassword === undefined ? {} : { adminPassword: settings.adminPassword }),
    audit,
    onBackgroundError: (error) => logger.warn({ err: error }, "background session write failed"),
    onUnknownToken: unknownTokenReporter(metrics, logger),
    onSessionEnd,
    epoch,
    loginGuard: guard,
    signals: signals.signals,
  });
  trackLiveSessions(metrics, () => sessions.countLive());
  const users = new UserService({ store, hasher, clock, audit, onSessionEnd });
  const passkeys = new Passkeys({
    store,
    verifier,
    ...relyingParty,
    clock,
    audit,
    users,
    maxAuthAgeMs,
  });
  const reauthenticator = new Reauthenticator({
    store,
    hasher,
    secondFactor,
    clock,
    policy: settings.policy,
    tokenPrefix: settings.tokenPrefix,
    audit,
    guard,
  });
  const jwtConfig = settings.jwt ?? defaultJwtConfig;
  const jwtKeys = jwtKeysFor(jwtConfig, {
    store: store.signingKeys,
    secrets,
    clock,
    audit,
    onBackgroundError: (error) =>
      logger.warn(
        { err: error },
        "re-reading the JWT signing keys failed; signing with the last ones read",
      ),
  });
  const jwts = new JwtIssuer({ keys: jwtKeys, clock, settings: jwtConfig, audit });
  const passwords = new PasswordChanger({
    store,
    sessions,
    hasher,
    clock,
    audit,
    maxAuthAgeMs,
    guard,
  });
  const passwordResets = new PasswordResets({
    store,
    sessions,
    guard,
    hasher,
    clock,
    tokenPrefix: settings.tokenPrefix,
    audit,
  });
  const ownTotp = new OwnTotp({
    store,
    totp,
    sessions,
    clock,
    audit,
    maxAuthAgeMs,
  });
  const cookies = cookiePolicyOf(settings);
  const auth = new AuthServiceImpl({
    sessions,
    clock,
    reauthenticator,
    jwts,
    passwords,
    resets: passwordResets,
    ownTotp,
    recoveryCodes,
    passkeys,
    cookies,
  });
  const shutdown = new AbortController();
  setMaxListeners(0, shutdown.signal);
  const draining = new AbortController();
  setMaxListeners(0, draining.signal);
  const impls: ServiceImpls = {
    auth,
    admin: new AdminServiceImpl({
      users,
      apiKeys,
      totp,
      sessions,
      jwtKeys,
      passwordResets,
      recoveryCodes,
      passkeys,
    }),
    health: new HealthServiceImpl(store, draining.signal),
    extAuthz: new ExtAuthzImpl(sessions),
  };
  const interceptors = [
    metricsInterceptor(metrics),
    loggingInterceptor(calls, spans),
    errorsInterceptor(),
    ...(deps.rateLimits === undefined ? [] : [rateLimitInterceptor(deps.rateLimits)]),
    cookieSessionInterceptor({ cookies, sessions }),
    authInterceptor({
      sessions,
      apiKeys: settings.authMode === "hybrid" ? apiKeys : undefined,
      adminToken: settings.adminToken ?? "",
      audit,
      secretGate,
    }),
    validationInterceptor(),
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
    jwtKeys,
    metrics,
    calls,
    ...(spans === undefined ? {} : { spans }),
    shutdown,
    draining,
    watchSessionEpoch: () => epoch.watch(),
    stopSignals: signals.stop,
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

/** The keycard server built from its dependencies: the app wired, then put behind the front door. */
export function createKeycardServer(deps: ServerDeps): KeycardServer {
  return createServer(deps, createApp(deps));
}
