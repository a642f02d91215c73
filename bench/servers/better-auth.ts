/**
 * The better-auth peer: email and password sign-in, sessions in Redis through
 * `secondaryStorage` (a node-redis client implementing better-auth's storage contract, as
 * its database docs show), the in-memory adapter as primary database (users and accounts
 * only; with secondary storage, sessions are not written to the database by default), and
 * the handler served by `toNodeHandler(auth)` on node:http. `GET /api/auth/get-session`
 * with the session cookie is the measured lookup.
 * Usage: node --import tsx bench/servers/better-auth.ts <port> <redisUrl>
 */
import http from "node:http";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { toNodeHandler } from "better-auth/node";
import { createClient } from "redis";

const [port = "0", redisUrl = "redis://127.0.0.1:6379"] = process.argv.slice(2);
const redis = createClient({ url: redisUrl });
await redis.connect();

const auth = betterAuth({
  baseURL: `http://127.0.0.1:${port}`,
  secret: "bench-better-auth-secret-0123456789abcdef",
  database: memoryAdapter({ user: [], session: [], account: [], verification: [] }),
  emailAndPassword: { enabled: true },
  secondaryStorage: {
    get: (key) => redis.get(key),
    getAndDelete: (key) => redis.getDel(key),
    set: async (key, value, ttl) => {
      if (ttl !== undefined && ttl > 0) {
        await redis.set(key, value, { EX: ttl });
      } else {
        await redis.set(key, value);
      }
    },
    delete: async (key) => {
      await redis.del(key);
    },
    increment: async (key, ttl) => {
      const [, count] = await redis.multi().set(key, "0", { EX: ttl, NX: true }).incr(key).exec();
      return Number(count);
    },
  },
});

http
  .createServer(toNodeHandler(auth))
  .listen(Number(port), "127.0.0.1", () => process.stdout.write("ready\n"));
