import { auth, messageOf, reasonOf } from "./api.js";
import { CodeField } from "./code-field.js";
import { element, field, show, showError } from "./dom.js";

/*
 * Changing a factor or the password needs a session proven within the last few minutes
 * (keycard answers STEP_UP_REQUIRED otherwise). The account page then asks for the
 * password (and a code when TOTP is on) in a modal dialog, calls Reauthenticate, and tries
 * the action once more.
 */

const dialog = element<HTMLDialogElement>("reauth-dialog");
const form = element<HTMLFormElement>("reauth-dialog-form");
const alert = element("reauth-dialog-error");
const code = new CodeField("dialog");

/** Whether the account has TOTP, so the dialog asks for a code too; the page keeps it current. */
let totpEnabled = false;

/** Tells the dialog whether to ask for a TOTP code. */
export function setTotpEnabled(enabled: boolean): void {
  totpEnabled = enabled;
}

/** Asks the person to prove themselves again; resolves once they did, rejects when they cancel. */
function confirmIdentity(): Promise<void> {
  form.reset();
  showError(alert, "");
  show(element("dialog-code-group"), totpEnabled);
  code.input.required = totpEnabled;
  dialog.showModal();
  return new Promise((resolve, reject) => {
    const submit = async (event: SubmitEvent): Promise<void> => {
      event.preventDefault();
      const data = new FormData(form);
      try {
        await auth.reauthenticate({
          password: field(data, "password"),
          ...(totpEnabled ? code.credential() : {}),
        });
        finish();
        resolve();
      } catch (error) {
        showError(alert, messageOf(error), element("dialog-password"));
      }
    };
    const cancel = (): void => {
      finish();
      reject(new Error("You cancelled, so nothing was changed."));
    };
    const finish = (): void => {
      form.removeEventListener("submit", submit);
      dialog.removeEventListener("cancel", cancel);
      element("reauth-dialog-cancel").removeEventListener("click", cancel);
      dialog.close();
    };
    form.addEventListener("submit", submit);
    dialog.addEventListener("cancel", cancel);
    element("reauth-dialog-cancel").addEventListener("click", cancel);
  });
}

/** Runs an action that needs a fresh session, asking the person to prove themselves first when keycard says so. */
export async function withFreshSession<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (reasonOf(error) !== "STEP_UP_REQUIRED") {
      throw error;
    }
    await confirmIdentity();
    return action();
  }
}
