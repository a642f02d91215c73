import { readdir, readFile } from "node:fs/promises";
import { extname, join } from "node:path";

/** One file of the built portal, ready to send. */
export interface PortalAsset {
  readonly type: string;
  readonly body: Buffer;
}

/** The built portal by URL path (`/ui/`, `/ui/account`, `/ui/assets/signin.js`, ...). */
export type PortalAssets = ReadonlyMap<string, PortalAsset>;

const types: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/** The URL path of each page of the build (scripts/build-ui.ts writes `<page>.html`). */
const pagePaths: Readonly<Record<string, string>> = {
  "signin.html": "/ui/",
  "account.html": "/ui/account",
};

async function filesOf(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/**
 * Reads the portal that `npm run build` made into `dir` (dist/ui), every file into memory
 * (a few hundred kilobytes): the pages under their paths, the assets under `/ui/assets/`.
 * Only these paths are ever served, so no request can name another file. Empty when the
 * portal was not built.
 */
export async function loadPortalAssets(dir: string): Promise<PortalAssets> {
  const assets = new Map<string, PortalAsset>();
  for (const name of await filesOf(dir)) {
    const path = pagePaths[name];
    if (path !== undefined) {
      assets.set(path, { type: types[".html"] ?? "", body: await readFile(join(dir, name)) });
    }
  }
  for (const name of await filesOf(join(dir, "assets"))) {
    const type = types[extname(name)];
    if (type !== undefined) {
      assets.set(`/ui/assets/${name}`, { type, body: await readFile(join(dir, "assets", name)) });
    }
  }
  return assets;
}

/**
 * The portal with its pages marked `data-passkeys="on"` instead of the `"off"` they are
 * built with, which shows their passkey buttons: keycard has a relying party
 * (WEBAUTHN_RP_ID), so the passkey calls work. Left off, a page never offers a button that
 * can only fail.
 */
export function withPasskeysOn(assets: PortalAssets): PortalAssets {
  return new Map(
    [...assets].map(([path, asset]): [string, PortalAsset] => {
      if (!asset.type.startsWith("text/html")) {
        return [path, asset];
      }
      const html = asset.body.toString("utf8").replace('data-passkeys="off"', 'data-passkeys="on"');
      return [path, { ...asset, body: Buffer.from(html) }];
    }),
  );
}
