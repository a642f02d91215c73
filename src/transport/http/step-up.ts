import { aalOf, acrOf } from "../../domain/assurance.js";
import { queryOf } from "../request-target.js";
import { RestError } from "./rest-error.js";

/** What `/auth/verify?max_age=300&aal=2` asks of a session, as Validate's fields. */
export interface StepUpQuery {
  readonly maxAuthAgeSeconds: number;
  readonly minAal: number;
}

const maxSeconds = 2_147_483_647;

/** What a forward-auth request without a query asks: nothing more than a live session. */
const noStepUp: StepUpQuery = { maxAuthAgeSeconds: 0, minAal: 0 };

/** A query parameter as a whole number from 0 to `max`; 0 when absent. */
function wholeNumber(params: URLSearchParams, name: string, max: number, expected: string): number {
  const text = params.get(name);
  if (text === null || text === "") {
    return 0;
  }
  const value = Number(text);
  if (!/^\d{1,10}$/.test(text) || value > max) {
    throw new RestError(400, "INVALID_ARGUMENT", `${name} must be ${expected}`);
  }
  return value;
}

/**
 * The step-up a forward-auth request asks for in its query: `max_age` (seconds since the
 * person last proved themselves) and `aal` (1 or 2), as in OpenID Connect and RFC 9470.
 */
export function stepUpQuery(url: string | undefined): StepUpQuery {
  const params = queryOf(url);
  if (params === undefined) {
    return noStepUp;
  }
  return {
    maxAuthAgeSeconds: wholeNumber(params, "max_age", maxSeconds, "a whole number of seconds"),
    minAal: wholeNumber(params, "aal", 2, "1 or 2"),
  };
}

/**
 * The RFC 9470 challenge of a session that does not meet a step-up: the client should send
 * the person back to prove themselves, at least at the level and within the age asked.
 */
export function stepUpChallenge(query: StepUpQuery): string {
  const parts = [
    'Bearer realm="keycard"',
    'error="insufficient_user_authentication"',
    'error_description="A more recent or stronger authentication is required"',
    ...(query.maxAuthAgeSeconds > 0 ? [`max_age="${query.maxAuthAgeSeconds}"`] : []),
    ...(query.minAal > 0 ? [`acr_values="${acrOf(aalOf(query.minAal))}"`] : []),
  ];
  return parts.join(", ");
}
