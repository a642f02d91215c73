/** How far back the share looks, in one-second buckets. */
const windowSeconds = 10;

/** Calls answered and calls that failed for want of the store, over the last 10 s. */
export interface StoreFailures {
  readonly calls: number;
  readonly failed: number;
  readonly windowSeconds: number;
}

/**
 * The share of calls the store could not answer lately: what `/readyz` reports while the
 * store answers some calls and not others (a Cluster with one master down).
 */
export class StoreFailureShare {
  private readonly buckets = Array.from({ length: windowSeconds }, () => ({
    second: -1,
    calls: 0,
    failed: 0,
  }));

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** One finished call; `failed` when it failed with STORE_UNAVAILABLE. */
  record(failed: boolean): void {
    const second = Math.floor(this.now() / 1000);
    const bucket = this.buckets[second % windowSeconds];
    if (bucket === undefined) {
      return;
    }
    if (bucket.second !== second) {
      bucket.second = second;
      bucket.calls = 0;
      bucket.failed = 0;
    }
    bucket.calls += 1;
    bucket.failed += failed ? 1 : 0;
  }

  /** The calls and failures of the last 10 s. */
  read(): StoreFailures {
    const oldest = Math.floor(this.now() / 1000) - windowSeconds;
    let calls = 0;
    let failed = 0;
    for (const bucket of this.buckets) {
      if (bucket.second > oldest) {
        calls += bucket.calls;
        failed += bucket.failed;
      }
    }
    return { calls, failed, windowSeconds };
  }
}
