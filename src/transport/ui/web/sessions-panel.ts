import { timestampDate } from "@bufbuild/protobuf/wkt";
import { RevokeScope } from "../../../../gen/keycard/v1/auth_service_pb.js";
import type { Session } from "../../../../gen/keycard/v1/session_pb.js";
import { auth, messageOf } from "./api.js";
import { announce, element, make, showError } from "./dom.js";

/*
 * The account page's sessions: every signed-in device with its label, location and last
 * activity, "This device" on the one showing the page; rename or sign out one, sign out
 * all others, or everywhere.
 */

const list = element<HTMLUListElement>("sessions");
const alert = element("sessions-error");

function when(timestamp: Session["lastUsedAt"]): string {
  return timestamp === undefined ? "unknown" : timestampDate(timestamp).toLocaleString();
}

/** The name a session goes by: the person's label, else what keycard made of its user agent. */
function nameOf(session: Session): string {
  return session.label || session.deviceLabel || "Unknown device";
}

function button(text: string, label: string, action: () => Promise<void>): HTMLButtonElement {
  const created = make("button", text, "secondary");
  created.type = "button";
  created.setAttribute("aria-label", label);
  created.addEventListener("click", () => {
    showError(alert, "");
    action().catch((error: unknown) => showError(alert, messageOf(error)));
  });
  return created;
}

/** A small form that renames a session; shown in place of the card's buttons. */
function renameForm(session: Session, card: HTMLElement): HTMLFormElement {
  const form = make("form", "", "rename");
  const input = make("input");
  input.id = `rename-${session.id}`;
  input.name = "label";
  input.value = session.label;
  input.maxLength = 64;
  input.required = true;
  const label = make("label", `New name for ${nameOf(session)}`);
  label.htmlFor = input.id;
  const save = make("button", "Save");
  save.type = "submit";
  form.append(label, input, save);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    auth
      .renameSession({ sessionId: session.id, label: input.value })
      .then(() => refreshSessions())
      .then(() => announce("Session renamed."))
      .catch((error: unknown) => showError(alert, messageOf(error), input));
  });
  card.append(form);
  return form;
}

function sessionCard(session: Session): HTMLLIElement {
  const card = make("li", "", "card");
  const heading = make("h3", nameOf(session));
  if (session.current) {
    heading.append(" ", make("span", "This device", "badge"));
  }
  const details = make("p", "", "details");
  const facts = [
    session.location === "" ? "" : session.location,
    `Last active ${when(session.lastUsedAt)}`,
    `Signed in ${when(session.createdAt)}`,
    session.ipAddress === "" ? "" : `from ${session.ipAddress}`,
  ].filter((fact) => fact !== "");
  details.textContent = facts.join(" · ");
  const actions = make("div", "", "actions");
  actions.append(
    button("Rename", `Rename ${nameOf(session)}`, async () => {
      actions.hidden = true;
      renameForm(session, card).querySelector("input")?.focus();
    }),
    button("Sign out", `Sign out ${nameOf(session)}`, async () => {
      await auth.revokeSession({ sessionId: session.id });
      if (session.current) {
        location.assign("/ui/");
        return;
      }
      await refreshSessions();
      announce(`${nameOf(session)} signed out.`);
    }),
  );
  card.append(heading, details, actions);
  return card;
}

/** Lists the account's sessions again. */
export async function refreshSessions(): Promise<void> {
  const { sessions } = await auth.listSessions({ pageSize: 100 });
  list.replaceChildren(...sessions.map(sessionCard));
}

/** Wires the panel's buttons and shows the sessions. */
export async function startSessionsPanel(): Promise<void> {
  element("sign-out-others").addEventListener("click", () => {
    showError(alert, "");
    auth
      .revokeSession({ scope: RevokeScope.OTHERS })
      .then(async ({ revokedCount }) => {
        await refreshSessions();
        announce(`${revokedCount} other session${revokedCount === 1 ? "" : "s"} signed out.`);
      })
      .catch((error: unknown) => showError(alert, messageOf(error)));
  });
  element("sign-out-everywhere").addEventListener("click", () => {
    auth
      .revokeSession({ scope: RevokeScope.ALL })
      .then(() => location.assign("/ui/"))
      .catch((error: unknown) => showError(alert, messageOf(error)));
  });
  await refreshSessions();
}
