import type { HandlerContext } from "@connectrpc/connect";
import type { PasskeyRegistration } from "../../service/passkeys.js";
import type { PasswordChange } from "../../service/password-changer.js";
import type { AuthUseCases } from "./auth-use-cases.js";
import { clientInfoKey, sessionCaller, userCaller } from "./context.js";
import { passkeyToProto, userToProto } from "./mappers.js";

/**
 * The AuthService handlers of people managing their own account: password (change, reset),
 * TOTP, recovery codes and passkeys. AuthServiceImpl extends it with sessions, validation
 * and tokens, so one service stays one object while neither file grows past a screenful of
 * concepts.
 */
export class OwnAccountHandlers {
  constructor(protected readonly uses: AuthUseCases) {}

  async changePassword(req: PasswordChange, ctx: HandlerContext) {
    const revokedSessions = await this.uses.passwords.change(
      sessionCaller(ctx),
      req,
      ctx.values.get(clientInfoKey),
    );
    return {
      revokedSessions,
      message: `Password changed; ${revokedSessions} other session(s) ended`,
    };
  }

  async resetPassword(req: { token: string; newPassword: string }, ctx: HandlerContext) {
    const revokedSessions = await this.uses.resets.redeem(
      req.token,
      req.newPassword,
      ctx.values.get(clientInfoKey),
    );
    return { revokedSessions, message: `Password reset; ${revokedSessions} session(s) ended` };
  }

  async enrollOwnTotp(_req: unknown, ctx: HandlerContext) {
    const enrollment = await this.uses.ownTotp.enroll(
      sessionCaller(ctx),
      ctx.values.get(clientInfoKey),
    );
    return {
      secret: enrollment.secret,
      otpauthUri: enrollment.uri,
      qrCodeSvg: enrollment.qrCodeSvg,
      qrCodeText: enrollment.qrCodeText,
    };
  }

  async confirmOwnTotp(req: { code: string }, ctx: HandlerContext) {
    const client = ctx.values.get(clientInfoKey);
    const { user, revokedSessions } = await this.uses.ownTotp.confirm(
      sessionCaller(ctx),
      req.code,
      client,
    );
    return { user: userToProto(user), revokedSessions };
  }

  async removeOwnTotp(_req: unknown, ctx: HandlerContext) {
    const client = ctx.values.get(clientInfoKey);
    const { user, revokedSessions } = await this.uses.ownTotp.remove(sessionCaller(ctx), client);
    return { user: userToProto(user), revokedSessions };
  }

  async regenerateRecoveryCodes(_req: unknown, ctx: HandlerContext) {
    const codes = await this.uses.recoveryCodes.regenerate(
      sessionCaller(ctx),
      ctx.values.get(clientInfoKey),
    );
    return { codes };
  }

  startPasskeyRegistration(_req: unknown, ctx: HandlerContext) {
    return this.uses.passkeys.startRegistration(sessionCaller(ctx));
  }

  async finishPasskeyRegistration(req: PasskeyRegistration, ctx: HandlerContext) {
    const passkey = await this.uses.passkeys.finishRegistration(
      sessionCaller(ctx),
      req,
      ctx.values.get(clientInfoKey),
    );
    return { passkey: passkeyToProto(passkey) };
  }

  async listOwnPasskeys(_req: unknown, ctx: HandlerContext) {
    const passkeys = await this.uses.passkeys.listOwn(userCaller(ctx).userId);
    return { passkeys: passkeys.map(passkeyToProto) };
  }

  async removeOwnPasskey(req: { passkeyId: string }, ctx: HandlerContext) {
    const revokedSessions = await this.uses.passkeys.removeOwn(
      sessionCaller(ctx),
      req.passkeyId,
      ctx.values.get(clientInfoKey),
    );
    return { revokedSessions };
  }

  startPasskeyLogin() {
    return this.uses.passkeys.startLogin();
  }
}
