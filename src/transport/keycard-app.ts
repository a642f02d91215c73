import type { ConnectRouter, ConnectRouterOptions } from "@connectrpc/connect";
import type { Tracer } from "@opentelemetry/api";
import type { Logger } from "pino";
import type { Clock } from "../domain/clock.js";
import type { LoginThrottlePolicy } from "../domain/login-throttle.js";
import type { RelyingParty } from "../domain/passkey.js";
import type { PasswordHasher, Store } from "../domain/ports.js";
import type { RateLimits } from "../domain/rate-limits.js";
import type { SecurityWebhookSettings } from "../domain/security-event.js";
import type { SessionPolicy } from "../domain/session.js";
import type { ApiKeyService } from "../service/api-key-service.js";
import type { ExpirySweeper } from "../service/expiry-sweeper.js";
import type { JwtConfig } from "../service/jwt-keys.js";
import type { SecretGate } from "../service/secret-gate.js";
import type { SessionService } from "../service/session-service.js";
import type { JwtKeys } from "../service/signing-keyring.js";
import type { TotpService } from "../service/totp-service.js";
import type { UserService } from "../service/user-service.js";
import type { AuthServiceImpl } from "./handlers/auth-service-impl.js";
import type { ExtAuthzImpl } from "./handlers/ext-authz-impl.js";
import type { CallLog } from "./interceptors/logging.js";
import type { KeycardMetrics } from "./metrics.js";
import type { DirectCaller } from "./rpc/direct-caller.js";
import type { ConnectionLimits } from "./server/limits.js";
import type { CallSpans } from "./tracing/call-spans.js";
import type { PortalAssets } from "./ui/portal-assets.js";

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
  /** COOKIE_DOMAIN: the parent domain keycard's cookies are set for; host-only when absent. */
  readonly cookieDomain?: string;
  /** ALLOWED_REDIRECT_DOMAINS: domains (with subdomains) browsers may be redirected to; none when absent. */
  readonly allowedRedirectDomains?: readonly string[];
  /** LOCATION_HEADER, lower-cased: where a trusted proxy states the client's location. */
  readonly locationHeader?: string;
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
  /** JWT_*: what IssueJwt signs; the defaults (EdDSA, issuer `keycard`) when absent. */
  readonly jwt?: JwtConfig;
  /** PRIVILEGED_SESSION_MAX_AGE in ms: how fresh a session must be to change its password or TOTP; 5 min when absent. */
  readonly privilegedSessionMaxAgeMs?: number;
  /** SECURITY_WEBHOOK_URL and _SECRET: where new-device and new-place events go; nowhere when absent. */
  readonly securityWebhook?: SecurityWebhookSettings;
  /** WEBAUTHN_RP_ID, _RP_NAME and _ORIGINS: who keycard is to passkeys; passkeys are off when absent. */
  readonly webauthn?: RelyingParty;
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
  /** The built sign-in portal served at `/ui/` (UI); not served when absent. */
  readonly portal?: PortalAssets;
  /** Where request spans come from when tracing is on (OTEL_EXPORTER_OTLP_ENDPOINT); none when absent. */
  readonly tracer?: Tracer;
}

/**
 * The protocol-independent heart of the server: use cases, Connect handlers and the
 * interceptor chain `[metrics, logging, errors, rate limit, auth, validation]`. The HTTP server
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
  /** The JWT signing keys, whose public halves `/.well-known/jwks.json` publishes. */
  readonly jwtKeys: JwtKeys;
  /** This server's Prometheus registry and instruments, served at `/metrics`. */
  readonly metrics: KeycardMetrics;
  /** The log of finished calls, with the store's outages as state changes. */
  readonly calls: CallLog;
  /** One span per request at every door; absent when tracing is off. */
  readonly spans?: CallSpans;
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
  /**
   * Finishes looking at recent logins for new devices and places and drains the security
   * webhook for a short bound; the server calls it once it has stopped serving.
   */
  readonly stopSignals: () => Promise<void>;
}

/**
 * connect-node's JSON options. Its JSON serialization also reads `textDecoder` (typed only
 * there): a fatal one refuses invalid UTF-8, as REST and the lean path do, instead of
 * replacing it.
 */
export const connectJsonOptions = {
  alwaysEmitImplicit: true,
  textDecoder: new TextDecoder("utf-8", { fatal: true }),
};
