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
