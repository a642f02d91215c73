#!/usr/bin/env node
// The `keycard` command: runs the compiled CLI when `npm run build` has produced it, and
// otherwise the TypeScript source through tsx (a dev dependency), so that
// `npx keycard --help` works in a fresh clone after `npm install`.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const compiled = new URL("../dist/src/cli/main.js", import.meta.url);

if (existsSync(fileURLToPath(compiled))) {
  await import(compiled.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL("../src/cli/main.ts", import.meta.url).href);
}
