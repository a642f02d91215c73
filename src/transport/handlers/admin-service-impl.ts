import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type {
  AdminService,
  ConfirmTotpRequest,
  CreateApiKeyRequest,
  CreateUserRequest,
  ListApiKeysRequest,
  ListUserSessionsRequest,
  ListUsersRequest,
  RevokeUserSessionsRequest,
  SetPasswordRequest,
  SetRolesRequest,
} from "../../../gen/keycard/v1/admin_service_pb.js";
import type { ClientInfo } from "../../domain/session.js";
import type { ApiKeyService } from "../../service/api-key-service.js";
import type { Passkeys } from "../../service/passkeys.js";
import { checkNewPassword } from "../../service/password-changer.js";
import type { PasswordResets } from "../../service/password-resets.js";
import type { RecoveryCodes } from "../../service/recovery-codes.js";
import type { SessionService } from "../../service/session-service.js";
import type { JwtKeys } from "../../service/signing-keyring.js";
import type { TotpService } from "../../service/totp-service.js";
import type { UserService } from "../../service/user-service.js";
import { clientInfoKey } from "./context.js";
import { apiKeyToProto, passkeyToProto, sessionToProto, userToProto } from "./mappers.js";
import { pageRequestOf, pageTokenOf } from "./page-token.js";

/** The administrator's client, named in the audit log of what they ended. */
function by(ctx: HandlerContext): ClientInfo & { credential: string } {
  return { ...ctx.values.get(clientInfoKey), credential: "admin_token" };
}

/** The use cases AdminService calls. */
export interface AdminUseCases {
  readonly users: UserService;
  readonly apiKeys: ApiKeyService;
  readonly totp: TotpService;
  readonly sessions: SessionService;
  readonly jwtKeys: JwtKeys;
  readonly passwordResets: PasswordResets;
  readonly recoveryCodes: RecoveryCodes;
  readonly passkeys: Passkeys;
}

/** AdminService over Connect; the auth interceptor has already checked the admin token. */
export class AdminServiceImpl implements ServiceImpl<typeof AdminService> {
  constructor(private readonly uses: AdminUseCases) {}

  async createUser(req: CreateUserRequest) {
    checkNewPassword("password", req.password);
    return { user: userToProto(await this.uses.users.create(req)) };
  }

  async disableUser(req: { userId: string }) {
    const { user, revokedSessions } = await this.uses.users.disable(req.userId);
    return { user: userToProto(user), revokedSessions };
  }

  async listUsers(req: ListUsersRequest) {
    const scope = { method: "ListUsers", owner: "" };
    const page = await this.uses.users.list(pageRequestOf(req, scope));
    return { users: page.items.map(userToProto), nextPageToken: pageTokenOf(page.next, scope) };
  }

  async setPassword(req: SetPasswordRequest) {
    checkNewPassword("password", req.password);
    return { revokedSessions: await this.uses.users.setPassword(req.userId, req.password) };
  }

  async setRoles(req: SetRolesRequest, ctx: HandlerContext) {
    const { user, changed } = await this.uses.users.setRoles(req.userId, req.roles);
    const revokedSessions = changed
      ? await this.uses.sessions.revokeAll(user.id, { reason: "privilege_change", by: by(ctx) })
      : 0;
    return { user: userToProto(user), revokedSessions };
  }

  async createApiKey(req: CreateApiKeyRequest) {
    const { record, key } = await this.uses.apiKeys.create({
      userId: req.userId,
      name: req.name,
      expiresAt: req.expiresAt === undefined ? 0 : timestampMs(req.expiresAt),
      skipTotp: req.skipTotp,
    });
    return { apiKey: apiKeyToProto(record), key };
  }

  async listApiKeys(req: ListApiKeysRequest) {
    const scope = { method: "ListApiKeys", owner: req.userId };
    const page = await this.uses.apiKeys.list(req.userId, pageRequestOf(req, scope));
    return {
      apiKeys: page.items.map(apiKeyToProto),
      nextPageToken: pageTokenOf(page.next, scope),
    };
  }

  async revokeApiKey(req: { apiKeyId: string }) {
    const key = await this.uses.apiKeys.revoke(req.apiKeyId);
    const revokedSessions = await this.uses.users.revokeSessionsOfKey(key.userId, key.id);
    return { apiKey: apiKeyToProto(key), revokedSessions };
  }

  async enrollTotp(req: { userId: string }) {
    const enrollment = await this.uses.totp.enroll(req.userId);
    return {
      secret: enrollment.secret,
      otpauthUri: enrollment.uri,
      qrCodeSvg: enrollment.qrCodeSvg,
    };
  }

  async confirmTotp(req: ConfirmTotpRequest, ctx: HandlerContext) {
    const user = await this.uses.totp.confirm(req.userId, req.code);
    const revokedSessions = await this.uses.sessions.revokeAll(user.id, {
      reason: "totp_enrolled",
      by: by(ctx),
    });
    return { user: userToProto(user), revokedSessions };
  }

  async resetTotp(req: { userId: string }, ctx: HandlerContext) {
    const user = await this.uses.totp.reset(req.userId);
    const revokedSessions = await this.uses.sessions.revokeAll(user.id, {
      reason: "totp_reset",
      by: by(ctx),
    });
    return { user: userToProto(user), revokedSessions };
  }

  async endAllSessions(_req: unknown, ctx: HandlerContext) {
    return { notBefore: timestampFromMs(await this.uses.sessions.endAll(by(ctx))) };
  }

  async listUserSessions(req: ListUserSessionsRequest) {
    const scope = { method: "ListUserSessions", owner: req.userId };
    const request = pageRequestOf(req, scope);
    await this.uses.users.existing(req.userId);
    const page = await this.uses.sessions.list(req.userId, request);
    return {
      sessions: page.items.map((session) => sessionToProto(session)),
      nextPageToken: pageTokenOf(page.next, scope),
    };
  }

  async revokeUserSessions(req: RevokeUserSessionsRequest, ctx: HandlerContext) {
    await this.uses.users.existing(req.userId);
    const revokedCount =
      req.sessionId === ""
        ? await this.uses.sessions.revokeAll(req.userId, { by: by(ctx) })
        : await this.uses.sessions.revoke(req.userId, req.sessionId, by(ctx));
    return { revokedCount };
  }

  async createPasswordReset(req: { userId: string }) {
    const { token, expiresAt } = await this.uses.passwordResets.create(req.userId);
    return { token, expiresAt: timestampFromMs(expiresAt) };
  }

  async getRecoveryCodes(req: { userId: string }) {
    return { remaining: await this.uses.recoveryCodes.remaining(req.userId) };
  }

  async resetRecoveryCodes(req: { userId: string }, ctx: HandlerContext) {
    return { deleted: await this.uses.recoveryCodes.reset(req.userId, by(ctx)) };
  }

  async listPasskeys(req: { userId: string }) {
    const passkeys = await this.uses.passkeys.listOf(req.userId);
    return { passkeys: passkeys.map(passkeyToProto) };
  }

  async deletePasskey(req: { userId: string; passkeyId: string }, ctx: HandlerContext) {
    return {
      revokedSessions: await this.uses.passkeys.delete(req.userId, req.passkeyId, by(ctx)),
    };
  }

  async rotateJwtKey(req: { immediate: boolean }) {
    const key = await this.uses.jwtKeys.rotate(req.immediate);
    return { keyId: key.kid, activeFrom: timestampFromMs(key.activeFrom), algorithm: key.alg };
  }
}
