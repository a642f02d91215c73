import type { Registry } from "prom-client";

/** One label set of a histogram: bucket counts, sum and count. */
export class HistogramSeries {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length).fill(0);
  }

  /** Counts one value (seconds). */
  observe(value: number): void {
    const index = this.bounds.findIndex((bound) => value <= bound);
    if (index !== -1) {
      this.counts[index] = (this.counts[index] ?? 0) + 1;
    }
    this.sum += value;
    this.count += 1;
  }

  /** The exposition values: cumulative buckets (`le`), then `_sum` and `_count`. */
  values(
    name: string,
  ): { labels: Record<string, string | number>; value: number; metricName: string }[] {
    let cumulative = 0;
    const buckets = this.bounds.map((bound, index) => {
      cumulative += this.counts[index] ?? 0;
      return {
        labels: { ...this.labels, le: bound },
        value: cumulative,
        metricName: `${name}_bucket`,
      };
    });
    return [
      ...buckets,
      { labels: { ...this.labels, le: "+Inf" }, value: this.count, metricName: `${name}_bucket` },
      { labels: { ...this.labels }, value: this.sum, metricName: `${name}_sum` },
      { labels: { ...this.labels }, value: this.count, metricName: `${name}_count` },
    ];
  }
}

/**
 * A Prometheus histogram for the hot path, exported by a prom-client Registry in the same
 * text format as prom-client's own. Observing is a bucket search and two additions on a
 * series the caller keeps: prom-client's Histogram validates and hashes its labels on every
 * observation, which cost about 15 µs of a 75 µs Validate (measured by removing it).
 */
export class FastHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly all = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  /** The series of a label set, created on first use; keep it to observe without a look-up. */
  series(labels: Readonly<Record<string, string>> = {}): HistogramSeries {
    const key = JSON.stringify(labels);
    let found = this.all.get(key);
    if (found === undefined) {
      found = new HistogramSeries(labels, this.bounds);
      this.all.set(key, found);
    }
    return found;
  }

  /** What prom-client's registry exports. */
  get(): object {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [...this.all.values()].flatMap((series) => series.values(this.name)),
    };
  }

  /** Forgets every series (Registry.resetMetrics). */
  reset(): void {
    this.all.clear();
  }
}
