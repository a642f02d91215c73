import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { FastHistogram } from "../../src/transport/fast-histogram.js";

describe("FastHistogram", () => {
  it("exports cumulative buckets, sum and count per label set in the Prometheus text format", async () => {
    const registry = new Registry();
    const histogram = new FastHistogram("test_seconds", "A test histogram.", [0.1, 1], registry);
    const ok = histogram.series({ code: "OK" });
    ok.observe(0.05);
    ok.observe(0.5);
    ok.observe(5);
    histogram.series({ code: "NotFound" }).observe(0.2);
    const text = await registry.metrics();
    expect(text).toContain("# TYPE test_seconds histogram");
    expect(text).toContain('test_seconds_bucket{code="OK",le="0.1"} 1');
    expect(text).toContain('test_seconds_bucket{code="OK",le="1"} 2');
    expect(text).toContain('test_seconds_bucket{code="OK",le="+Inf"} 3');
    expect(text).toContain('test_seconds_sum{code="OK"} 5.55');
    expect(text).toContain('test_seconds_count{code="OK"} 3');
    expect(text).toContain('test_seconds_bucket{code="NotFound",le="1"} 1');
  });

  it("hands back the same series for the same labels", () => {
    const histogram = new FastHistogram("same_seconds", "Same.", [1], new Registry());
    expect(histogram.series({ a: "1" })).toBe(histogram.series({ a: "1" }));
  });
});
