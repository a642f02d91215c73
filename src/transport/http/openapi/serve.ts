import type { NodeRequest, NodeResponse } from "../../server/front-door.js";
import { onlyGetOrHead } from "../rest-error.js";
import { type DocumentSources, openApiDocument } from "./document.js";
import { referencePage, referencePagePolicy } from "./reference-page.js";
import type { PathItem } from "./types.js";

/** How long clients may keep the document and the page: they change only with a release. */
const maxAgeSeconds = 300;

/** The paths of the document and its page. */
export const openApiPath = "/openapi.json";
export const referencePath = "/docs";

/** The document and its page as served: built on first request, then kept. */
export interface ApiReference {
  json(): string;
  html(): string;
}

/** The document of these sources and its page, each rendered once, when first asked for. */
export function apiReference(sources: () => DocumentSources): ApiReference {
  let json: string | undefined;
  let html: string | undefined;
  const document = () => openApiDocument(sources());
  return {
    json: () => {
      json ??= JSON.stringify(document());
      return json;
    },
    html: () => {
      html ??= referencePage(document());
      return html;
    },
  };
}

function send(response: NodeResponse, type: string, text: string, headers: Record<string, string>) {
  response.writeHead(200, {
    "cache-control": `public, max-age=${maxAgeSeconds}`,
    "x-content-type-options": "nosniff",
    ...headers,
    "content-type": type,
    "content-length": Buffer.byteLength(text),
  });
  response.end(text);
}

/** `GET /openapi.json`: the OpenAPI document, for any origin to read (tools fetch it). */
export async function serveOpenApi(
  reference: ApiReference,
  request: NodeRequest,
  response: NodeResponse,
): Promise<void> {
  onlyGetOrHead(request.method, openApiPath);
  send(response, "application/json; charset=utf-8", reference.json(), {
    "access-control-allow-origin": "*",
  });
}

/** `GET /docs`: the reference page, under a policy that allows nothing but its own style. */
export async function serveReferencePage(
  reference: ApiReference,
  request: NodeRequest,
  response: NodeResponse,
): Promise<void> {
  onlyGetOrHead(request.method, referencePath);
  send(response, "text/html; charset=utf-8", reference.html(), {
    "content-security-policy": referencePagePolicy,
    "referrer-policy": "no-referrer",
  });
}

/** `/openapi.json` in the document itself. */
export const openApiDoc: PathItem = {
  get: {
    operationId: "openApiDocument",
    summary: "This OpenAPI 3.1 document.",
    description:
      "Generated when first asked for from the routes this server serves: the proto's REST annotations, the enabled profiles, the other paths.",
    tags: ["Documentation"],
    responses: {
      "200": {
        description: "The document.",
        content: { "application/json": { schema: { type: "object" } } },
      },
    },
  },
};

/** `/docs` in the document. */
export const referencePageDoc: PathItem = {
  get: {
    operationId: "referencePage",
    summary: "This document as an HTML page, without scripts.",
    tags: ["Documentation"],
    responses: {
      "200": {
        description: "The page.",
        content: { "text/html": { schema: { type: "string" } } },
      },
    },
  },
};
