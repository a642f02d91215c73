/** How deep objects and arrays may nest in a request body; keycard's messages need 4. */
export const maxJsonDepth = 32;

/** A request body that is not acceptable JSON, with the reason a client is told. */
export class JsonTextError extends Error {}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The one JSON parser of every JSON door (REST, the profiles, Connect's lean path), so that
 * they agree: the bytes must be UTF-8, objects may not repeat a key (JSON.parse would keep
 * the last one silently) and nesting stops at {@link maxJsonDepth}.
 */
export function parseJsonText(body: Uint8Array): unknown {
  let text: string;
  try {
    text = strictUtf8.decode(body);
  } catch {
    throw new JsonTextError("The body is not valid UTF-8");
  }
  checkShape(text);
  try {
    return JSON.parse(text);
  } catch {
    throw new JsonTextError("The body is not valid JSON");
  }
}

/**
 * Scans the text's structure before it is parsed: too deep a nesting or a repeated key is
 * refused here, and malformed text is left for JSON.parse to refuse.
 */
function checkShape(text: string): void {
  const keys: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (char === "{" || char === "[") {
      if (keys.length >= maxJsonDepth) {
        throw new JsonTextError(`The body nests deeper than ${maxJsonDepth} levels`);
      }
      keys.push(char === "{" ? new Set() : null);
      expectKey = char === "{";
    } else if (char === "}" || char === "]") {
      keys.pop();
      expectKey = false;
    } else if (char === ",") {
      expectKey = (keys.at(-1) ?? null) !== null;
    } else if (char === ":") {
      expectKey = false;
    } else if (char === '"') {
      const end = closingQuote(text, i);
      const seen = keys.at(-1);
      if (expectKey && seen !== undefined && seen !== null) {
        const key = keyOf(text.slice(i, end + 1));
        if (seen.has(key)) {
          throw new JsonTextError(`The body repeats the key ${JSON.stringify(key)}`);
        }
        seen.add(key);
      }
      expectKey = false;
      i = end;
    }
  }
}

/** A member name as written (`"name"`), escapes decoded so that `"\u0061"` is `a`. */
function keyOf(quoted: string): string {
  if (!quoted.includes("\\")) {
    return quoted.slice(1, -1);
  }
  try {
    return JSON.parse(quoted) as string;
  } catch {
    throw new JsonTextError("The body is not valid JSON");
  }
}

/** The index of the quote that closes the string opening at `open` (or the text's end). */
function closingQuote(text: string, open: number): number {
  let i = open + 1;
  while (i < text.length && text[i] !== '"') {
    i += text[i] === "\\" ? 2 : 1;
  }
  return i;
}
