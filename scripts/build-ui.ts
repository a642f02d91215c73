import { copyFile, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

/*
 * Builds keycard's sign-in portal (src/transport/ui/web/) into `dist/ui/`: each page's
 * script bundled and minified by esbuild with the generated Connect-Web clients, the pages
 * and the stylesheet copied. `npm run build` runs it; the output is never committed.
 *
 *   tsx scripts/build-ui.ts [out-dir]
 */

const root = fileURLToPath(new URL("..", import.meta.url));
const web = join(root, "src/transport/ui/web");

/** The pages: each has `<name>.html` and the entry script `<name>.ts`. */
export const portalPages = ["signin", "account"] as const;

/** Bundles the portal into `outDir` (`<page>.html`, `assets/<page>.js`, `assets/portal.css`). */
export async function buildUi(outDir: string): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(join(outDir, "assets"), { recursive: true });
  await build({
    entryPoints: portalPages.map((page) => join(web, `${page}.ts`)),
    outdir: join(outDir, "assets"),
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    legalComments: "none",
    logLevel: "warning",
  });
  await copyFile(join(web, "portal.css"), join(outDir, "assets", "portal.css"));
  for (const page of portalPages) {
    await copyFile(join(web, `${page}.html`), join(outDir, `${page}.html`));
  }
}

const isMain =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const outDir = process.argv[2] ?? join(root, "dist/ui");
  await buildUi(outDir);
  console.log(`keycard portal built into ${outDir}`);
}
