/**
 * keycard as the bench runs it: `node --import tsx src/app/main.ts` (one process, so its pid is
 * the server's, which startKeycard checks), against a private Redis, with one user who has
 * logged in.
 */
import { assertServes, freePort, type Started, startProcess } from "./processes.js";

/** The admin token the bench's keycard accepts. */
export const adminToken = "bench-admin-token-0123456789abcdef";
/** The Redis key prefix the bench's keycard uses (the floor server reads the same keys). */
export const namespace = "bench";
/** The user every scenario logs in as. */
export const benchUser = {
  email: "bench@example.com",
  display_name: "Bench",
  password: "bench-password-1",
} as const;
/** The INTROSPECTION_SECRET of the bench's keycard (RFC 7662 callers present it). */
export const introspectionSecret = "bench-introspection-secret-0123456789";
/** The Connect/gRPC path of Validate. */
export const validatePath = "/keycard.v1.AuthService/Validate";

/** A running keycard and the base URL it listens on. */
export interface Keycard extends Started {
  readonly baseUrl: string;
  readonly port: number;
}

/**
 * Starts keycard, unpinned unless `cpu` is given. Rate limits are off (a bench comes from
 * one IP) and introspection is on; `env` adds or overrides settings.
 */
export async function startKeycard(
  redisUrl: string,
  env: Readonly<Record<string, string>> = {},
  cpu?: number,
): Promise<Keycard> {
  const port = await freePort();
  const started = await startProcess({
    command: process.execPath,
    argv: ["--import", "tsx", "src/app/main.ts"],
    env: {
      PORT: String(port),
      HOST: "127.0.0.1",
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: namespace,
      KEYCARD_ADMIN_TOKEN: adminToken,
      LOG_LEVEL: "info",
      LOGIN_RATE_LIMIT: "0",
      AUTH_RATE_LIMIT: "0",
      INTROSPECTION_SECRET: introspectionSecret,
      ...env,
    },
    ready: /keycard listening/,
    ...(cpu === undefined ? {} : { cpu }),
  });
  assertServes(started.pid, port, "keycard");
  return { ...started, baseUrl: `http://127.0.0.1:${port}`, port };
}

/** Creates the bench user (once per Redis) and returns a fresh session token for it. */
export async function loginToken(baseUrl: string): Promise<string> {
  await fetch(`${baseUrl}/admin/users`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(benchUser),
  });
  const login = await fetch(`${baseUrl}/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: benchUser.email, password: benchUser.password }),
  });
  const { session_token: token } = (await login.json()) as { session_token?: string };
  if (token === undefined) {
    throw new Error(`the bench user could not log in (HTTP ${login.status})`);
  }
  const check = await fetch(`${baseUrl}/auth/validate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token }),
  });
  if (!((await check.json()) as { active?: boolean }).active) {
    throw new Error("the bench token does not validate");
  }
  return token;
}
