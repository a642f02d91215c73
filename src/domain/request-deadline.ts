import { AsyncLocalStorage } from "node:async_hooks";
import { StoreUnavailableError } from "./errors.js";

/**
 * One request's store budget: what is left of it, and while calls are in flight, since when
 * (time spent waiting on the store counts; time spent hashing a password does not).
 */
interface StoreBudget {
  left: number;
  inFlight: number;
  since: number;
}

const budgets = new AsyncLocalStorage<StoreBudget>();

/**
 * Runs one request's handling with one budget for the time it spends waiting on its store
 * calls (STORE_DEADLINE): a Redis that stops answering fails the request with 503 within
 * about that bound, however many store calls it makes one after another, while a request
 * that waits for a password hash under load is not failed for it.
 */
export function withRequestDeadline<T>(budgetMs: number, run: () => T): T {
  return budgets.run({ left: budgetMs, inFlight: 0, since: 0 }, run);
}

/** Runs `run` outside any request budget (a long-lived stream's periodic store calls). */
export function withoutRequestDeadline<T>(run: () => T): T {
  return budgets.exit(run);
}

/**
 * A store call within the current request's budget: refused at once when it is spent,
 * failed when it runs out while the call is in flight (the call itself may still finish;
 * its answer is dropped). Outside a request it runs unbounded here (each Redis command
 * still has its own REDIS_COMMAND_TIMEOUT).
 */
export function withinRequestDeadline<T>(operation: () => Promise<T>): Promise<T> {
  const budget = budgets.getStore();
  if (budget === undefined) {
    return operation();
  }
  const now = performance.now();
  const left = budget.left - (budget.inFlight > 0 ? now - budget.since : 0);
  if (left <= 0) {
    return Promise.reject(pastDeadline());
  }
  if (budget.inFlight === 0) {
    budget.since = now;
  }
  budget.inFlight += 1;
  const settle = (): void => {
    budget.inFlight -= 1;
    if (budget.inFlight === 0) {
      budget.left -= performance.now() - budget.since;
    }
  };
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(pastDeadline()), left);
    operation().then(
      (value) => {
        clearTimeout(timer);
        settle();
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        settle();
        reject(error);
      },
    );
  });
}

function pastDeadline(): StoreUnavailableError {
  return new StoreUnavailableError({
    cause: new Error("the request's store deadline passed"),
  });
}
