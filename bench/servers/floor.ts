/**
 * The floor for Validate, "the one-GET node:http + ioredis floor": a bare
 * node:http (h1) or node:http2 (h2) server that reads `{"token": "..."}` from the body, does
 * exactly one Redis read per request (an HGET of the session record that keycard's store
 * reads first) and answers a small JSON body: 200 with the user id when the record exists,
 * 401 otherwise.
 * ioredis runs with auto-pipelining, as keycard's store does, so that the comparison is not
 * about a client option. Usage:
 *   node --import tsx bench/servers/floor.ts <h1|h2> <port> <redisUrl> <namespace>
 */
import http from "node:http";
import http2 from "node:http2";
import { Redis } from "ioredis";
import { hashToken, sessionIdLength } from "../../src/domain/token.js";
import { redisKeys } from "../../src/store/redis/keys.js";

const [mode, port, redisUrl, namespace] = process.argv.slice(2);
const redis = new Redis(redisUrl ?? "", { enableAutoPipelining: true });
const keys = redisKeys(namespace ?? "keycard");

/** Status and JSON body for one request body: the one read, nothing else. */
async function validate(body: string): Promise<[number, string]> {
  const { token } = JSON.parse(body) as { token?: unknown };
  if (typeof token !== "string") {
    return [400, '{"active":false}'];
  }
  const sessionId = hashToken(token).slice(0, sessionIdLength);
  const userId = await redis.hget(keys.record(sessionId), "u");
  if (userId === null) {
    return [401, '{"active":false}'];
  }
  return [200, JSON.stringify({ active: true, subject: userId, sessionId })];
}

function handler(
  request: http.IncomingMessage | http2.Http2ServerRequest,
  response: http.ServerResponse | http2.Http2ServerResponse,
): void {
  let body = "";
  request.setEncoding("utf8");
  request.on("data", (chunk: string) => {
    body += chunk;
  });
  request.on("end", () => {
    validate(body).then(
      ([status, json]) => {
        response.writeHead(status, { "content-type": "application/json" });
        response.end(json);
      },
      () => {
        response.writeHead(500);
        response.end();
      },
    );
  });
}

const server = mode === "h2" ? http2.createServer(handler) : http.createServer(handler);
server.listen(Number(port), "127.0.0.1", () => process.stdout.write("ready\n"));
