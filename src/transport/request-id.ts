import { randomUUID } from "node:crypto";

/** The header that carries a request's id in and out, on every protocol. */
export const requestIdHeader = "x-request-id";

/** Printable ASCII, bounded: an id a caller sends is logged and echoed, so nothing else is. */
const acceptable = /^[\x21-\x7e]{1,128}$/;

/** The caller's request id when it is a sane one, else a new random UUID. */
export function requestIdOf(header: string | readonly string[] | null | undefined): string {
  return typeof header === "string" && acceptable.test(header) ? header : randomUUID();
}

/**
 * The id the front door already gave this request (server.ts sets the header once, from
 * {@link requestIdOf}); made here only for a request that did not pass through it.
 */
export function givenRequestId(headers: Record<string, string | string[] | undefined>): string {
  const id = headers[requestIdHeader];
  return typeof id === "string" ? id : requestIdOf(id);
}
