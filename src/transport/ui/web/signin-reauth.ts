import { auth, messageOf } from "./api.js";
import { CodeField } from "./code-field.js";
import { element, field, onSubmit, show, showError } from "./dom.js";
import { onPasskey, passkeyAssertion, passkeysAvailable } from "./signin-passkey.js";

/** What the step-up form needs from the page. */
export interface ReauthenticationPage {
  /** Whether the account has TOTP, so the form asks for a code beside the password. */
  readonly totpEnabled: boolean;
  /** Goes on to where the proxy wanted to send the browser. */
  readonly leave: () => void;
}

/**
 * Shows "Confirm it's you": the browser has a session, but the protected site asked for a
 * fresher or stronger one (`aal`, `max_age`). Reauthenticate proves the person again on the
 * same session and renews its cookie.
 */
export function wireReauthentication(page: ReauthenticationPage): void {
  const form = element<HTMLFormElement>("reauth-form");
  const alert = element("reauth-error");
  const code = new CodeField("reauth");
  show(element("reauth-code-group"), page.totpEnabled);
  code.input.required = page.totpEnabled;
  element("title").textContent = "Confirm it's you";
  onSubmit(form, async (data) => {
    showError(alert, "");
    try {
      await auth.reauthenticate({
        password: field(data, "password"),
        ...(page.totpEnabled ? code.credential() : {}),
      });
      page.leave();
    } catch (error) {
      showError(alert, messageOf(error), element("reauth-password"));
    }
  });
  if (passkeysAvailable()) {
    show(element("passkey-reauth-group"), true);
    onPasskey("passkey-reauth", alert, async () => {
      await auth.reauthenticate({ passkey: await passkeyAssertion() });
      page.leave();
    });
  }
  show(form, true);
  element("reauth-password").focus();
}
