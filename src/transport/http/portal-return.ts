import { type RedirectPolicy, safeRedirectTarget } from "../../domain/redirect-target.js";
import type { PathItem } from "./openapi/types.js";
import { queryValues } from "./portal-redirect.js";
import { onlyGetOrHead } from "./rest-error.js";
import type { NodeRequest, NodeResponse } from "./rest-handler.js";

/** The path of the return endpoint, which the portal's sign-in page navigates to. */
export const portalReturnPath = "/ui/continue";

/** Where a browser goes when it has nowhere safe to return to: the account page. */
export const accountPagePath = "/ui/";

/**
 * `GET /ui/continue?rd=<URL>`: where the portal sends the browser after sign-in, a 302 to
 * `rd` when it is a safe redirect target (a path on keycard, or a URL under
 * ALLOWED_REDIRECT_DOMAINS), else to the account page. The decision is made here, on the
 * server, so no page script ever chooses a destination. It needs no session: it only
 * redirects, and the destination asks for its own.
 */
export async function servePortalReturn(
  policy: RedirectPolicy,
  request: NodeRequest,
  response: NodeResponse,
): Promise<void> {
  onlyGetOrHead(request.method, portalReturnPath);
  const values = queryValues(request.url, "rd");
  const [only] = values;
  const target =
    only !== undefined && values.length === 1 ? safeRedirectTarget(only, policy) : undefined;
  response.writeHead(302, {
    location: target ?? accountPagePath,
    "cache-control": "no-store",
    "content-length": 0,
  });
  response.end();
}

/** `/ui/continue` in the OpenAPI document. */
export const portalReturnDoc: PathItem = {
  get: {
    operationId: "portalReturn",
    summary: "Return from the sign-in portal to where the browser was going.",
    description:
      "The portal's sign-in page navigates here after sign-in. A 302 to `rd` when it is a path on keycard or an HTTPS URL (plain HTTP too with `COOKIE_SECURE=false`) whose host is under `ALLOWED_REDIRECT_DOMAINS`; otherwise (absent, given twice, another host, userinfo, backslashes, encoded or trailing-dot hosts, other schemes, over 2048 characters) a 302 to the account page `/ui/`. No session is needed. HEAD is answered alike.",
    tags: ["Portal"],
    security: [],
    parameters: [
      {
        name: "rd",
        in: "query",
        required: false,
        description: "Where to return: a path on keycard or a URL under ALLOWED_REDIRECT_DOMAINS.",
        schema: { type: "string", maxLength: 2048 },
      },
    ],
    responses: {
      "302": {
        description: "Go to `rd`, or to the account page `/ui/` when `rd` is not safe.",
        headers: {
          Location: { description: "Where the browser goes next.", schema: { type: "string" } },
        },
      },
    },
  },
};
