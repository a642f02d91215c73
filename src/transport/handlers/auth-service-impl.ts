import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  type AuthService,
  type ListSessionsRequest,
  type LoginRequest,
  RevokeScope,
  type ValidateResponseSchema,
} from "../../../gen/keycard/v1/auth_service_pb.js";
import { CredentialKind, InactiveReason } from "../../../gen/keycard/v1/session_pb.js";
import { aalOf, type StepUp, sessionAssurance } from "../../domain/assurance.js";
import { describeDuration } from "../../domain/duration.js";
import {
  type ClientInfo,
  type InactiveReason as DomainInactiveReason,
  secondsUntil,
} from "../../domain/session.js";
import type { JwtRequest } from "../../service/jwt-issuer.js";
import type { ReauthenticateInput } from "../../service/reauthenticator.js";
import type { Introspection } from "../../service/session-judge.js";
import type { IssuedSession } from "../../service/session-opener.js";
import { newDeviceCookie } from "../device-cookie.js";
import {
  browserKey,
  clientInfoKey,
  presentedTokenKey,
  sessionCaller,
  userCaller,
} from "./context.js";
import { assuranceToProto, sessionToProto, userToProto } from "./mappers.js";
import { OwnAccountHandlers } from "./own-account-handlers.js";
import { pageRequestOf, pageTokenOf } from "./page-token.js";

const inactiveReasons = {
  unknown: InactiveReason.UNKNOWN,
  expired: InactiveReason.EXPIRED,
  revoked: InactiveReason.REVOKED,
  idle_timeout: InactiveReason.IDLE_TIMEOUT,
  malformed: InactiveReason.MALFORMED,
  totp_required: InactiveReason.TOTP_REQUIRED,
  totp_invalid: InactiveReason.TOTP_INVALID,
  step_up_required: InactiveReason.STEP_UP_REQUIRED,
} as const;

/** The domain reason of an API InactiveReason (UNSPECIFIED reads as unknown). */
export function domainReasonOf(reason: InactiveReason): DomainInactiveReason {
  const found = Object.entries(inactiveReasons).find(([, value]) => value === reason);
  return (found?.[0] as DomainInactiveReason | undefined) ?? "unknown";
}

/** The fields of a Validate request. */
export interface ValidateInput {
  readonly token: string;
  readonly totpCode: string;
  readonly maxAuthAgeSeconds: number;
  readonly minAal: number;
}

/** What a Validate request without step-up fields asks: nothing. */
const noStepUp: StepUp = {};

/** The step-up a Validate request asks for (its rules keep min_aal within 0 to 2). */
function stepUpOf(req: ValidateInput): StepUp {
  if (req.maxAuthAgeSeconds <= 0 && req.minAal <= 0) {
    return noStepUp;
  }
  return {
    ...(req.maxAuthAgeSeconds > 0 ? { maxAgeMs: req.maxAuthAgeSeconds * 1000 } : {}),
    ...(req.minAal > 0 ? { minAal: aalOf(req.minAal) } : {}),
  };
}

const credentialKinds = {
  session: CredentialKind.SESSION,
  api_key: CredentialKind.API_KEY,
} as const;

/** AuthService over Connect: decode, call one use case, map the result. */
export class AuthServiceImpl extends OwnAccountHandlers implements ServiceImpl<typeof AuthService> {
  /**
   * Logs in; a browser (isBrowserRequest) without a device id gets its new one as the
   * `device-id` cookie.
   */
  async login(req: LoginRequest, ctx: HandlerContext) {
    const client = ctx.values.get(clientInfoKey);
    const browser = ctx.values.get(browserKey);
    const issued = await this.uses.sessions.login(req, client, { browser });
    const cookie = newDeviceCookie(issued.session, client, this.uses.cookies);
    if (cookie !== undefined && browser) {
      ctx.responseHeader.append("set-cookie", cookie);
    }
    const lifetime = describeDuration(issued.session.expiresAt - issued.session.createdAt);
    return {
      ...issuedToProto(issued),
      user: issued.user.displayName,
      message: `Authenticated successfully. Use this token for ${lifetime}.`,
      ...remainingToProto(issued),
    };
  }

  async refresh(req: { durationSeconds: number; keepToken: boolean }, ctx: HandlerContext) {
    const kept = req.keepToken ? ctx.values.get(presentedTokenKey) : undefined;
    const issued = await this.uses.sessions.refresh(sessionCaller(ctx), req.durationSeconds, kept);
    return { ...issuedToProto(issued), message: "Session refreshed. Use the new token." };
  }

  async reauthenticate(req: ReauthenticateInput, ctx: HandlerContext) {
    const issued = await this.uses.reauthenticator.reauthenticate(
      sessionCaller(ctx),
      req,
      ctx.values.get(clientInfoKey),
    );
    return {
      ...issuedToProto(issued),
      ...assuranceToProto(sessionAssurance(issued.session)),
      ...remainingToProto(issued),
    };
  }

  async issueToken(req: { durationSeconds: number }, ctx: HandlerContext) {
    const issued = await this.uses.sessions.issueToken(
      sessionCaller(ctx),
      ctx.values.get(clientInfoKey),
      req.durationSeconds,
    );
    return issuedToProto(issued);
  }

  async issueJwt(req: JwtRequest, ctx: HandlerContext) {
    const { token, issuedAt, expiresAt } = await this.uses.jwts.issue(
      sessionCaller(ctx).session,
      req,
    );
    return { token, expiresIn: expiresAt - issuedAt, expiresAt: timestampFromMs(expiresAt * 1000) };
  }

  async logout(_req: unknown, ctx: HandlerContext) {
    await this.uses.sessions.logout(sessionCaller(ctx));
    return { message: "Logged out successfully" };
  }

  async listSessions(req: ListSessionsRequest, ctx: HandlerContext) {
    const caller = userCaller(ctx);
    const scope = { method: "ListSessions", owner: caller.userId };
    const page = await this.uses.sessions.list(caller.userId, pageRequestOf(req, scope));
    return {
      sessions: page.items.map((session) => sessionToProto(session, caller.session?.id)),
      nextPageToken: pageTokenOf(page.next, scope),
    };
  }

  async revokeSession(req: { sessionId: string; scope: RevokeScope }, ctx: HandlerContext) {
    const { userId, session } = userCaller(ctx);
    const by = ctx.values.get(clientInfoKey);
    const revokedCount =
      req.scope === RevokeScope.UNSPECIFIED
        ? await this.uses.sessions.revoke(userId, req.sessionId, by)
        : await this.uses.sessions.revokeAll(userId, {
            by,
            ...(req.scope === RevokeScope.OTHERS && session !== undefined
              ? { keep: session.id }
              : {}),
          });
    return { revokedCount, message: `Revoked ${revokedCount} session(s)` };
  }

  async renameSession(req: { sessionId: string; label: string }, ctx: HandlerContext) {
    const caller = userCaller(ctx);
    const by = ctx.values.get(clientInfoKey);
    const session = await this.uses.sessions.rename(caller.userId, req.sessionId, req.label, by);
    return { session: sessionToProto(session, caller.session?.id) };
  }

  validate(req: ValidateInput, ctx: HandlerContext) {
    const client = ctx.values.get(clientInfoKey);
    return this.validateWith(
      req,
      ctx.values.get(presentedTokenKey),
      ctx.requestHeader,
      () => client,
    );
  }

  /**
   * Validate without a Connect context, for the lean path of the hottest method: the token
   * of the request, else the one its headers present (`presented`), else `X-API-Key`.
   */
  async validateWith(
    req: ValidateInput,
    presented: string,
    headers: { get(name: string): string | null },
    client: () => ClientInfo,
  ): Promise<MessageInitShape<typeof ValidateResponseSchema>> {
    const headerToken = presented || (headers.get("x-api-key")?.trim() ?? "");
    const token = req.token === "" ? headerToken : req.token;
    const totpCode = req.totpCode || (headers.get("x-totp-code")?.trim() ?? "");
    const stepUp = stepUpOf(req);
    return this.introspectionToProto(
      await this.uses.sessions.introspect(token, totpCode, client, stepUp),
    );
  }

  async getMe(_req: unknown, ctx: HandlerContext) {
    const { userId, session } = userCaller(ctx);
    const user = await this.uses.sessions.me(userId);
    return {
      user: userToProto(user),
      ...(session === undefined ? {} : { session: sessionToProto(session, session.id) }),
    };
  }

  private introspectionToProto(
    answer: Introspection,
  ): MessageInitShape<typeof ValidateResponseSchema> {
    if (!answer.active) {
      return { active: false, reason: inactiveReasons[answer.reason] };
    }
    const { identity } = answer;
    return {
      active: true,
      kind: credentialKinds[identity.kind],
      subject: identity.userId,
      sessionId: identity.sessionId,
      ...(identity.expiresAt === 0
        ? {}
        : {
            expiresAt: timestampFromMs(identity.expiresAt),
            expiresIn: secondsUntil(identity.expiresAt, this.uses.clock.now()),
          }),
      issuedAt: timestampFromMs(identity.issuedAt),
      roles: [...identity.roles],
      email: identity.email,
      displayName: identity.displayName,
      ...assuranceToProto(identity.assurance),
    };
  }
}

/** The recovery codes left after a login or step-up that used one; nothing otherwise. */
function remainingToProto({ recoveryCodesRemaining }: { recoveryCodesRemaining?: number }) {
  return recoveryCodesRemaining === undefined ? {} : { recoveryCodesRemaining };
}

function issuedToProto({ token, session }: IssuedSession) {
  return {
    sessionToken: token,
    sessionId: session.id,
    expiresAt: timestampFromMs(session.expiresAt),
    expiresIn: secondsUntil(session.expiresAt, session.lastUsedAt),
  };
}
