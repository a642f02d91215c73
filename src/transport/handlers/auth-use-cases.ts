import type { Clock } from "../../domain/clock.js";
import type { JwtIssuer } from "../../service/jwt-issuer.js";
import type { OwnTotp } from "../../service/own-totp.js";
import type { Passkeys } from "../../service/passkeys.js";
import type { PasswordChanger } from "../../service/password-changer.js";
import type { PasswordResets } from "../../service/password-resets.js";
import type { Reauthenticator } from "../../service/reauthenticator.js";
import type { RecoveryCodes } from "../../service/recovery-codes.js";
import type { SessionService } from "../../service/session-service.js";
import type { CookiePolicy } from "../cookie-policy.js";

/** The use cases AuthService calls, and what its handlers read of the settings. */
export interface AuthUseCases {
  readonly sessions: SessionService;
  readonly clock: Clock;
  readonly reauthenticator: Reauthenticator;
  readonly jwts: JwtIssuer;
  readonly passwords: PasswordChanger;
  readonly resets: PasswordResets;
  readonly ownTotp: OwnTotp;
  readonly recoveryCodes: RecoveryCodes;
  readonly passkeys: Passkeys;
  /** COOKIE_SECURE and COOKIE_DOMAIN: how the `device-id` cookie a login sets is scoped. */
  readonly cookies: CookiePolicy;
}
