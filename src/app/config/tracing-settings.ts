import type { EnvReader } from "./env-reader.js";

/** The OTLP encodings keycard exports traces in: both over HTTP. */
export type OtlpProtocol = "http/protobuf" | "http/json";

/** Where and how keycard exports its traces; present only when tracing is on. */
export interface TracingSettings {
  /** The collector's traces URL (`…/v1/traces`). */
  readonly url: string;
  readonly protocol: OtlpProtocol;
  /** OTEL_SERVICE_NAME: the `service.name` of every span. */
  readonly serviceName: string;
}

const protocols: readonly string[] = ["http/protobuf", "http/json"];

/** Whether text is an http(s) URL (the OTLP/HTTP exporter speaks nothing else). */
function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) {
    return false;
  }
  const { protocol } = new URL(text);
  return protocol === "http:" || protocol === "https:";
}

/**
 * The traces URL the OpenTelemetry specification derives: the signal's own endpoint as
 * given, else the shared endpoint with `v1/traces` appended.
 */
function tracesUrl(read: EnvReader): { name: string; url: string } | undefined {
  const own = read.optional("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  if (own !== undefined) {
    return { name: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url: own };
  }
  const shared = read.optional("OTEL_EXPORTER_OTLP_ENDPOINT");
  if (shared === undefined) {
    return undefined;
  }
  return {
    name: "OTEL_EXPORTER_OTLP_ENDPOINT",
    url: `${shared.endsWith("/") ? shared : `${shared}/`}v1/traces`,
  };
}

function readProtocol(read: EnvReader): OtlpProtocol {
  const name =
    read.optional("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") === undefined
      ? "OTEL_EXPORTER_OTLP_PROTOCOL"
      : "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
  const protocol = read.text(name, "http/protobuf");
  read.check(
    protocols.includes(protocol),
    `${name}="${protocol}" must be http/protobuf or http/json: keycard exports traces over OTLP/HTTP (a collector's port 4318), not gRPC`,
  );
  return protocol === "http/json" ? "http/json" : "http/protobuf";
}

/** OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none turn tracing off, as the SDKs agree. */
function turnedOff(read: EnvReader): boolean {
  const disabled = read.text("OTEL_SDK_DISABLED", "false").toLowerCase();
  read.check(
    disabled === "true" || disabled === "false",
    `OTEL_SDK_DISABLED="${disabled}" must be true or false`,
  );
  const exporter = read.text("OTEL_TRACES_EXPORTER", "otlp");
  read.check(
    exporter === "otlp" || exporter === "none",
    `OTEL_TRACES_EXPORTER="${exporter}" must be otlp or none`,
  );
  return disabled === "true" || exporter === "none";
}

/**
 * OpenTelemetry tracing: off unless OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
 * OTEL_EXPORTER_OTLP_ENDPOINT is set. Problems never quote an endpoint: a URL may carry a
 * credential. The other OTEL_* variables (headers, timeout, sampler, batch sizes) are the
 * SDK's to read.
 */
export function readTracingSettings(read: EnvReader): { readonly tracing?: TracingSettings } {
  const off = turnedOff(read);
  const protocol = readProtocol(read);
  const serviceName = read.text("OTEL_SERVICE_NAME", "keycard");
  const endpoint = tracesUrl(read);
  if (endpoint === undefined || off) {
    return {};
  }
  if (!isHttpUrl(endpoint.url)) {
    read.problems.push(
      `${endpoint.name} must be an http:// or https:// URL, such as http://localhost:4318`,
    );
    return {};
  }
  return { tracing: { url: endpoint.url, protocol, serviceName } };
}
