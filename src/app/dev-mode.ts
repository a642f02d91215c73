import { randomBytes } from "node:crypto";
import type { UserService } from "../service/user-service.js";
import { devRateLimits, productionRateLimits } from "./config/config.js";

/** The demo account dev mode creates, with a password generated at each start. */
export interface DemoAccount {
  readonly email: string;
  readonly password: string;
}

/** A fresh random secret suitable as an admin token or demo password. */
export function randomSecret(): string {
  return randomBytes(24).toString("base64url");
}

/** Creates the dev-mode demo user on the embedded store. */
export async function createDemoAccount(users: UserService): Promise<DemoAccount> {
  const account = { email: "demo@keycard.dev", password: randomSecret() };
  await users.create({ ...account, displayName: "Demo User", roles: ["user"] });
  return account;
}

/** The banner printed in dev mode, with ready-to-paste shell variables. */
export function devBanner(
  port: number,
  secrets: {
    readonly adminToken: string;
    readonly encryptionKey: Buffer;
    readonly introspectionSecret?: string | undefined;
  },
  demo: DemoAccount,
): string {
  const { adminToken, encryptionKey, introspectionSecret } = secrets;
  return [
    "",
    "  keycard is running in DEV MODE: embedded in-memory store, nothing is persisted,",
    "  nothing is shared between replicas. Set REDIS_URL for anything real.",
    `  Rate limits are relaxed for trying things out: ${devRateLimits[0]} logins and ${devRateLimits[1]} other`,
    `  calls a minute per address (LOGIN_RATE_LIMIT, AUTH_RATE_LIMIT; production: ${productionRateLimits[0]} and ${productionRateLimits[1]}),`,
    "  and cookies work over plain http://localhost (COOKIE_SECURE=false).",
    "",
    "  Paste these into your shell to follow the README walk-through:",
    "",
    `    export KEYCARD_URL=http://localhost:${port}`,
    `    export KEYCARD_ADMIN_TOKEN=${adminToken}`,
    `    export KEYCARD_ENCRYPTION_KEY=${encryptionKey.toString("base64")}`,
    `    export DEMO_EMAIL=${demo.email}`,
    `    export DEMO_PASSWORD=${demo.password}`,
    ...(introspectionSecret === undefined
      ? []
      : [`    export INTROSPECTION_SECRET=${introspectionSecret}`]),
    "",
    `  Or sign in with the demo user in a browser: http://localhost:${port}/ui/`,
    "",
  ].join("\n");
}
