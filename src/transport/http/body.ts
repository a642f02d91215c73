import type { Readable } from "node:stream";
import type { JsonValue } from "@bufbuild/protobuf";
import { type JsonTextError, parseJsonText } from "./json-text.js";
import { RestError } from "./rest-error.js";

/** A request body's source: a Node request of either HTTP version. */
type BodySource = Readable & { headers: Record<string, string | string[] | undefined> };

/**
 * Collects a request body; resolves undefined as soon as it passes `limit` bytes (the rest
 * is drained, so the connection stays usable). Listens for events rather than iterating,
 * which costs less on the hot path.
 */
export function collectBody(request: BodySource, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    if (Number(request.headers["content-length"] ?? 0) > limit) {
      request.resume();
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      request.off("data", onData);
      request.off("end", onEnd);
      request.resume();
      resolve(undefined);
    };
    const onEnd = (): void => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    request.on("data", onData);
    request.once("end", onEnd);
    request.once("error", reject);
  });
}

/** Reads a request body, refusing it with 413 as soon as it passes `limit` bytes. */
export async function readBody(request: BodySource, limit: number): Promise<Buffer> {
  const body = await collectBody(request, limit);
  if (body === undefined) {
    throw new RestError(413, "PAYLOAD_TOO_LARGE", `Request body exceeds ${limit} bytes`);
  }
  return body;
}

/** Parses a JSON object body; an empty body is an empty object. */
export function parseJsonObject(body: Buffer): Record<string, JsonValue> {
  if (body.length === 0) {
    return {};
  }
  let value: unknown;
  try {
    value = parseJsonText(body);
  } catch (error) {
    throw new RestError(400, "INVALID_ARGUMENT", (error as JsonTextError).message);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RestError(400, "INVALID_ARGUMENT", "Request body must be a JSON object");
  }
  return value as Record<string, JsonValue>;
}
