import type { Command } from "../command.js";

/** `keycard serve`: the server itself, configured by the same environment as `npm start`. */
export const serveCommand: Command = {
  name: "serve",
  summary: "Run the keycard server (configured by environment variables)",
  description:
    "Run the keycard server in this process, exactly as `npm start` does. Settings come\nfrom environment variables (see the README); the options below override the matching\nvariable. Without REDIS_URL it refuses to start, unless KEYCARD_DEV=1 asks for dev mode\n(an embedded in-memory store, generated secrets and a demo user).",
  arguments: [],
  options: {
    port: { type: "string", value: "<port>", help: "port to listen on (env PORT, default 8080)" },
    host: { type: "string", value: "<address>", help: "address to listen on (env HOST)" },
    bootstrap: {
      type: "string",
      value: "<file>",
      help: "JSON or YAML file of users and API keys to apply at start (env KEYCARD_BOOTSTRAP)",
    },
  },
  admin: false,
  examples: [
    "KEYCARD_DEV=1 keycard serve",
    "REDIS_URL=redis://localhost:6379 keycard serve --port 9000 --bootstrap users.yaml",
  ],
  async run({ args, io }) {
    const overrides = {
      PORT: args.string("port"),
      HOST: args.string("host"),
      KEYCARD_BOOTSTRAP: args.string("bootstrap"),
    };
    const env = { ...io.env };
    for (const [name, value] of Object.entries(overrides)) {
      if (value !== undefined) {
        env[name] = value;
      }
    }
    // Loaded on demand: the other commands should not pay for argon2, ioredis and pino.
    const { runServer } = await import("../../app/server-main.js");
    await runServer(env);
  },
};
