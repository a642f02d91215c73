import type { Env } from "./config/env-reader.js";

/** HOST values that mean "every address": the check then asks over the loopback. */
const everyAddress = new Set(["", "0.0.0.0", "::"]);

/**
 * The liveness URL of the keycard listening on this machine, from the same PORT and HOST it
 * reads: the container's HEALTHCHECK runs beside keycard with its environment.
 */
export function healthzUrl(env: Env): string {
  const port = env.PORT?.trim() || "8080";
  const host = env.HOST?.trim() ?? "";
  if (everyAddress.has(host)) {
    return `http://127.0.0.1:${port}/healthz`;
  }
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}/healthz`;
}

/**
 * True when `url` answers 200 within `timeoutMs`. The slim image has no curl or wget, so the
 * check is Node's own fetch; a refused connection or a timeout is simply unhealthy.
 */
export async function answersHealthy(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}
