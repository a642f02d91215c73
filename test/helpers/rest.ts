import { expect } from "vitest";

/** A parsed JSON object body. */
export type Json = Record<string, unknown>;

/** One HTTP exchange: status, headers, the raw body text and the body parsed as JSON. */
export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: Json;
}

/** A REST client for one server; `post` without a body sends none, like reference 000's curl. */
export interface Rest {
  readonly baseUrl: string;
  get(path: string, headers?: Record<string, string>): Promise<Reply>;
  post(path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  del(path: string, headers?: Record<string, string>): Promise<Reply>;
}

/** Sends any request and returns status, headers, raw text and the body (`{}` when empty). */
export async function send(url: string, init: RequestInit = {}): Promise<Reply> {
  const response = await fetch(url, init);
  const text = await response.text();
  const body = (text === "" ? {} : JSON.parse(text)) as Json;
  return { status: response.status, headers: response.headers, text, body };
}

/** A JSON POST: a string body goes as it is, anything else as JSON. */
export function jsonPost(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

/** A REST client for the server at `baseUrl`. */
export function restClient(baseUrl: string): Rest {
  return {
    baseUrl,
    get: (path, headers = {}) => send(`${baseUrl}${path}`, { headers }),
    post: (path, body, headers = {}) =>
      send(`${baseUrl}${path}`, {
        method: "POST",
        ...(body === undefined
          ? { headers }
          : {
              headers: { "content-type": "application/json", ...headers },
              body: JSON.stringify(body),
            }),
      }),
    del: (path, headers = {}) => send(`${baseUrl}${path}`, { method: "DELETE", headers }),
  };
}

/** The fields of a REST refresh reply, sorted. */
export const refreshReplyFields = [
  "expires_at",
  "expires_in",
  "message",
  "session_id",
  "session_token",
] as const;

/** The fields of a REST login reply, sorted: a refresh reply's and the display name. */
export const loginReplyFields = [...refreshReplyFields, "user"] as const;

/** An `Authorization: Bearer` header for `token`. */
export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** What a leaked stack trace or exception text would look like in a body. */
export const stackTrace = /Error:|\n\s*at |\bat \S+ \(\S+:\d+:\d+\)|node:internal|\/src\//;

/** An RFC 3339 timestamp, as the REST API writes them. */
export const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function expectRefusal(
  reply: Reply,
  status: number,
  error: string,
  message: string | undefined,
  declaredJson: boolean,
): void {
  expect(reply.status).toBe(status);
  if (declaredJson) {
    expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
  }
  expect(reply.body).toEqual({ error, message: message ?? expect.any(String) });
  expect(reply.text).not.toMatch(stackTrace);
}

/** A refusal in the REST error shape `{error, message}`, never a 500 or a stack trace. */
export function expectError(reply: Reply, status: number, error: string, message?: string): void {
  expectRefusal(reply, status, error, message, false);
}

/** As {@link expectError}, and the reply declares itself `application/json`. */
export function expectJsonError(
  reply: Reply,
  status: number,
  error: string,
  message?: string,
): void {
  expectRefusal(reply, status, error, message, true);
}

/**
 * A refusal in the compatibility profiles' envelope `{success: false, error, message}`
 * (references 002 and 003); any message string when `message` is left out.
 */
export function expectEnvelopeError(
  reply: Reply,
  status: number,
  error: string,
  message?: string,
): void {
  expect(reply.status).toBe(status);
  expect(reply.body).toEqual({ success: false, error, message: message ?? expect.any(String) });
}
