import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  type AuthService,
  RevokeScope,
  type ValidateResponseSchema,
} from "../../gen/keycard/v1/auth_service_pb.js";
import { InactiveReason } from "../../gen/keycard/v1/session_pb.js";
import type { Clock } from "../domain/clock.js";
import { describeDuration } from "../domain/duration.js";
import { secondsUntil, type TokenVerdict } from "../domain/session.js";
import { clientInfoKey, presentedTokenKey, sessionCaller } from "./context.js";
import { sessionToProto, userToProto } from "./mappers.js";
import type { IssuedSession, SessionService } from "./session-service.js";

const inactiveReasons = {
  unknown: InactiveReason.UNKNOWN,
  expired: InactiveReason.EXPIRED,
  revoked: InactiveReason.REVOKED,
  idle_timeout: InactiveReason.IDLE_TIMEOUT,
  malformed: InactiveReason.MALFORMED,
} as const;

/** AuthService over Connect: decode, call one use case, map the result. */
export class AuthServiceImpl implements ServiceImpl<typeof AuthService> {
  constructor(
    private readonly sessions: SessionService,
    private readonly clock: Clock,
  ) {}

  async login(
    req: { email: string; password: string; durationSeconds: number },
    ctx: HandlerContext,
  ) {
    const issued = await this.sessions.login(req, ctx.values.get(clientInfoKey));
    const lifetime = describeDuration(issued.session.expiresAt - issued.session.createdAt);
    return {
      ...this.issuedToProto(issued),
      user: issued.user.displayName,
      message: `Authenticated successfully. Use this token for ${lifetime}.`,
    };
  }

  async refresh(_req: unknown, ctx: HandlerContext) {
    const issued = await this.sessions.refresh(sessionCaller(ctx));
    return { ...this.issuedToProto(issued), message: "Session refreshed. Use the new token." };
  }

  async logout(_req: unknown, ctx: HandlerContext) {
    await this.sessions.logout(sessionCaller(ctx));
    return { message: "Logged out successfully" };
  }

  async listSessions(_req: unknown, ctx: HandlerContext) {
    const caller = sessionCaller(ctx);
    const sessions = await this.sessions.list(caller);
    return { sessions: sessions.map((session) => sessionToProto(session, caller.session.id)) };
  }

  async revokeSession(req: { sessionId: string; scope: RevokeScope }, ctx: HandlerContext) {
    const caller = sessionCaller(ctx);
    const revokedCount =
      req.scope === RevokeScope.UNSPECIFIED
        ? await this.sessions.revoke(caller, req.sessionId)
        : await this.sessions.revokeAll(caller, req.scope === RevokeScope.OTHERS);
    return { revokedCount, message: `Revoked ${revokedCount} session(s)` };
  }

  async validate(req: { token: string }, ctx: HandlerContext) {
    const token = req.token === "" ? ctx.values.get(presentedTokenKey) : req.token;
    return this.verdictToProto(await this.sessions.validate(token));
  }

  async getMe(_req: unknown, ctx: HandlerContext) {
    const caller = sessionCaller(ctx);
    const user = await this.sessions.me(caller);
    return { user: userToProto(user), session: sessionToProto(caller.session, caller.session.id) };
  }

  private issuedToProto({ token, session }: IssuedSession) {
    return {
      sessionToken: token,
      sessionId: session.id,
      expiresAt: timestampFromMs(session.expiresAt),
      expiresIn: secondsUntil(session.expiresAt, session.lastUsedAt),
    };
  }

  private verdictToProto(verdict: TokenVerdict): MessageInitShape<typeof ValidateResponseSchema> {
    if (!verdict.active) {
      return { active: false, reason: inactiveReasons[verdict.reason] };
    }
    const { session } = verdict;
    return {
      active: true,
      subject: session.userId,
      sessionId: session.id,
      expiresAt: timestampFromMs(session.expiresAt),
      expiresIn: secondsUntil(session.expiresAt, this.clock.now()),
      roles: [...session.roles],
      email: session.email,
      displayName: session.displayName,
    };
  }
}
