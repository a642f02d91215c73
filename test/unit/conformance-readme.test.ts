import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const conformanceDir = new URL("../conformance/", import.meta.url);

/** The rows of the README's requirements table: requirement, status, where it is checked. */
function requirementRows(): string[][] {
  const section = readme.split("## Security requirements")[1]?.split("\n## ")[0] ?? "";
  return section
    .split("\n")
    .filter((line) => /^\| (ASVS|NIST|RFC)/.test(line))
    .map((line) => line.split(" | ").map((cell) => cell.replace(/^\|? ?| ?\|?$/g, "").trim()));
}

describe("the README's list of security requirements", () => {
  it("names an existing test for every requirement it says is met, and none for one it does not", () => {
    const rows = requirementRows();
    expect(rows.length).toBeGreaterThan(20);
    for (const [requirement, status, where] of rows) {
      const files = [...(where ?? "").matchAll(/`([^`]+\.test\.ts)`/g)].map((match) => match[1]);
      const claimed = /^met\b/.test(status ?? "");
      expect(files.length > 0, `${requirement}: ${status} / ${where}`).toBe(claimed);
      for (const file of files) {
        expect(
          existsSync(new URL(`../${file}`, conformanceDir)) ||
            existsSync(new URL(file ?? "", conformanceDir)),
          file,
        ).toBe(true);
      }
    }
  });

  it("lists every file of test/conformance/", () => {
    for (const file of readdirSync(conformanceDir)) {
      expect(readme, file).toContain(`\`${file}\``);
    }
  });
});
