import type { Readable } from "node:stream";
import type { JsonValue } from "@bufbuild/protobuf";
import { RestError } from "./rest-error.js";

/** Reads a request body, refusing it with 413 as soon as it passes `limit` bytes. */
export async function readBody(
  request: Readable & { headers: Record<string, string | string[] | undefined> },
  limit: number,
): Promise<Buffer> {
  const tooLarge = (): RestError =>
    new RestError(413, "PAYLOAD_TOO_LARGE", `Request body exceeds ${limit} bytes`);
  if (Number(request.headers["content-length"] ?? 0) > limit) {
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON object body; an empty body is an empty object. */
export function parseJsonObject(body: Buffer): Record<string, JsonValue> {
  if (body.length === 0) {
    return {};
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    throw new RestError(400, "INVALID_ARGUMENT", "Request body is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RestError(400, "INVALID_ARGUMENT", "Request body must be a JSON object");
  }
  return value as Record<string, JsonValue>;
}
