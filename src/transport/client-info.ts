import { BlockList, isIP } from "node:net";
import { locationOf } from "../domain/device.js";
import type { ClientInfo } from "../domain/session.js";
import { deviceIdOfCookie } from "./device-cookie.js";
import { requestIdHeader } from "./request-id.js";

/** The parts of an HTTP/1.1 or HTTP/2 request that identify the client. */
export interface RequestOrigin {
  readonly headers: Record<string, string | string[] | undefined>;
  readonly socket: { readonly remoteAddress?: string | undefined };
}

/** Parses TRUSTED_PROXIES entries (addresses or CIDR ranges) into a BlockList. */
export function trustedProxyList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = "", prefix] = entry.split("/");
    const family = isIP(address) === 6 ? "ipv6" : "ipv4";
    if (prefix === undefined) {
      list.addAddress(address, family);
    } else {
      list.addSubnet(address, Number(prefix), family);
    }
  }
  return list;
}

/** An address as people write it: IPv4-mapped IPv6 (`::ffff:1.2.3.4`) as plain IPv4. */
export function plainAddress(address: string): string {
  return address.startsWith("::ffff:") ? address.slice("::ffff:".length) : address;
}

/** Whether `address` is one of TRUSTED_PROXIES. */
export function isTrustedProxy(list: BlockList, address: string): boolean {
  const family = isIP(address) === 6 ? "ipv6" : "ipv4";
  return isIP(address) !== 0 && list.check(address, family);
}

/** Where clientInfoOf looks besides the request: TRUSTED_PROXIES and LOCATION_HEADER. */
export interface ClientSources {
  readonly trusted: BlockList;
  /** The lower-cased name of the header a trusted proxy states the client's location in. */
  readonly locationHeader?: string | undefined;
}

/** A header's first value. */
function headerOf(request: RequestOrigin, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The client's IP, user agent, device cookie and location, and the call's request id (the
 * front door has made `x-request-id` a sane one). X-Forwarded-For is believed only
 * when the peer is a trusted proxy, and then only up to the first address that is not itself
 * trusted, so a client cannot forge its address by sending the header itself. The location
 * is read only when LOCATION_HEADER names a header (the proxy that sets it must overwrite a
 * client's own), and only a short printable value.
 */
export function clientInfoOf(request: RequestOrigin, sources: ClientSources): ClientInfo {
  const { trusted, locationHeader } = sources;
  let ip = plainAddress(request.socket.remoteAddress ?? "");
  const forwarded = request.headers["x-forwarded-for"];
  const hops = (Array.isArray(forwarded) ? forwarded.join(",") : (forwarded ?? ""))
    .split(",")
    .map((hop) => plainAddress(hop.trim()))
    .filter((hop) => isIP(hop) !== 0);
  while (isTrustedProxy(trusted, ip) && hops.length > 0) {
    ip = hops.pop() ?? ip;
  }
  const deviceId = deviceIdOfCookie(headerOf(request, "cookie"));
  const location =
    locationHeader === undefined ? undefined : locationOf(headerOf(request, locationHeader));
  const requestId = headerOf(request, requestIdHeader);
  return {
    ip,
    userAgent: headerOf(request, "user-agent")?.slice(0, 512) ?? "",
    ...(deviceId === undefined ? {} : { deviceId }),
    ...(location === undefined ? {} : { location }),
    ...(requestId === undefined ? {} : { requestId }),
  };
}
