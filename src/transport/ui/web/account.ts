import { auth, isSignedOut, messageOf } from "./api.js";
import { element, show, showError } from "./dom.js";
import { startPasskeysPanel } from "./passkeys-panel.js";
import { startPasswordPanel } from "./password-panel.js";
import { startSessionsPanel } from "./sessions-panel.js";
import { startTotpPanel } from "./totp-panel.js";

/*
 * The account page, `/ui/account`: the signed-in person's sessions, two-step verification,
 * recovery codes, password and passkeys. Without a session it sends the browser to sign in.
 */

async function start(): Promise<void> {
  try {
    const me = await auth.getMe({});
    element("greeting").textContent =
      `Signed in as ${me.user?.displayName ?? ""} (${me.user?.email ?? ""})`;
    startTotpPanel(me.user?.totpEnabled ?? false);
    startPasswordPanel();
    show(element("account"), true);
    await Promise.all([startSessionsPanel(), startPasskeysPanel()]);
  } catch (error) {
    if (isSignedOut(error)) {
      location.assign("/ui/");
      return;
    }
    showError(element("page-error"), messageOf(error));
  }
}

element("sign-out").addEventListener("click", () => {
  auth
    .logout({})
    .then(() => location.assign("/ui/"))
    .catch((error: unknown) => showError(element("page-error"), messageOf(error)));
});

void start();
