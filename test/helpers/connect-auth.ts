import { ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { AuthService } from "../../gen/keycard/v1/auth_service_pb.js";

/** An AuthService client over the Connect protocol on HTTP/2, as a browser-facing BFF would call. */
export function connectAuth(baseUrl: string) {
  return createClient(AuthService, createConnectTransport({ baseUrl, httpVersion: "2" }));
}

/** The ErrorInfo reason of a refused Connect call, e.g. TOTP_INVALID. */
export function connectReasonOf(error: unknown): string | undefined {
  return ConnectError.from(error).findDetails(ErrorInfoSchema)[0]?.reason;
}
