import { KeycardError } from "../../domain/errors.js";

/**
 * Runs at most `concurrency` tasks at once and queues up to `maxWaiting` more in arrival
 * order; beyond that a task is refused at once with RATE_LIMITED (retry after a second)
 * instead of piling up.
 */
export class WorkGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly maxWaiting: number,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.enter();
    try {
      return await task();
    } finally {
      this.leave();
    }
  }

  private enter(): Promise<void> {
    if (this.running < this.concurrency) {
      this.running += 1;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.maxWaiting) {
      return Promise.reject(
        new KeycardError(
          "RATE_LIMITED",
          "Too many logins in progress; try again shortly",
          undefined,
          1,
        ),
      );
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private leave(): void {
    const next = this.waiting.shift();
    if (next === undefined) {
      this.running -= 1;
    } else {
      next();
    }
  }
}
