import type { Schema } from "./types.js";

/**
 * Shorthands for the hand-written schemas of the paths not generated from the proto (the
 * profiles, forward auth, introspection, probes, discovery), so that each reads as the
 * shape it describes.
 */

/** An object with these properties, all present unless named in `optional`. */
export function object(
  properties: Record<string, Schema>,
  optional: readonly string[] = [],
  description?: string,
): Schema {
  const required = Object.keys(properties).filter((name) => !optional.includes(name));
  return {
    type: "object",
    ...(description === undefined ? {} : { description }),
    properties,
    ...(required.length === 0 ? {} : { required }),
  };
}

/** A string, described. */
export function text(description: string, more: Schema = {}): Schema {
  return { type: "string", description, ...more };
}

/** A whole number, described. */
export function integer(description: string, more: Schema = {}): Schema {
  return { type: "integer", description, ...more };
}

/** A boolean, described. */
export function flag(description: string): Schema {
  return { type: "boolean", description };
}

/** Exactly this value. */
export function constant(value: string | boolean, description?: string): Schema {
  return { const: value, ...(description === undefined ? {} : { description }) };
}

/** An RFC 3339 instant, or null when there is none. */
export function instantOrNull(description: string): Schema {
  return { type: ["string", "null"], format: "date-time", description };
}

/** A list of strings, described. */
export function texts(description: string): Schema {
  return { type: "array", items: { type: "string" }, description };
}
