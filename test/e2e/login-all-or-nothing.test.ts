import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../src/domain/errors.js";
import type { Store } from "../../src/domain/ports.js";
import { createTestUser, startKeycard, type TestKeycard } from "../helpers/keycard.js";
import { restClient } from "../helpers/rest.js";

describe("a login that answers an error", () => {
  let failNextTrim = false;
  let keycard: TestKeycard;

  beforeAll(async () => {
    const failingTrim = (store: Store): Store => ({
      ...store,
      sessions: Object.assign(Object.create(store.sessions) as Store["sessions"], {
        trim: (...args: Parameters<Store["sessions"]["trim"]>) => {
          if (failNextTrim) {
            failNextTrim = false;
            return Promise.reject(new StoreUnavailableError());
          }
          return store.sessions.trim(...args);
        },
      }),
    });
    keycard = await startKeycard({ hookStore: failingTrim });
  });
  afterAll(() => keycard.close());

  it("leaves no session behind when a store call after the session's creation fails", async () => {
    const user = await createTestUser(keycard);
    const rest = restClient(keycard.baseUrl);
    failNextTrim = true;
    const failed = await rest.post("/auth/login", { email: user.email, password: user.password });
    expect(failed.status).toBe(503);
    expect(await keycard.store.sessions.list(user.id, Date.now())).toEqual([]);
    const retried = await rest.post("/auth/login", { email: user.email, password: user.password });
    expect(retried.status).toBe(200);
    expect(await keycard.store.sessions.list(user.id, Date.now())).toHaveLength(1);
  });
});
