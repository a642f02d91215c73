import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";
import type { Session } from "../../gen/keycard/v1/session_pb.js";

/*
 * Two ways a browser app signs in to keycard from another origin:
 * 1. Connect-Web with the generated AuthService client; the token lives in memory only.
 * 2. Reference 002's cookie flow with plain fetch; the token lives in an HttpOnly cookie.
 * Everything shown comes from keycard's answers and is written with textContent.
 */

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) {
    throw new Error(`the page has no #${id}`);
  }
  return found as T;
}

const keycardUrl =
  document.querySelector<HTMLMetaElement>('meta[name="keycard-url"]')?.content ?? "";

function credentialsOf(form: HTMLFormElement): { email: string; password: string } {
  const data = new FormData(form);
  return { email: String(data.get("email") ?? ""), password: String(data.get("password") ?? "") };
}

function formatTime(timestamp: Timestamp | undefined): string {
  return timestamp === undefined ? "" : timestampDate(timestamp).toLocaleString();
}

// --- Connect-Web ---------------------------------------------------------------------

/** The session token of the Connect panel; deliberately never written to storage. */
let sessionToken = "";

const bearer: Interceptor = (next) => (request) => {
  if (sessionToken !== "") {
    request.header.set("authorization", `Bearer ${sessionToken}`);
  }
  return next(request);
};

const auth = createClient(
  AuthService,
  createConnectTransport({ baseUrl: keycardUrl, interceptors: [bearer] }),
);

const connectLogin = element<HTMLFormElement>("connect-login");
const connectAccount = element("connect-account");
const connectError = element("connect-error");

/** "Firefox/128" or "HeadlessChrome/156" out of a User-Agent; the whole one is the cell's title. */
function browserOf(userAgent: string): string {
  return /(HeadlessChrome|Edg|Firefox|Chrome|Safari)\/\d+/.exec(userAgent)?.[0] ?? userAgent;
}

function sessionRow(session: Session): HTMLTableRowElement {
  const row = document.createElement("tr");
  const label = session.current ? `${session.id} (this session)` : session.id;
  for (const [text, title] of [
    [label, ""],
    [formatTime(session.createdAt), ""],
    [formatTime(session.expiresAt), ""],
    [browserOf(session.userAgent), session.userAgent],
  ] as const) {
    const cell = document.createElement("td");
    cell.textContent = text;
    cell.title = title;
    row.append(cell);
  }
  return row;
}

async function showConnectAccount(): Promise<void> {
  const [me, list] = await Promise.all([auth.getMe({}), auth.listSessions({})]);
  element("connect-greeting").textContent = `Signed in as ${me.user?.displayName ?? ""}`;
  element("connect-sessions").replaceChildren(...list.sessions.map(sessionRow));
  connectLogin.hidden = true;
  connectAccount.hidden = false;
}

function showConnectForm(): void {
  sessionToken = "";
  connectLogin.reset();
  connectLogin.hidden = false;
  connectAccount.hidden = true;
}

/** Runs a panel action, showing a failure as one sentence in the panel's alert. */
async function guarded(alert: HTMLElement, action: () => Promise<void>): Promise<void> {
  alert.textContent = "";
  try {
    await action();
  } catch (error) {
    alert.textContent = ConnectError.from(error).rawMessage;
  }
}

connectLogin.addEventListener("submit", (event) => {
  event.preventDefault();
  void guarded(connectError, async () => {
    const login = await auth.login(credentialsOf(connectLogin));
    sessionToken = login.sessionToken;
    await showConnectAccount();
  });
});

element("connect-logout").addEventListener("click", () => {
  void guarded(connectError, async () => {
    await auth.logout({});
    showConnectForm();
  });
});

// --- Reference 002's cookie flow -------------------------------------------------------

interface Envelope {
  readonly success: boolean;
  readonly message?: string;
  readonly data?: { readonly name?: string; readonly email?: string };
}

async function cookieCall(method: "GET" | "POST", path: string, body?: unknown): Promise<Envelope> {
  const response = await fetch(`${keycardUrl}${path}`, {
    method,
    credentials: "include",
    ...(body === undefined
      ? {}
      : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  return (await response.json()) as Envelope;
}

const cookieLogin = element<HTMLFormElement>("cookie-login");
const cookieStatus = element("cookie-status");
const cookieError = element("cookie-error");

function showVisibleCookies(): void {
  element("cookie-visible").textContent = document.cookie === "" ? "(empty)" : document.cookie;
}

async function showCookieUser(): Promise<void> {
  const me = await cookieCall("GET", "/api/v1/auth/me");
  cookieStatus.textContent = me.success
    ? `Signed in as ${me.data?.name ?? ""} (${me.data?.email ?? ""})`
    : `Not signed in: ${me.message ?? ""}`;
  showVisibleCookies();
}

cookieLogin.addEventListener("submit", (event) => {
  event.preventDefault();
  void guarded(cookieError, async () => {
    const login = await cookieCall("POST", "/api/v1/auth/login", credentialsOf(cookieLogin));
    if (!login.success) {
      throw new Error(login.message ?? "Login failed");
    }
    cookieLogin.reset();
    await showCookieUser();
  });
});

element("cookie-me").addEventListener("click", () => {
  void guarded(cookieError, showCookieUser);
});

element("cookie-logout").addEventListener("click", () => {
  void guarded(cookieError, async () => {
    const logout = await cookieCall("POST", "/api/v1/auth/logout");
    cookieStatus.textContent = logout.message ?? "";
    showVisibleCookies();
  });
});

element("page-origin").textContent = window.location.origin;
element("keycard-url").textContent = keycardUrl;
showVisibleCookies();
