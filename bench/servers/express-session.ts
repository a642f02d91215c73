/**
 * The express-session + connect-redis peer, set up as connect-redis's README recommends: a
 * node-redis client, `new RedisStore({ client, prefix })`, `resave: false`,
 * `saveUninitialized: false`. `POST /login` puts a user in the session; `GET /me` resolves the
 * cookie session and answers that user (what keycard's Validate does for a token).
 * Usage: node --import tsx bench/servers/express-session.ts <port> <redisUrl>
 */
import { RedisStore } from "connect-redis";
import express from "express";
import session from "express-session";
import { createClient } from "redis";

declare module "express-session" {
  interface SessionData {
    user: { id: string; email: string; displayName: string; roles: string[] };
  }
}

const [port = "0", redisUrl = "redis://127.0.0.1:6379"] = process.argv.slice(2);
const redisClient = createClient({ url: redisUrl });
await redisClient.connect();

const app = express();
app.use(
  session({
    store: new RedisStore({ client: redisClient, prefix: "myapp:" }),
    resave: false,
    saveUninitialized: false,
    secret: "bench-express-session-secret-0123456789",
    cookie: { maxAge: 12 * 3_600_000 },
  }),
);
app.post("/login", (req, res) => {
  req.session.user = {
    id: "u-bench",
    email: "bench@example.com",
    displayName: "Bench",
    roles: ["user"],
  };
  res.json({ ok: true });
});
app.get("/me", (req, res) => {
  if (req.session.user === undefined) {
    res.status(401).json({ active: false });
    return;
  }
  res.json({ active: true, user: req.session.user });
});
app.listen(Number(port), "127.0.0.1", () => process.stdout.write("ready\n"));
