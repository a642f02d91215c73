import { auth, messageOf } from "./api.js";
import { announce, element, field, make, onSubmit, show, showError } from "./dom.js";
import { setTotpEnabled, withFreshSession } from "./step-up.js";

/*
 * Two-step verification on the account page: set up an authenticator app (QR code, then
 * the first code to confirm), turn it off, and make new recovery codes.
 */

const status = element("totp-status");
const alert = element("totp-error");
const enrollment = element("totp-enrollment");
const confirmForm = element<HTMLFormElement>("totp-confirm-form");
const codes = element<HTMLOListElement>("recovery-codes");

/** Shows the panel for an account with or without TOTP. */
export function showTotp(enabled: boolean): void {
  setTotpEnabled(enabled);
  status.textContent = enabled
    ? "Two-step verification is on: signing in asks for a code from your authenticator app."
    : "Two-step verification is off.";
  show(element("totp-enroll"), !enabled);
  show(element("totp-remove"), enabled);
  show(element("recovery-generate"), enabled);
  show(enrollment, false);
}

/** Runs a button's action, showing its error in the panel. */
function act(action: () => Promise<void>): () => void {
  return () => {
    showError(alert, "");
    action().catch((error: unknown) => showError(alert, messageOf(error)));
  };
}

async function enroll(): Promise<void> {
  const started = await withFreshSession(() => auth.enrollOwnTotp({}));
  const qr = element<HTMLImageElement>("totp-qr");
  qr.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(started.qrCodeSvg)}`;
  element("totp-secret").textContent = started.secret;
  codes.replaceChildren();
  show(enrollment, true);
  element("totp-confirm-code").focus();
}

async function remove(): Promise<void> {
  await withFreshSession(() => auth.removeOwnTotp({}));
  showTotp(false);
  codes.replaceChildren();
  announce("Two-step verification is off.");
}

async function regenerate(): Promise<void> {
  const made = await withFreshSession(() => auth.regenerateRecoveryCodes({}));
  codes.replaceChildren(...made.codes.map((code) => make("li", code)));
  announce(
    "New recovery codes made; the old ones no longer work. Save these somewhere safe: each works once.",
  );
}

/** Wires the panel's buttons. */
export function startTotpPanel(enabled: boolean): void {
  showTotp(enabled);
  element("totp-enroll").addEventListener("click", act(enroll));
  element("totp-remove").addEventListener("click", act(remove));
  element("recovery-generate").addEventListener("click", act(regenerate));
  onSubmit(confirmForm, async (data) => {
    const error = element("totp-confirm-error");
    showError(error, "");
    try {
      await withFreshSession(() => auth.confirmOwnTotp({ code: field(data, "code").trim() }));
      confirmForm.reset();
      showTotp(true);
      announce(
        "Two-step verification is on. Make recovery codes now, in case you lose your phone.",
      );
    } catch (failure) {
      showError(error, messageOf(failure), element("totp-confirm-code"));
    }
  });
}
