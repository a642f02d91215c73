import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** One export request the receiver got, as sent. */
export interface Export {
  readonly path: string;
  readonly contentType: string;
  readonly body: Buffer;
}

/** An attribute value of OTLP/JSON: one of its typed fields. */
interface AnyValue {
  readonly stringValue?: string;
  readonly intValue?: number | string;
  readonly boolValue?: boolean;
  readonly doubleValue?: number;
}

interface KeyValue {
  readonly key: string;
  readonly value: AnyValue;
}

interface JsonSpan {
  readonly name: string;
  readonly kind: number;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly attributes?: readonly KeyValue[];
  readonly status?: { readonly code?: number };
}

interface JsonExport {
  readonly resourceSpans: readonly {
    readonly resource?: { readonly attributes?: readonly KeyValue[] };
    readonly scopeSpans: readonly { readonly spans?: readonly JsonSpan[] }[];
  }[];
}

/** A span as a test reads it: attributes flattened to plain values. */
export interface ReceivedSpan {
  readonly name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client. */
  readonly kind: number;
  readonly traceId: string;
  readonly spanId: string;
  /** Empty for a root span. */
  readonly parentSpanId: string;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  readonly resource: Readonly<Record<string, string | number | boolean>>;
  /** OTLP's StatusCode: 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
}

/** OTLP span kinds. */
export const spanKind = { internal: 1, server: 2, client: 3 } as const;

function plain(value: AnyValue): string | number | boolean {
  if (value.intValue !== undefined) {
    return Number(value.intValue);
  }
  return value.stringValue ?? value.boolValue ?? value.doubleValue ?? "";
}

function flatten(pairs: readonly KeyValue[] = []): Record<string, string | number | boolean> {
  return Object.fromEntries(pairs.map(({ key, value }) => [key, plain(value)]));
}

/**
 * An OpenTelemetry collector's OTLP/HTTP receiver in miniature: accepts `POST /v1/traces`
 * on an ephemeral port, keeps every export as sent, and reads the OTLP/JSON ones into spans.
 */
export class OtlpReceiver {
  readonly exports: Export[] = [];
  private readonly server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      this.exports.push({
        path: request.url ?? "",
        contentType: request.headers["content-type"] ?? "",
        body: Buffer.concat(chunks),
      });
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });

  /** Listens on 127.0.0.1, an ephemeral port; answers the base URL (OTEL_EXPORTER_OTLP_ENDPOINT). */
  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Every span of every OTLP/JSON export so far. */
  spans(): ReceivedSpan[] {
    return this.exports
      .filter((sent) => sent.contentType.startsWith("application/json"))
      .flatMap((sent) => (JSON.parse(sent.body.toString("utf8")) as JsonExport).resourceSpans)
      .flatMap((resourceSpans) => {
        const resource = flatten(resourceSpans.resource?.attributes);
        return resourceSpans.scopeSpans.flatMap((scope) =>
          (scope.spans ?? []).map((span) => ({
            name: span.name,
            kind: span.kind,
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId ?? "",
            attributes: flatten(span.attributes),
            resource,
            statusCode: span.status?.code ?? 0,
          })),
        );
      });
  }

  /** Waits up to 10 s for a span `matches`; throws with the names of the spans seen if none comes. */
  async span(matches: (span: ReceivedSpan) => boolean): Promise<ReceivedSpan> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const found = this.spans().find(matches);
      if (found !== undefined) {
        return found;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const seen = this.spans().map((span) => span.name);
    throw new Error(`no such span; received: ${seen.join(", ") || "none"}`);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
