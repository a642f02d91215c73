import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/app/config/config.js";
import { problemsOf } from "../helpers/config.js";

describe("OpenTelemetry's OTEL_* settings", () => {
  it("leave tracing off without an OTLP endpoint, whatever else is set", () => {
    expect(loadConfig({}).tracing).toBeUndefined();
    expect(
      loadConfig({ OTEL_SERVICE_NAME: "auth", OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" }).tracing,
    ).toBeUndefined();
  });

  it("export to the shared endpoint's /v1/traces in protobuf as service keycard by default", () => {
    for (const endpoint of ["http://collector:4318", "http://collector:4318/"]) {
      expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }).tracing).toEqual({
        url: "http://collector:4318/v1/traces",
        protocol: "http/protobuf",
        serviceName: "keycard",
      });
    }
  });

  it("take the traces endpoint as it is, over the shared one, and the traces protocol first", () => {
    const config = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://ignored:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://otlp.example.com/api/traces",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
      OTEL_SERVICE_NAME: "auth-eu",
    });
    expect(config.tracing).toEqual({
      url: "https://otlp.example.com/api/traces",
      protocol: "http/json",
      serviceName: "auth-eu",
    });
  });

  it("are off with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none", () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    expect(loadConfig({ ...endpoint, OTEL_SDK_DISABLED: "TRUE" }).tracing).toBeUndefined();
    expect(loadConfig({ ...endpoint, OTEL_TRACES_EXPORTER: "none" }).tracing).toBeUndefined();
  });

  it("refuse gRPC, which keycard does not export over, saying what to use", () => {
    expect(
      problemsOf({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4317",
        OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
      }),
    ).toEqual([
      expect.stringContaining(
        'OTEL_EXPORTER_OTLP_PROTOCOL="grpc" must be http/protobuf or http/json',
      ),
    ]);
  });

  it("refuse an endpoint that is not an http(s) URL without quoting it", () => {
    const bad = "collector.internal:4318?token=s3cret";
    const problems = problemsOf({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: bad });
    expect(problems).toEqual([
      expect.stringContaining(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http:// or https:// URL",
      ),
    ]);
    expect(problems[0]).not.toContain("s3cret");
  });

  it("refuse exporters and switches they do not know", () => {
    expect(problemsOf({ OTEL_TRACES_EXPORTER: "zipkin", OTEL_SDK_DISABLED: "yes" })).toEqual([
      'OTEL_SDK_DISABLED="yes" must be true or false',
      'OTEL_TRACES_EXPORTER="zipkin" must be otlp or none',
    ]);
  });
});
