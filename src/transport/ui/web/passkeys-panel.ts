import { timestampDate } from "@bufbuild/protobuf/wkt";
import { startRegistration } from "@simplewebauthn/browser";
import type { Passkey } from "../../../../gen/keycard/v1/session_pb.js";
import { auth, isSignedOut, messageOf } from "./api.js";
import { announce, element, field, make, onSubmit, show, showError } from "./dom.js";
import { passkeysAvailable } from "./signin-passkey.js";
import { withFreshSession } from "./step-up.js";

/*
 * Passkeys on the account page: each one named and listed with when it was added and last
 * used; add one (the browser makes it, keycard stores its public key), remove one (which
 * signs out the sessions it opened). Both need a recent sign-in.
 */

const list = element<HTMLUListElement>("passkeys");
const alert = element("passkeys-error");

function when(timestamp: Passkey["createdAt"]): string {
  return timestamp === undefined ? "never" : timestampDate(timestamp).toLocaleString();
}

function passkeyCard(passkey: Passkey): HTMLLIElement {
  const card = make("li", "", "card");
  const details = make(
    "p",
    `Added ${when(passkey.createdAt)} · Last used ${when(passkey.lastUsedAt)}${passkey.backedUp ? " · Synced" : ""}`,
    "details",
  );
  const remove = make("button", "Remove", "danger");
  remove.type = "button";
  remove.setAttribute("aria-label", `Remove passkey ${passkey.name}`);
  remove.addEventListener("click", () => {
    showError(alert, "");
    withFreshSession(() => auth.removeOwnPasskey({ passkeyId: passkey.id }))
      .then(async ({ revokedSessions }) => {
        if (!(await stillSignedIn())) {
          location.assign("/ui/");
          return;
        }
        await refreshPasskeys();
        announce(
          `Passkey ${passkey.name} removed.${revokedSessions > 0 ? ` ${revokedSessions} session${revokedSessions === 1 ? "" : "s"} it opened signed out.` : ""}`,
        );
      })
      .catch((error: unknown) => showError(alert, messageOf(error)));
  });
  card.append(make("h3", passkey.name), details, remove);
  return card;
}

/**
 * Whether this browser's session outlived a removal: removing the passkey it was opened
 * with ends it, and then the page goes back to sign in.
 */
async function stillSignedIn(): Promise<boolean> {
  try {
    await auth.getMe({});
    return true;
  } catch (error) {
    if (isSignedOut(error)) {
      return false;
    }
    throw error;
  }
}

async function refreshPasskeys(): Promise<void> {
  const { passkeys } = await auth.listOwnPasskeys({});
  list.replaceChildren(...passkeys.map(passkeyCard));
}

/** Creates a passkey in the browser and registers it with keycard under `name`. */
async function addPasskey(name: string): Promise<void> {
  const started = await withFreshSession(() => auth.startPasskeyRegistration({}));
  const created = await startRegistration({ optionsJSON: JSON.parse(started.optionsJson) });
  await auth.finishPasskeyRegistration({
    challengeId: started.challengeId,
    name,
    responseJson: JSON.stringify(created),
  });
}

/** Shows the panel when keycard has passkeys and the browser can make them. */
export async function startPasskeysPanel(): Promise<void> {
  if (!passkeysAvailable()) {
    return;
  }
  show(element("passkeys-section"), true);
  const form = element<HTMLFormElement>("passkey-add-form");
  onSubmit(form, async (data) => {
    showError(alert, "");
    const name = field(data, "name").trim();
    try {
      await addPasskey(name);
      form.reset();
      await refreshPasskeys();
      announce(`Passkey ${name === "" ? "" : `${name} `}added. You can sign in with it now.`);
    } catch (error) {
      showError(alert, messageOf(error), element<HTMLInputElement>("passkey-name"));
    }
  });
  await refreshPasskeys();
}
