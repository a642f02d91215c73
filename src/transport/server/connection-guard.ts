import type { BlockList, Socket } from "node:net";
import { isTrustedProxy, plainAddress } from "../client-info.js";
import type { ConnectionLimits } from "./limits.js";

/** Why the front door turned a connection away or cut it. */
export type DoorEvent =
  | "refused_max_connections"
  | "refused_per_ip"
  | "refused_penalized"
  | "sniff_timeout"
  | "http2_idle"
  | "http2_stream_timeout"
  | "http2_stream_flood"
  | "http2_reset_flood";

/** Told of every refusal and cut, with the client address (metrics and a bounded log). */
export type DoorReporter = (event: DoorEvent, ip: string) => void;

/**
 * Admits connections: at most `maxConnections` in all and `maxConnectionsPerIp` per client
 * address (a trusted proxy carries many clients, so it is not capped per address), and none
 * from an address cut off for abuse within the last `abusePenaltyMs`. A refused socket is
 * destroyed at once, before any byte of it is read.
 */
export class ConnectionGuard {
  private readonly perIp = new Map<string, number>();
  private readonly penalties = new Map<string, number>();
  private open = 0;

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly trusted: BlockList,
    private readonly report: DoorReporter,
  ) {}

  /** Open connections right now, for the gauge. */
  get openConnections(): number {
    return this.open;
  }

  /** Admits `socket` and counts it until it closes, or destroys it; true when admitted. */
  admit(socket: Socket): boolean {
    const ip = plainAddress(socket.remoteAddress ?? "");
    const refusal = this.refusalOf(ip);
    if (refusal !== undefined) {
      socket.destroy();
      this.report(refusal, ip);
      return false;
    }
    this.open += 1;
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    socket.once("close", () => this.release(ip));
    return true;
  }

  /** Refuses new connections from `ip` for the abuse penalty (never a trusted proxy). */
  penalize(ip: string): void {
    if (!isTrustedProxy(this.trusted, ip)) {
      this.dropExpiredPenalties();
      this.penalties.set(ip, performance.now() + this.limits.abusePenaltyMs);
    }
  }

  private refusalOf(ip: string): DoorEvent | undefined {
    if (this.open >= this.limits.maxConnections) {
      return "refused_max_connections";
    }
    if (isTrustedProxy(this.trusted, ip)) {
      return undefined;
    }
    if ((this.penalties.get(ip) ?? 0) > performance.now()) {
      return "refused_penalized";
    }
    return (this.perIp.get(ip) ?? 0) >= this.limits.maxConnectionsPerIp
      ? "refused_per_ip"
      : undefined;
  }

  private release(ip: string): void {
    this.open -= 1;
    const left = (this.perIp.get(ip) ?? 1) - 1;
    if (left === 0) {
      this.perIp.delete(ip);
    } else {
      this.perIp.set(ip, left);
    }
  }

  private dropExpiredPenalties(): void {
    const now = performance.now();
    for (const [ip, until] of this.penalties) {
      if (until <= now) {
        this.penalties.delete(ip);
      }
    }
  }
}
