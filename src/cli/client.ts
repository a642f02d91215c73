import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AdminService } from "../../gen/keycard/v1/admin_service_pb.js";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import { UsageError } from "./errors.js";

/** Where the CLI talks to keycard when neither --url nor KEYCARD_URL says otherwise. */
export const defaultUrl = "http://localhost:8080";

/** How long one call may take before the CLI gives up (exit code 3). */
const timeoutMs = 30_000;

/** Checks a server URL early, so that a typo is a usage error rather than a network one. */
export function checkedUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url "${url}" is not a URL like http://localhost:8080`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new UsageError(`--url "${url}" must start with http:// or https://`);
  }
  return url.replace(/\/+$/, "");
}

function headers(bearer: string | undefined): Interceptor {
  return (next) => (req) => {
    req.header.set("user-agent", "keycard-cli");
    if (bearer !== undefined) {
      req.header.set("authorization", `Bearer ${bearer}`);
    }
    return next(req);
  };
}

function transport(url: string, bearer: string | undefined) {
  return createConnectTransport({
    baseUrl: url,
    httpVersion: "1.1",
    defaultTimeoutMs: timeoutMs,
    interceptors: [headers(bearer)],
  });
}

/** An AdminService client that presents the administrator token. */
export function adminClient(url: string, adminToken: string): Client<typeof AdminService> {
  return createClient(AdminService, transport(url, adminToken));
}

/** An AuthService client, presenting a session token when given one. */
export function authClient(url: string, sessionToken?: string): Client<typeof AuthService> {
  return createClient(AuthService, transport(url, sessionToken));
}
