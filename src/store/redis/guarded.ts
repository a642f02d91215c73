import { StoreUnavailableError } from "../../domain/errors.js";
import { withinRequestDeadline } from "../../domain/request-deadline.js";

/**
 * A Redis call as the store makes it: within the request's store deadline, and any failure
 * turned into the store's one typed, retryable error.
 */
export async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await withinRequestDeadline(operation);
  } catch (error) {
    throw error instanceof StoreUnavailableError
      ? error
      : new StoreUnavailableError({ cause: error });
  }
}
