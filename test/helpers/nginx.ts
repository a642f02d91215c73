import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http, { type IncomingHttpHeaders } from "node:http";
import net, { type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./redis-server.js";
import { requireOnPath } from "./tools.js";

/** The identity headers keycard's forward auth answers and nginx passes on to the app. */
export const identityHeaders = [
  "X-Auth-User",
  "X-Auth-Email",
  "X-Auth-Roles",
  "X-Auth-Session",
  "X-Auth-AAL",
  "X-Auth-Time",
] as const;

/** The host name of the protected app in {@link startNginx}'s configuration by default. */
export const defaultAppHost = "app.example.test";

/** The host name nginx proxies to keycard (the portal) by default. */
export const defaultPortalHost = "auth.example.test";

/**
 * A tiny application behind the proxy: every request is answered 200 with a JSON object of
 * the `X-Auth-*` headers it arrived with, and recorded, so a test sees what the app saw and
 * whether a refused request reached it at all.
 */
export interface IdentityApp {
  /** Its base URL, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The headers of every request it received, oldest first. */
  readonly requests: readonly IncomingHttpHeaders[];
  stop(): Promise<void>;
}

/** Starts an {@link IdentityApp} on an ephemeral port. */
export async function startIdentityApp(): Promise<IdentityApp> {
  const requests: IncomingHttpHeaders[] = [];
  const server = http.createServer((request, response) => {
    requests.push(request.headers);
    const identity = Object.fromEntries(
      Object.entries(request.headers).filter(([name]) => name.startsWith("x-auth-")),
    );
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify(identity));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** How to put nginx in front of an app and keycard. */
export interface NginxOptions {
  /** keycard's base URL, `http://127.0.0.1:<port>`. */
  readonly keycardUrl: string;
  /** The protected app's base URL (an {@link IdentityApp}'s `url`, or any HTTP server). */
  readonly appUrl: string;
  /** The app's host name; {@link defaultAppHost} when absent. */
  readonly appHost?: string;
  /** The host name proxied to keycard as a whole (the portal); {@link defaultPortalHost} when absent. */
  readonly portalHost?: string;
  /**
   * The `rd` of `/auth/verify`: the portal refused browsers are sent to. Absent:
   * `http://<portalHost>:<port>/ui/`; false: none, so nginx answers every refusal 401.
   */
  readonly portalUrl?: string | false;
  /**
   * Locations of the app that ask for a step-up, by path prefix, with the query they add to
   * `/auth/verify`: `{ "/admin/": "aal=2", "/billing/": "max_age=300" }`.
   */
  readonly stepUp?: Readonly<Record<string, string>>;
}

/** nginx running with {@link nginxConfig}'s configuration. */
export interface RunningNginx {
  /** The one port nginx listens on (127.0.0.1) for both host names. */
  readonly port: number;
  /** `http://127.0.0.1:<port>`: send requests here with a `Host` header ({@link requestVia}). */
  readonly baseUrl: string;
  /** `http://<appHost>:<port>`, the app's origin as a browser mapping the host names sees it. */
  readonly appOrigin: string;
  /** `http://<portalHost>:<port>`, keycard's origin as a browser sees it. */
  readonly portalOrigin: string;
  /** The `rd` given to `/auth/verify`, or undefined when none is. */
  readonly portalUrl: string | undefined;
  readonly appHost: string;
  readonly portalHost: string;
  /** Stops nginx and removes its files. */
  stop(): Promise<void>;
}

/**
 * Copies each identity header of forward auth's answer into the request to the app,
 * replacing any the client sent (an empty value sends none).
 */
function identityDirectives(): string {
  return identityHeaders
    .map((header) => {
      const name = header.toLowerCase().replaceAll("-", "_");
      return `      auth_request_set $${name} $upstream_http_${name};
      proxy_set_header ${header} $${name};`;
    })
    .join("\n");
}

/** A location of the app protected by forward auth through the internal location `auth`. */
function protectedLocation(path: string, auth: string, appUrl: string): string {
  return `    location ${path} {
      auth_request ${auth};
      auth_request_set $keycard_redirect $upstream_http_location;
      error_page 401 = @keycard_signin;
${identityDirectives()}
      proxy_pass ${appUrl};
    }`;
}

/** The internal location that asks keycard's `/auth/verify`, with the query given. */
function verifyLocation(auth: string, keycardUrl: string, query: string): string {
  return `    location = ${auth} {
      internal;
      proxy_pass ${keycardUrl}/auth/verify${query === "" ? "" : `?${query}`};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
      proxy_set_header X-Forwarded-Method $request_method;
    }`;
}

/**
 * The nginx configuration of {@link startNginx} in `dir`, on `port`: the app's host name
 * behind `auth_request` (the README's configuration: identity headers passed to the app,
 * and `error_page 401` turning keycard's 401 + Location into a 302 to the portal), and the
 * portal's host name proxied to keycard.
 */
export function nginxConfig(dir: string, port: number, options: NginxOptions): string {
  const appHost = options.appHost ?? defaultAppHost;
  const portalHost = options.portalHost ?? defaultPortalHost;
  const portal = portalUrlOf(port, options);
  const rd = portal === undefined ? "" : `rd=${portal}`;
  const locations = [
    ["/", rd],
    ...Object.entries(options.stepUp ?? {}).map(([path, query]) => [
      path,
      [rd, query].filter((part) => part !== "").join("&"),
    ]),
  ];
  const blocks = locations.flatMap(([path = "/", query = ""], index) => [
    protectedLocation(path, `/_keycard_verify_${index}`, options.appUrl),
    verifyLocation(`/_keycard_verify_${index}`, options.keycardUrl, query),
  ]);
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    server_name ${appHost};
${blocks.join("\n")}
    location @keycard_signin {
      if ($keycard_redirect) {
        return 302 $keycard_redirect;
      }
      return 401;
    }
  }
  server {
    listen 127.0.0.1:${port};
    server_name ${portalHost};
    location / {
      proxy_pass ${options.keycardUrl};
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`;
}

/** The portal URL the configuration on `port` gives `/auth/verify`, or undefined for none. */
function portalUrlOf(port: number, options: NginxOptions): string | undefined {
  if (options.portalUrl === false) {
    return undefined;
  }
  return options.portalUrl ?? `http://${options.portalHost ?? defaultPortalHost}:${port}/ui/`;
}

/** Resolves when something accepts connections on 127.0.0.1:`port`; rejects after the deadline. */
async function waitForPort(port: number, nginx: ChildProcess, errorLog: string): Promise<void> {
  const until = Date.now() + 10_000;
  for (;;) {
    if (nginx.exitCode !== null) {
      throw new Error(`nginx exited with ${nginx.exitCode}: ${readFileSync(errorLog, "utf8")}`);
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) {
      return;
    }
    if (Date.now() > until) {
      throw new Error(`nginx did not listen on port ${port} within 10 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Starts Debian's nginx (required: `apt-get install nginx`, or `npm test`, which installs it)
 * on a free port with {@link nginxConfig}'s configuration, and waits until it listens. Both
 * host names are served on the one port: curl-style tests send a `Host` header
 * ({@link requestVia}); a browser maps the names to 127.0.0.1 (Chromium's
 * `--host-resolver-rules="MAP *.example.test 127.0.0.1"`) and uses `appOrigin`.
 */
export async function startNginx(options: NginxOptions): Promise<RunningNginx> {
  const binary = requireOnPath("nginx", "nginx");
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "keycard-nginx-"));
  const conf = join(dir, "nginx.conf");
  const errorLog = join(dir, "error.log");
  writeFileSync(conf, nginxConfig(dir, port, options));
  writeFileSync(errorLog, "");
  const nginx = spawn(binary, ["-p", dir, "-c", conf, "-e", errorLog], { stdio: "ignore" });
  const stop = async (): Promise<void> => {
    if (nginx.exitCode === null && nginx.signalCode === null) {
      const exited = new Promise((resolve) => nginx.once("exit", resolve));
      nginx.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, nginx, errorLog);
  } catch (error) {
    await stop();
    throw error;
  }
  const appHost = options.appHost ?? defaultAppHost;
  const portalHost = options.portalHost ?? defaultPortalHost;
  return {
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    appOrigin: `http://${appHost}:${port}`,
    portalOrigin: `http://${portalHost}:${port}`,
    portalUrl: portalUrlOf(port, options),
    appHost,
    portalHost,
    stop,
  };
}

/** An answer through nginx, its redirect not followed. */
export interface ProxyReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

/**
 * Sends a request to nginx at `baseUrl` for host name `host`, with `Host: <host>:<port>` as
 * a browser would send it (fetch cannot set `Host`), and returns the answer as it is: a 302
 * is not followed.
 */
export function requestVia(
  baseUrl: string,
  host: string,
  path: string,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<ProxyReply> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const request = http.request(
      { hostname, port, path, method, headers: { ...headers, host: `${host}:${port}` } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end();
  });
}
