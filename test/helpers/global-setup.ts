import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { buildUi } from "../../scripts/build-ui.js";
import { startRedisServer } from "./redis-server.js";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
    /** Where this run built the sign-in portal (scripts/build-ui.ts), for keycards that serve it. */
    portalDir: string;
  }
}

/**
 * Starts the run's own redis-server on a free port and builds the sign-in portal into a
 * folder of the run's own (never the checkout's dist/); both go away at the end.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [redis, portalDir] = await Promise.all([
    startRedisServer(),
    mkdtemp(join(tmpdir(), "keycard-portal-")),
  ]);
  await buildUi(portalDir);
  project.provide("redisUrl", redis.url);
  project.provide("portalDir", portalDir);
  return async () => {
    await redis.stop();
    await rm(portalDir, { recursive: true, force: true });
  };
}
