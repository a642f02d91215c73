import { ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { ErrorInfoSchema } from "../../../../gen/google/rpc/error_details_pb.js";
import { AuthService } from "../../../../gen/keycard/v1/auth_service_pb.js";

/**
 * Every portal call goes to keycard's own origin in cookie mode: the session lives in the
 * HttpOnly `auth-token` cookie, which the browser sends and keycard sets; no token ever
 * reaches this script (keycard takes it out of Login's and Reauthenticate's answers).
 */
const cookieMode: Interceptor = (next) => (request) => {
  request.header.set("x-session-cookie", "1");
  return next(request);
};

/** keycard's AuthService, generated from its proto, over Connect-Web. */
export const auth = createClient(
  AuthService,
  createConnectTransport({ baseUrl: location.origin, interceptors: [cookieMode] }),
);

/** The reason keycard gave for refusing a call (TOTP_REQUIRED, STEP_UP_REQUIRED, ...); empty when none. */
export function reasonOf(error: unknown): string {
  return ConnectError.from(error).findDetails(ErrorInfoSchema)[0]?.reason ?? "";
}

/** Reasons that mean "you are not signed in (any more)". */
const signedOutReasons = new Set([
  "SESSION_INVALID",
  "SESSION_EXPIRED",
  "SESSION_REVOKED",
  "SESSION_IDLE",
]);

/** Whether the error says the browser has no live session. */
export function isSignedOut(error: unknown): boolean {
  return signedOutReasons.has(reasonOf(error));
}

/** What to tell a person about a refused call: keycard's own message, which is written for people. */
export function messageOf(error: unknown): string {
  const connectError = ConnectError.from(error);
  if (connectError.message.includes("Failed to fetch")) {
    return "keycard cannot be reached. Check your connection and try again.";
  }
  return connectError.rawMessage;
}
