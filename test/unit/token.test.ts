import { describe, expect, it } from "vitest";
import { hashToken, isWellFormedToken, mintToken, newId } from "../../src/domain/token.js";

const sessionToken = /^kc_sess_[A-Za-z0-9_-]{43}$/;

describe("mintToken", () => {
  it("mints a session token as kc_sess_ followed by 43 base64url characters", () => {
    for (let i = 0; i < 50; i += 1) {
      expect(mintToken("kc", "sess")).toMatch(sessionToken);
    }
  });

  it("puts the prefix and the kind into the token", () => {
    expect(mintToken("acme", "key")).toMatch(/^acme_key_[A-Za-z0-9_-]{43}$/);
  });

  it("never mints the same token twice", () => {
    const tokens = new Set(Array.from({ length: 1_000 }, () => mintToken("kc", "sess")));
    expect(tokens.size).toBe(1_000);
  });
});

describe("isWellFormedToken", () => {
  const body = `${"A".repeat(42)}_`;

  it("accepts a freshly minted token of the same prefix and kind", () => {
    expect(isWellFormedToken(mintToken("kc", "sess"), "kc", "sess")).toBe(true);
    expect(isWellFormedToken(`kc_sess_${body}`, "kc", "sess")).toBe(true);
    expect(isWellFormedToken(`kc_sess_${"-".repeat(43)}`, "kc", "sess")).toBe(true);
  });

  it("refuses a token with another prefix", () => {
    expect(isWellFormedToken(mintToken("xx", "sess"), "kc", "sess")).toBe(false);
    expect(isWellFormedToken(`KC_sess_${body}`, "kc", "sess")).toBe(false);
  });

  it("refuses a token of another kind", () => {
    expect(isWellFormedToken(mintToken("kc", "key"), "kc", "sess")).toBe(false);
    expect(isWellFormedToken(mintToken("kc", "sess"), "kc", "key")).toBe(false);
  });

  it("refuses a token one character too short or too long", () => {
    const token = mintToken("kc", "sess");
    expect(isWellFormedToken(token.slice(0, -1), "kc", "sess")).toBe(false);
    expect(isWellFormedToken(`${token}A`, "kc", "sess")).toBe(false);
    expect(isWellFormedToken("", "kc", "sess")).toBe(false);
    expect(isWellFormedToken("kc_sess_", "kc", "sess")).toBe(false);
  });

  it.each(["+", "/", "=", ".", " ", "é", "\n"])(
    "refuses a token with the character %j in its secret",
    (character) => {
      expect(isWellFormedToken(`kc_sess_${"A".repeat(42)}${character}`, "kc", "sess")).toBe(false);
    },
  );

  it("refuses a token whose separators are missing", () => {
    expect(isWellFormedToken(`kcsess_${body}A`, "kc", "sess")).toBe(false);
    expect(isWellFormedToken(`kc-sess-${body}`, "kc", "sess")).toBe(false);
  });
});

describe("hashToken", () => {
  it("hashes the same token to the same value every time", () => {
    const token = mintToken("kc", "sess");
    expect(hashToken(token)).toBe(hashToken(token));
  });

  it("is not the token itself and does not contain it", () => {
    const token = mintToken("kc", "sess");
    const hash = hashToken(token);
    expect(hash).not.toBe(token);
    expect(hash).not.toContain(token.slice("kc_sess_".length));
  });

  it("hashes different tokens to different values", () => {
    expect(hashToken(mintToken("kc", "sess"))).not.toBe(hashToken(mintToken("kc", "sess")));
  });

  it("is the base64url SHA-256 of the token", () => {
    expect(hashToken("abc")).toBe("ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
  });
});

describe("newId", () => {
  it("makes distinct 22-character base64url ids", () => {
    const ids = new Set(Array.from({ length: 1_000 }, () => newId()));
    expect(ids.size).toBe(1_000);
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    }
  });

  it("never starts with a dash, so that an id passed to the CLI is not read as an option", () => {
    const ids = Array.from({ length: 5_000 }, () => newId());
    expect(ids.filter((id) => id.startsWith("-"))).toEqual([]);
    expect(ids.every((id) => /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
