import { type Tracer, trace } from "@opentelemetry/api";
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from "@opentelemetry/core";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { NodeSDK } from "@opentelemetry/sdk-node";
import type { TracingSettings } from "./config/tracing-settings.js";

/** The running OpenTelemetry SDK: the tracer keycard's spans come from, and its end. */
export interface Tracing {
  readonly tracer: Tracer;
  /** Exports the spans still batched and stops; resolves when done or given up. */
  shutdown(): Promise<void>;
}

/**
 * Starts @opentelemetry/sdk-node for traces only: spans go in batches (OTEL_BSP_*) to the
 * OTLP/HTTP endpoint, `traceparent`/`tracestate` and `baggage` are read the W3C way, and
 * context follows each request through AsyncLocalStorage. No instrumentation is
 * registered: keycard makes its spans itself, one per call and one per store call, so
 * that the hot path pays for nothing it does not report. Metrics stay on `/metrics` and
 * logs on stdout, so neither is exported here. Header, timeout, compression and sampler
 * settings are read from the environment by the SDK.
 */
export function startTracing(settings: TracingSettings): Tracing {
  const url = settings.url;
  const sdk = new NodeSDK({
    serviceName: settings.serviceName,
    traceExporter:
      settings.protocol === "http/json" ? new JsonExporter({ url }) : new ProtobufExporter({ url }),
    textMapPropagator: new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return { tracer: trace.getTracer("keycard"), shutdown: () => sdk.shutdown() };
}
