/**
 * A failure of the REST layer itself (before any RPC runs): unknown route, wrong method,
 * unreadable body. Carries its HTTP status and the `error` code of the JSON body.
 */
export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** Refuses any method but GET and HEAD on a read-only path: 405 with `Allow`. */
export function onlyGetOrHead(method: string | undefined, path: string): void {
  if (method !== "GET" && method !== "HEAD") {
    throw new RestError(405, "METHOD_NOT_ALLOWED", `Use GET for ${path}`, { allow: "GET, HEAD" });
  }
}
