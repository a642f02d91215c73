/**
 * The floor for Validate: a bare node:http / node:http2 server that does the same Redis
 * lookups as keycard (GET pointer, HGETALL session) and answers JSON, with nothing else.
 * Usage: node --import tsx bench/servers/floor.ts <h1|h2> <port> <redisUrl> <namespace>
 */
import http from "node:http";
import http2 from "node:http2";
import { Redis } from "ioredis";
import { hashToken } from "../../src/domain/token.js";
import { redisKeys } from "../../src/store/redis/keys.js";

const [mode, port, redisUrl, namespace] = process.argv.slice(2);
const redis = new Redis(redisUrl ?? "", { replyMapping: "legacy" });
const keys = redisKeys(namespace ?? "keycard");

async function validate(body: string): Promise<string> {
  const { token } = JSON.parse(body) as { token: string };
  const pointer = await redis.get(keys.pointer(hashToken(token)));
  const [userId = "", sessionId = ""] = pointer?.split(" ") ?? [];
  const session = await redis.hgetall(keys.session(userId, sessionId));
  return JSON.stringify({
    active: session.tk !== undefined,
    subject: session.uid,
    sessionId: session.sid,
  });
}

const handler = (
  request: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
): void => {
  let body = "";
  request.on("data", (chunk: Buffer) => {
    body += chunk.toString();
  });
  request.on("end", () => {
    validate(body).then((json) => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(json);
    });
  });
};

const server = mode === "h2" ? http2.createServer(handler) : http.createServer(handler);
server.listen(Number(port), "127.0.0.1", () => process.stdout.write("ready\n"));
