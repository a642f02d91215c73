import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The one-way arrows of DESIGN.md's layers, checked on every import of src/: domain imports
 * nothing of keycard's outside itself and no infrastructure package; service imports no
 * protocol, no generated code, no store or transport and no infrastructure package; store
 * and transport do not import each other; only the composition root (src/app) imports them
 * all, and nothing imports it but the command line's `serve` and `reencrypt`. The command
 * line is a client: it speaks to keycard over the API, never through its insides.
 */
const root = resolve(import.meta.dirname, "../..");
const src = join(root, "src");

interface Layer {
  readonly folder: string;
  /** Folders (relative to the repository) this layer must not import from. */
  readonly forbiddenFolders: readonly string[];
  /** Packages (or their subpaths) this layer must not import. */
  readonly forbiddenPackages: readonly string[];
}

const infrastructure = ["ioredis", "argon2", "pino", "@simplewebauthn/server"];
const protocol = ["@connectrpc/connect", "@connectrpc/connect-node", "@bufbuild/protobuf"];

const layers: readonly Layer[] = [
  {
    folder: "src/domain",
    forbiddenFolders: ["src/app", "src/service", "src/store", "src/transport", "src/cli", "gen"],
    forbiddenPackages: [...infrastructure, ...protocol],
  },
  {
    folder: "src/service",
    forbiddenFolders: ["src/app", "src/store", "src/transport", "src/cli", "gen"],
    forbiddenPackages: [...infrastructure, ...protocol],
  },
  {
    folder: "src/store",
    forbiddenFolders: ["src/app", "src/service", "src/transport", "src/cli", "gen"],
    forbiddenPackages: protocol,
  },
  {
    folder: "src/transport",
    forbiddenFolders: ["src/app", "src/store", "src/cli"],
    forbiddenPackages: ["ioredis", "argon2"],
  },
  {
    folder: "src/cli",
    forbiddenFolders: ["src/service", "src/store", "src/transport"],
    forbiddenPackages: ["ioredis", "argon2", "pino"],
  },
];

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts"))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Every module a file imports (static, dynamic and type-only), as written. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found = text.matchAll(
    /(?:^|\n)\s*(?:import|export)[^"';]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g,
  );
  return [...found].map((match) => match[1] ?? match[2] ?? "");
}

/** What an import breaks of a layer's rules, if anything. */
function violation(layer: Layer, file: string, specifier: string): string | undefined {
  if (specifier.startsWith(".")) {
    const target = relative(root, resolve(dirname(file), specifier));
    const folder = layer.forbiddenFolders.find(
      (forbidden) => target === forbidden || target.startsWith(`${forbidden}/`),
    );
    return folder === undefined ? undefined : `imports ${folder} (${specifier})`;
  }
  const banned = layer.forbiddenPackages.find(
    (name) => specifier === name || specifier.startsWith(`${name}/`),
  );
  return banned === undefined ? undefined : `imports ${banned}`;
}

describe("the layers of src/", () => {
  for (const layer of layers) {
    it(`keeps ${layer.folder} to its side of the arrows`, () => {
      const broken = sourceFiles(join(root, layer.folder)).flatMap((file) =>
        importsOf(file)
          .map((specifier) => violation(layer, file, specifier))
          .filter((problem): problem is string => problem !== undefined)
          .map((problem) => `${relative(root, file)} ${problem}`),
      );
      expect(broken).toEqual([]);
    });
  }

  it("lets nothing but the command line's entry points into the composition root", () => {
    const entries = ["src/cli/commands/serve.ts", "src/cli/commands/reencrypt.ts"];
    const importers = ["src/cli", "src/domain", "src/service", "src/store", "src/transport"]
      .flatMap((folder) => sourceFiles(join(root, folder)))
      .filter((file) => !entries.includes(relative(root, file)))
      .filter((file) =>
        importsOf(file).some((specifier) => {
          const target = relative(root, resolve(dirname(file), specifier));
          return specifier.startsWith(".") && target.startsWith("src/app/");
        }),
      )
      .map((file) => relative(root, file));
    expect(importers).toEqual([]);
    expect(sourceFiles(src).filter((file) => dirname(file) === src)).toEqual([]);
  });

  it("finds the imports it checks", () => {
    const imports = importsOf(join(src, "store/redis/session-store.ts"));
    expect(imports).toContain("../../domain/errors.js");
    expect(imports.length).toBeGreaterThan(5);
  });
});
