import type { LoginRequest } from "../../../../gen/keycard/v1/auth_service_pb.js";
import { auth, isSignedOut, messageOf, reasonOf } from "./api.js";
import { CodeField } from "./code-field.js";
import { element, field, onSubmit, show, showError } from "./dom.js";
import { wirePasskeySignIn } from "./signin-passkey.js";
import { wireReauthentication } from "./signin-reauth.js";

/*
 * The sign-in page, `/ui/`: email + password, then a TOTP or recovery code when the
 * account has TOTP, or a passkey. With `aal` or `max_age` in the query (a proxy's step-up
 * redirect) and a session already open, it asks the person to prove themselves again
 * instead. Afterwards it goes to `rd` through keycard's `/ui/continue`, which follows only
 * allowed URLs, or to the account page.
 */

const query = new URLSearchParams(location.search);

/** Where the browser goes once signed in: `rd` by way of keycard's check, or the account page. */
export function leave(): void {
  const rd = query.get("rd") ?? "";
  location.assign(rd === "" ? "/ui/account" : `/ui/continue?rd=${encodeURIComponent(rd)}`);
}

const passwordForm = element<HTMLFormElement>("password-form");
const passwordError = element("password-error");
const codeForm = element<HTMLFormElement>("code-form");
const codeError = element("code-error");
const code = new CodeField("signin");

/** Email, password and remember-me of the first step, kept for the second. */
function firstStep(): Pick<LoginRequest, "email" | "password" | "rememberMe"> {
  const data = new FormData(passwordForm);
  return {
    email: field(data, "email").trim(),
    password: field(data, "password"),
    rememberMe: data.get("remember") !== null,
  };
}

/** Shows the second step: the account has TOTP (or a passkey) to ask for. */
function askForSecondFactor(): void {
  show(passwordForm, false);
  show(codeForm, true);
  showError(codeError, "");
  code.input.focus();
}

onSubmit(passwordForm, async () => {
  showError(passwordError, "");
  try {
    await auth.login(firstStep());
    leave();
  } catch (error) {
    if (reasonOf(error) === "TOTP_REQUIRED") {
      askForSecondFactor();
      return;
    }
    const email = element<HTMLInputElement>("email");
    showError(passwordError, messageOf(error), email.value === "" ? email : element("password"));
  }
});

onSubmit(codeForm, async () => {
  showError(codeError, "");
  try {
    await auth.login({ ...firstStep(), ...code.credential() });
    leave();
  } catch (error) {
    if (reasonOf(error) === "INVALID_CREDENTIALS") {
      // The password went stale meanwhile (changed elsewhere): start again.
      show(codeForm, false);
      show(passwordForm, true);
      showError(passwordError, messageOf(error), element("password"));
      return;
    }
    showError(codeError, messageOf(error), code.input);
  }
});

element("signin-back").addEventListener("click", () => {
  show(codeForm, false);
  show(passwordForm, true);
  element("password").focus();
});

wirePasskeySignIn({ firstStep, leave });

/** The sign-in form; keycard sent a browser that is already signed in on before serving the page. */
function askToSignIn(): void {
  show(passwordForm, true);
  element("email").focus();
}

/**
 * A proxy's step-up redirect (`aal`, `max_age`): with the session still there, ask the
 * person to prove themselves again; without it, sign in afresh.
 */
async function askToReauthenticate(): Promise<void> {
  try {
    const me = await auth.getMe({});
    wireReauthentication({ totpEnabled: me.user?.totpEnabled ?? false, leave });
  } catch (error) {
    if (!isSignedOut(error)) {
      showError(passwordError, messageOf(error));
    }
    askToSignIn();
  }
}

if (query.has("aal") || query.has("max_age")) {
  void askToReauthenticate();
} else {
  askToSignIn();
}
