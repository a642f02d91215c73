import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/app/config/config.js";
import { ensureKeysFile, keysReport } from "../../src/app/first-start-keys.js";

/** The assignments of a keys.env file, as `set -a; . keys.env` would export them. */
function assignments(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .trim()
      .split("\n")
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
}

describe("first-start keys (compose's one-shot keys service)", () => {
  it("makes an admin token and encryption key that keycard accepts, readable by its owner only", () => {
    const folder = mkdtempSync(join(tmpdir(), "keycard-keys-"));
    const outcome = ensureKeysFile(folder);
    expect(outcome.made).toBe(true);
    const text = readFileSync(join(folder, "keys.env"), "utf8");
    const keys = assignments(text);
    expect(Object.keys(keys)).toEqual(["KEYCARD_ADMIN_TOKEN", "KEYCARD_ENCRYPTION_KEY"]);
    for (const value of Object.values(keys)) {
      expect(value).toMatch(/^[A-Za-z0-9+/=_-]{32,}$/);
    }
    const config = loadConfig(keys);
    expect(config.adminToken).toBe(keys.KEYCARD_ADMIN_TOKEN);
    expect(config.encryptionKey?.length).toBe(32);
    expect(statSync(join(folder, "keys.env")).mode & 0o777).toBe(0o600);
  });

  it("keeps the keys of the first start for good, and never shows them again", () => {
    const folder = mkdtempSync(join(tmpdir(), "keycard-keys-"));
    const first = ensureKeysFile(folder);
    const firstText = readFileSync(join(folder, "keys.env"), "utf8");
    const firstReport = keysReport(first);
    for (const [name, value] of Object.entries(assignments(firstText))) {
      expect(firstReport).toContain(`export ${name}=${value}`);
    }

    const again = ensureKeysFile(folder);
    expect(again).toEqual({ made: false, path: join(folder, "keys.env") });
    expect(readFileSync(join(folder, "keys.env"), "utf8")).toBe(firstText);
    const report = keysReport(again);
    expect(report).toContain("not shown again");
    for (const value of Object.values(assignments(firstText))) {
      expect(report).not.toContain(value);
    }
  });

  it("makes different keys in different folders", () => {
    const texts = [0, 1].map(() => {
      const folder = mkdtempSync(join(tmpdir(), "keycard-keys-"));
      ensureKeysFile(folder);
      return readFileSync(join(folder, "keys.env"), "utf8");
    });
    expect(texts[0]).not.toBe(texts[1]);
  });

  it("fails on a folder it cannot write, instead of printing keys it did not keep", () => {
    expect(() => ensureKeysFile(join(tmpdir(), "keycard-no-such-folder", "deeper"))).toThrow(
      /ENOENT/,
    );
  });
});
