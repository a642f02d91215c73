/**
 * The session token a request presents: `Authorization: Bearer <token>` first, then
 * `X-Session-Token`. Empty when there is none.
 */
export function presentedToken(headers: Headers): string {
  const authorization = headers.get("authorization") ?? "";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (match?.[1] !== undefined) {
    return match[1];
  }
  return headers.get("x-session-token")?.trim() ?? "";
}
