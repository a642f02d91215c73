import { isMessage } from "@bufbuild/protobuf";
import {
  type CheckResponse,
  CheckResponseSchema,
} from "../../../gen/envoy/service/auth/v3/external_auth_pb.js";
import { ValidateResponseSchema } from "../../../gen/keycard/v1/auth_service_pb.js";
import { inactiveRefusal } from "../../service/session-judge.js";
import { domainReasonOf } from "../handlers/auth-service-impl.js";
import type { Principal } from "../handlers/context.js";

/**
 * What a call's span says about it beyond its name: how it ended when its answer is a
 * refusal (an inactive token is an answer, not an error), and whose session it was. Only
 * identifiers that are no secret: a session id, a user id, never a token or a code.
 */
export interface CallFacts {
  readonly outcome?: string;
  readonly sessionId?: string;
  readonly userId?: string;
  /** Who called, when keycard authenticated the caller: `session`, `api_key`, `admin`. */
  readonly principal?: string;
}

/** The facts of a Validate or ext_authz answer, or of any answer naming a session. */
export function replyFacts(reply: unknown): CallFacts {
  if (isMessage(reply, ValidateResponseSchema)) {
    return reply.active
      ? { sessionId: reply.sessionId, userId: reply.subject }
      : { outcome: inactiveRefusal(domainReasonOf(reply.reason))[0] };
  }
  if (isMessage(reply, CheckResponseSchema)) {
    return checkFacts(reply.httpResponse);
  }
  const sessionId = (reply as { sessionId?: unknown } | undefined)?.sessionId;
  return typeof sessionId === "string" && sessionId !== "" ? { sessionId } : {};
}

/** ext_authz: the identity headers of an allowed request, or the error of a denied one. */
function checkFacts(answer: CheckResponse["httpResponse"]): CallFacts {
  if (answer.case === "okResponse") {
    const header = (key: string): string =>
      answer.value.headers.find((option) => option.header?.key === key)?.header?.value ?? "";
    return { sessionId: header("x-auth-session"), userId: header("x-auth-user") };
  }
  if (answer.case === "deniedResponse") {
    const { error } = JSON.parse(answer.value.body) as { error?: string };
    return error === undefined ? {} : { outcome: error };
  }
  return {};
}

/** The facts the auth interceptor established about the caller. */
export function principalFacts(principal: Principal): CallFacts {
  switch (principal.kind) {
    case "session":
      return {
        principal: "session",
        sessionId: principal.session.id,
        userId: principal.session.userId,
      };
    case "api_key":
      return { principal: "api_key", userId: principal.user.id };
    case "admin":
      return { principal: "admin" };
    default:
      return {};
  }
}
