import { createHash } from "node:crypto";
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { OpenApiDocument, Operation, Schema } from "./types.js";

/**
 * The reference page at /docs: static HTML rendered on the server from the OpenAPI
 * document, with no script at all. keycard's origin holds session cookies, so the page runs
 * no third-party renderer (and none of its history of DOM injections) there; it needs no
 * CDN and no bundle, and works under a Content-Security-Policy that allows only its own
 * inline style (by hash).
 */

const css = `body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:0 auto;padding:1rem 2rem;color:#1b1f24}
code{font:13px ui-monospace,monospace;background:#f2f4f7;padding:0 .25em;border-radius:3px}
h2{border-bottom:1px solid #d0d7de;padding-bottom:.3em;margin-top:2.5rem}
article{border-top:1px solid #eaeef2;padding-top:.5rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
td,th{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
td p{margin:0 0 .3em}
.m{font-weight:700;text-transform:uppercase;margin-right:.4em}.note{color:#57606a;font-size:13px}
nav ul{padding-left:1.2rem}`;

/** The Content-Security-Policy of the page: nothing but its own style. */
export const referencePagePolicy = [
  "default-src 'none'",
  `style-src 'sha256-${createHash("sha256").update(css).digest("base64")}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** A description's light Markdown: paragraphs, `- ` lists and `code` spans. */
function prose(text: string | undefined): string {
  const inline = (line: string): string =>
    escapeHtml(line).replace(/`([^`]+)`/g, (_, code: string) => `<code>${code}</code>`);
  return (text ?? "")
    .split(/\n\s*\n/)
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const lines = block.split("\n");
      const items = lines.filter((line) => line.startsWith("- "));
      const head = lines.filter((line) => !line.startsWith("- ")).join(" ");
      const list = items.map((item) => `<li>${inline(item.slice(2))}</li>`).join("");
      return `${head === "" ? "" : `<p>${inline(head)}</p>`}${list === "" ? "" : `<ul>${list}</ul>`}`;
    })
    .join("");
}

function anchor(kind: string, name: string): string {
  return `${kind}-${name.replace(/[^A-Za-z0-9_.-]/g, "-")}`;
}

function refName(ref: string): string {
  return ref.split("/").at(-1) ?? ref;
}

function asSchema(value: JsonValue | undefined): Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? value : {};
}

/** A short type label: a link for a reference, `array of …`, a format, a constant. */
function typeLabel(schema: Schema): string {
  if (typeof schema.$ref === "string") {
    const name = refName(schema.$ref);
    return `<a href="#${anchor("schema", name)}">${escapeHtml(name.replace(/^keycard\.v1\./, ""))}</a>`;
  }
  if ("const" in schema) {
    return `<code>${escapeHtml(JSON.stringify(schema.const))}</code>`;
  }
  if (Array.isArray(schema.oneOf)) {
    return schema.oneOf.map((each) => typeLabel(asSchema(each))).join(" or ");
  }
  if (Array.isArray(schema.enum)) {
    return `one of ${schema.enum.map((each) => `<code>${escapeHtml(String(each))}</code>`).join(", ")}`;
  }
  const type = Array.isArray(schema.type) ? schema.type.join(" or ") : String(schema.type ?? "any");
  if (type === "array") {
    return `array of ${typeLabel(asSchema(schema.items))}`;
  }
  return typeof schema.format === "string" ? `${type} (${escapeHtml(schema.format)})` : type;
}

/** The constraints of a schema worth a reader's eye, as a note. */
function constraints(schema: Schema, required: boolean): string {
  const keys = ["minLength", "maxLength", "pattern", "minimum", "maximum", "maxItems"];
  const notes = [
    ...(required ? ["required"] : []),
    ...(schema.deprecated === true ? ["deprecated"] : []),
    ...keys.filter((key) => key in schema).map((key) => `${key} ${String(schema[key])}`),
  ];
  return notes.length === 0 ? "" : `<div class="note">${escapeHtml(notes.join("; "))}</div>`;
}

/** An object's properties as a table; nested inline objects get tables of their own. */
function schemaBody(schema: Schema): string {
  if (Array.isArray(schema.oneOf) && schema.oneOf.some((each) => !asSchema(each).$ref)) {
    return schema.oneOf.map((each) => `<p>One of:</p>${schemaBody(asSchema(each))}`).join("");
  }
  const properties = asSchema(schema.properties);
  const names = Object.keys(properties);
  if (names.length === 0) {
    return `<p>${typeLabel(schema)}</p>`;
  }
  const required = Array.isArray(schema.required) ? schema.required : [];
  const rows = names.map((name) => {
    const property = asSchema(properties[name]);
    const nested = property.properties === undefined ? "" : schemaBody(property);
    const description = `${prose(String(property.description ?? ""))}${constraints(property, required.includes(name))}`;
    return `<tr><td><code>${escapeHtml(name)}</code></td><td>${typeLabel(property)}</td><td>${description}${nested}</td></tr>`;
  });
  return `<table><tr><th>Field</th><th>Type</th><th>Description</th></tr>${rows.join("")}</table>`;
}

function content(body: Schema): string {
  const media = asSchema(body.content);
  return Object.entries(media)
    .map(
      ([type, each]) =>
        `<p class="note">${escapeHtml(type)}</p>${schemaBody(asSchema(asSchema(each).schema))}`,
    )
    .join("");
}

function responses(document: OpenApiDocument, operation: Operation): string {
  return Object.entries(operation.responses)
    .map(([status, response]) => {
      const resolved =
        typeof response.$ref === "string"
          ? asSchema(document.components.responses[refName(response.$ref)])
          : response;
      const headers = Object.keys(asSchema(resolved.headers));
      const headerNote =
        headers.length === 0
          ? ""
          : `<p class="note">Headers: ${escapeHtml(headers.join(", "))}</p>`;
      return `<h4>${escapeHtml(status)}</h4>${prose(String(resolved.description ?? ""))}${headerNote}${content(resolved)}`;
    })
    .join("");
}

function credentials(operation: Operation): string {
  const alternatives = (operation.security ?? []).map(
    (requirement) => Object.keys(requirement).join(" + ") || "none",
  );
  return `<p><strong>Credentials:</strong> ${escapeHtml(alternatives.join(", or ") || "none")}</p>`;
}

function parameters(operation: Operation): string {
  const rows = (operation.parameters ?? []).map((parameter: JsonObject) => {
    const schema = asSchema(parameter.schema);
    return `<tr><td><code>${escapeHtml(String(parameter.name))}</code> (${escapeHtml(String(parameter.in))})</td><td>${typeLabel(schema)}</td><td>${prose(String(parameter.description ?? ""))}${constraints(schema, parameter.required === true)}</td></tr>`;
  });
  return rows.length === 0
    ? ""
    : `<h4>Parameters</h4><table><tr><th>Name</th><th>Type</th><th>Description</th></tr>${rows.join("")}</table>`;
}

function operationHtml(document: OpenApiDocument, path: string, method: string, op: Operation) {
  const body = op.requestBody === undefined ? "" : `<h4>Body</h4>${content(op.requestBody)}`;
  return `<article id="${anchor("op", op.operationId)}"><h3><span class="m">${method}</span><code>${escapeHtml(path)}</code></h3>${prose(op.description ?? op.summary)}${credentials(op)}${parameters(op)}${body}<h4>Responses</h4>${responses(document, op)}</article>`;
}

function operationsByTag(document: OpenApiDocument): Map<string, [string, string, Operation][]> {
  const byTag = new Map<string, [string, string, Operation][]>();
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const tag = operation.tags[0] ?? "Other";
      byTag.set(tag, [...(byTag.get(tag) ?? []), [path, method, operation]]);
    }
  }
  return byTag;
}

/** The whole reference page of a document. */
export function referencePage(document: OpenApiDocument): string {
  const byTag = operationsByTag(document);
  const tagText = new Map(document.tags.map((tag) => [String(tag.name), String(tag.description)]));
  const toc = [...byTag]
    .map(([tag, ops]) => {
      const links = ops.map(
        ([path, method, op]) =>
          `<li><a href="#${anchor("op", op.operationId)}"><span class="m">${method}</span><code>${escapeHtml(path)}</code></a> ${escapeHtml(op.summary)}</li>`,
      );
      return `<li><a href="#${anchor("tag", tag)}">${escapeHtml(tag)}</a><ul>${links.join("")}</ul></li>`;
    })
    .join("");
  const sections = [...byTag]
    .map(
      ([tag, ops]) =>
        `<section id="${anchor("tag", tag)}"><h2>${escapeHtml(tag)}</h2>${prose(tagText.get(tag))}${ops.map(([path, method, op]) => operationHtml(document, path, method, op)).join("")}</section>`,
    )
    .join("");
  const schemas = Object.entries(document.components.schemas)
    .map(
      ([name, schema]) =>
        `<article id="${anchor("schema", name)}"><h3>${escapeHtml(name)}</h3>${prose(String(schema.description ?? ""))}${schema.enum === undefined ? schemaBody(schema) : ""}</article>`,
    )
    .join("");
  const schemes = Object.entries(document.components.securitySchemes)
    .map(
      ([name, scheme]) =>
        `<li><code>${escapeHtml(name)}</code>: ${prose(String(scheme.description))}</li>`,
    )
    .join("");
  const title = escapeHtml(String(document.info.title));
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title} API reference</title><style>${css}</style></head><body><header><h1>${title} API reference</h1>${prose(String(document.info.description))}<p>The OpenAPI 3.1 document: <a href="openapi.json">openapi.json</a>.</p></header><nav><h2>Contents</h2><ul>${toc}<li><a href="#credentials">Credentials</a></li><li><a href="#schemas">Schemas</a></li></ul></nav><main>${sections}<section id="credentials"><h2>Credentials</h2><ul>${schemes}</ul></section><section id="schemas"><h2>Schemas</h2>${schemas}</section></main></body></html>`;
}
