import { auth, messageOf, reasonOf } from "./api.js";
import { announce, element, field, onSubmit, showError } from "./dom.js";
import { refreshSessions } from "./sessions-panel.js";
import { withFreshSession } from "./step-up.js";

/** The account page's password form: the current password, the new one twice. */
export function startPasswordPanel(): void {
  const form = element<HTMLFormElement>("password-form");
  const alert = element("password-error");
  onSubmit(form, async (data) => {
    showError(alert, "");
    const newPassword = field(data, "new");
    if (newPassword !== field(data, "repeat")) {
      showError(
        alert,
        "The two new passwords differ.",
        element<HTMLInputElement>("password-repeat"),
      );
      return;
    }
    try {
      const changed = await withFreshSession(() =>
        auth.changePassword({
          currentPassword: field(data, "current"),
          newPassword,
          keepOtherSessions: data.get("keep") !== null,
        }),
      );
      form.reset();
      const ended = changed.revokedSessions;
      announce(
        `Password changed.${ended > 0 ? ` ${ended} other session${ended === 1 ? "" : "s"} signed out.` : ""}`,
      );
      await refreshSessions();
    } catch (error) {
      const wrongField =
        reasonOf(error) === "INVALID_CREDENTIALS" ? "password-current" : "password-new";
      showError(alert, messageOf(error), element<HTMLInputElement>(wrongField));
    }
  });
}
