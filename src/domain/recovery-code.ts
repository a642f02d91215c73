import { randomBytes } from "node:crypto";

/** How many recovery codes a person gets at a time. */
export const recoveryCodeCount = 10;

/**
 * Crockford's base32 alphabet, lower-cased: no `i`, `l`, `o` or `u`, so that a code copied
 * by hand from paper cannot be misread (on input `i` and `l` read as `1`, `o` as `0`).
 */
const alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

/** Characters of a code: 12 of 32 symbols, 60 random bits. */
const codeLength = 12;

/** Characters between two dashes when a code is shown. */
const groupLength = 4;

/** Characters a person may type for another one of the alphabet. */
const lookalikes: Readonly<Record<string, string>> = { i: "1", l: "1", o: "0" };

/**
 * A new recovery code as it is shown, such as `7k2m-9qxw-ar4t`. Each character takes five
 * bits of a random byte; 32 divides 256, so every symbol is equally likely.
 */
export function newRecoveryCode(): string {
  const symbols = [...randomBytes(codeLength)].map((byte) => alphabet[byte % alphabet.length]);
  const groups: string[] = [];
  for (let at = 0; at < codeLength; at += groupLength) {
    groups.push(symbols.slice(at, at + groupLength).join(""));
  }
  return groups.join("-");
}

/**
 * The one form of a code that is hashed and compared: what a person typed without case,
 * dashes or spaces, look-alike letters read as the digits they stand for. Undefined for
 * text that cannot be a code, which is then refused like a wrong one.
 */
export function canonicalRecoveryCode(typed: string): string | undefined {
  const canonical = [...typed.toLowerCase().replace(/[\s-]/g, "")]
    .map((character) => lookalikes[character] ?? character)
    .join("");
  if (canonical.length !== codeLength || ![...canonical].every((c) => alphabet.includes(c))) {
    return undefined;
  }
  return canonical;
}
