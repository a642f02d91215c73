import { browserSupportsWebAuthn, startAuthentication } from "@simplewebauthn/browser";
import type { LoginRequest } from "../../../../gen/keycard/v1/auth_service_pb.js";
import { auth, messageOf } from "./api.js";
import { element, show, showError } from "./dom.js";

/** What the sign-in page lends its passkey buttons. */
export interface PasskeySignInPage {
  /** Email, password and remember-me as the first step holds them. */
  readonly firstStep: () => Pick<LoginRequest, "email" | "password" | "rememberMe">;
  readonly leave: () => void;
}

/** Whether keycard has passkeys configured (it marks the page) and this browser can use them. */
export function passkeysAvailable(): boolean {
  return document.body.dataset.passkeys === "on" && browserSupportsWebAuthn();
}

/**
 * Asks the browser for a passkey of this site (discoverable: the person picks the account)
 * and returns what Login or Reauthenticate take as `passkey`.
 */
export async function passkeyAssertion(): Promise<{ challengeId: string; responseJson: string }> {
  const options = await auth.startPasskeyLogin({});
  const assertion = await startAuthentication({ optionsJSON: JSON.parse(options.optionsJson) });
  return { challengeId: options.challengeId, responseJson: JSON.stringify(assertion) };
}

/** Runs a passkey action from a button, showing a refusal (or a cancelled prompt) in `alert`. */
export function onPasskey(buttonId: string, alert: HTMLElement, action: () => Promise<void>): void {
  const button = element<HTMLButtonElement>(buttonId);
  button.addEventListener("click", () => {
    showError(alert, "");
    button.disabled = true;
    action()
      .catch((error: unknown) => showError(alert, passkeyMessage(error)))
      .finally(() => {
        button.disabled = false;
      });
  });
}

/** A person-readable reason a passkey step failed: the browser's cancellation, or keycard's refusal. */
function passkeyMessage(error: unknown): string {
  if (error instanceof Error && error.name === "NotAllowedError") {
    return "The passkey prompt was closed or timed out; nothing was sent.";
  }
  return messageOf(error);
}

/**
 * The sign-in page's passkey buttons: "Sign in with a passkey" alone on the first step, and
 * "Use a passkey instead" of the code on the second (with the email and password given).
 */
export function wirePasskeySignIn(page: PasskeySignInPage): void {
  if (!passkeysAvailable()) {
    return;
  }
  show(element("passkey-signin-group"), true);
  show(element("passkey-second-group"), true);
  onPasskey("passkey-signin", element("password-error"), async () => {
    await auth.login({
      passkey: await passkeyAssertion(),
      rememberMe: page.firstStep().rememberMe,
    });
    page.leave();
  });
  onPasskey("passkey-second", element("code-error"), async () => {
    await auth.login({ ...page.firstStep(), passkey: await passkeyAssertion() });
    page.leave();
  });
}
