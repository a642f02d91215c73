import { ConnectError } from "@connectrpc/connect";

/** The ConnectError a call that must fail rejected with; fails the test if it succeeded. */
export async function failureOf(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("the call succeeded but was expected to fail");
}
