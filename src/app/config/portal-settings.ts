import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { EnvReader } from "./env-reader.js";

/** The folder holding package.json above this file: the checkout, or /app in the image. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) {
    dir = dirname(dir);
  }
  return dir;
}

/** Where `npm run build` puts the sign-in portal (scripts/build-ui.ts). */
export const builtPortalDir = join(packageRoot(), "dist", "ui");

/** UI: whether keycard serves its sign-in and account pages at `/ui/` (default true). */
export function readPortalEnabled(read: EnvReader): boolean {
  const text = read.text("UI", "true").toLowerCase();
  read.check(text === "true" || text === "false", `UI="${text}" must be true or false`);
  return text !== "false";
}
