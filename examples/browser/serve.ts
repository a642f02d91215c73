import { readFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

/*
 * Serves the browser example on an origin of its own: index.html with keycard's URL filled
 * in, its stylesheet, and main.ts bundled by esbuild once at start.
 *
 *   KEYCARD_URL=http://localhost:8080 npm run example:browser
 *   ALLOWED_ORIGINS=http://localhost:5173 COOKIE_SECURE=false npm run dev   # keycard
 *
 * Keep the page and keycard on the same host name (ports may differ): the cookie panel's
 * SameSite=Lax cookie is only sent to keycard from the same site.
 */

const here = fileURLToPath(new URL(".", import.meta.url));

/** Where and against which keycard the example page runs. */
export interface ExampleOptions {
  /** keycard's base URL, read on every page load so a test may start keycard afterwards. */
  readonly keycardUrl: () => string;
  readonly port?: number;
  readonly host?: string;
}

/** The running example page server. */
export interface ExampleServer {
  /** The page's origin, e.g. `http://127.0.0.1:5173`: the entry keycard's ALLOWED_ORIGINS needs. */
  readonly origin: string;
  close(): Promise<void>;
}

function escapeAttribute(text: string): string {
  return text.replace(/[&"<>]/g, (character) => `&#${character.charCodeAt(0)};`);
}

function originOf(url: string): string {
  return URL.canParse(url) ? new URL(url).origin : "";
}

/** Bundles the page script and starts serving the example. */
export async function startExampleServer(options: ExampleOptions): Promise<ExampleServer> {
  const bundle = await build({
    entryPoints: [`${here}main.ts`],
    bundle: true,
    format: "esm",
    target: "es2022",
    write: false,
    logLevel: "silent",
  });
  const script = bundle.outputFiles[0]?.contents ?? new Uint8Array();
  const html = await readFile(`${here}index.html`, "utf8");
  const css = await readFile(`${here}style.css`);
  const server = http.createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    const keycardUrl = options.keycardUrl();
    const assets: Record<string, readonly [string, string | Uint8Array]> = {
      "/": ["text/html", html.replace("%KEYCARD_URL%", escapeAttribute(keycardUrl))],
      "/main.js": ["text/javascript", script],
      "/style.css": ["text/css", css],
    };
    const asset = path === undefined ? undefined : assets[path];
    if (request.method !== "GET" || asset === undefined) {
      response.writeHead(404, { "content-type": "text/plain" }).end("Not found");
      return;
    }
    response.writeHead(200, {
      "content-type": `${asset[0]}; charset=utf-8`,
      "cache-control": "no-store",
      "content-security-policy": `default-src 'self'; connect-src ${originOf(keycardUrl)}; base-uri 'none'; form-action 'none'`,
    });
    response.end(asset[1]);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${options.host ?? "localhost"}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const isMain =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const keycardUrl = process.env.KEYCARD_URL ?? "http://localhost:8080";
  const example = await startExampleServer({
    keycardUrl: () => keycardUrl,
    port: Number(process.env.PORT ?? 5173),
    host: process.env.HOST ?? new URL(keycardUrl).hostname,
  });
  console.log(`Example page: ${example.origin} (talking to keycard at ${keycardUrl})`);
  console.log(`Start keycard with ALLOWED_ORIGINS=${example.origin} COOKIE_SECURE=false`);
}
