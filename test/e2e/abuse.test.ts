import http from "node:http";
import http2 from "node:http2";
import type { DescMessage } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enabledProfiles, knownProfiles } from "../../src/transport/http/profiles/index.js";
import { restRoutes } from "../../src/transport/http/rest-routes.js";
import { services } from "../../src/transport/routes.js";
import { createTestUser, loginRest, startKeycard, type TestKeycard } from "../helpers/keycard.js";

/*
 * Bad input and abuse (issue 6): a deterministic storm of malformed requests at every REST
 * path, profile path, probe, /metrics, /oauth2/introspect, /auth/verify and every Connect
 * RPC (JSON and binary, HTTP/1.1 and h2c). Every answer must be < 500, JSON (or empty) where
 * the route promises JSON, and free of stack frames; afterwards a real user still logs in,
 * memory is stable across a second identical storm, and nothing rejected unhandled.
 */

const seed = Number(process.env.KEYCARD_ABUSE_SEED ?? 0x6b657963);
const maxBody = 65_536;
const casesPerStorm = 700;
const h2CasesPerStorm = 60;
const concurrency = 16;

/** mulberry32: a tiny seeded PRNG, so every run sends the same requests. */
function prng(start: number) {
  let state = start >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const bytes = (n: number): Buffer => {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i += 1) {
      out[i] = int(256);
    }
    return out;
  };
  const ascii = (
    n: number,
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
  ): string => {
    let out = "";
    for (let i = 0; i < n; i += 1) {
      out += alphabet[int(alphabet.length)];
    }
    return out;
  };
  return { next, int, pick, bytes, ascii };
}
type Rng = ReturnType<typeof prng>;

interface Target {
  readonly method: string;
  readonly path: string;
  /** The request message, for wrong-type fields. */
  readonly input?: DescMessage;
  readonly kind: "rest" | "profile" | "plain" | "connect";
  /** Path variables to fill with garbage. */
  readonly template?: string;
}

const restTargets: Target[] = restRoutes(services).map((route) => ({
  method: route.httpMethod,
  path: route.template,
  template: route.template,
  input: route.method.input,
  kind: "rest",
}));
const profileTargets: Target[] = enabledProfiles(knownProfiles).flatMap((profile) =>
  profile.routes.map((route) => ({
    method: route.method,
    path: route.path,
    kind: "profile" as const,
  })),
);
const plainTargets: Target[] = [
  { method: "GET", path: "/health", kind: "plain" },
  { method: "GET", path: "/healthz", kind: "plain" },
  { method: "GET", path: "/readyz", kind: "plain" },
  { method: "GET", path: "/metrics", kind: "plain" },
  { method: "POST", path: "/oauth2/introspect", kind: "plain" },
  { method: "GET", path: "/auth/verify", kind: "plain" },
];
const connectTargets: Target[] = services.flatMap((service) =>
  service.methods.map((method) => ({
    method: "POST",
    path: `/${service.typeName}/${method.name}`,
    input: method.input,
    kind: "connect" as const,
  })),
);
const targets = [...restTargets, ...profileTargets, ...plainTargets, ...connectTargets];

const wrongLiterals = [
  "1e999",
  "-0",
  "true",
  "null",
  "[]",
  "{}",
  '"\\ud800"',
  '"\\u0000"',
  "18446744073709551616",
  "-9223372036854775809",
  "[[[[]]]]",
  '{"$ref":"#"}',
  '"x"',
  `"${"9".repeat(500)}"`,
  '"2026-13-45T99:99:99Z"',
  '"NaN"',
  '"-Infinity"',
  "0.5",
  '{"__proto__":{"admin":true}}',
];

const badSegments = [
  "%",
  "%ZZ",
  "%E0%A4%A",
  "%00",
  "..",
  "%2F%2F",
  "a".repeat(5000),
  "%C0%AF",
  "%FF%FE",
];

function fillPath(rng: Rng, template: string): string {
  return template.replace(/\{[a-z0-9_]+\}/g, () =>
    rng.next() < 0.5
      ? rng.pick(badSegments)
      : encodeURIComponent(rng.ascii(1 + rng.int(40), "\x01 ~!@#$%^&*()ÿé中/?")),
  );
}

function randomToken(rng: Rng): string {
  switch (rng.int(9)) {
    case 0:
      return `kc_sess_${rng.ascii(43)}`;
    case 1:
      return `kc_sess_${rng.ascii(rng.int(80))}`;
    case 2:
      return `kc_api_${rng.ascii(rng.int(60))}`;
    case 3:
      return rng.ascii(6000 + rng.int(6000));
    case 4:
      return "";
    case 5:
      return `${rng.ascii(10)}.${rng.ascii(30)}.${rng.ascii(20)}`;
    case 6:
      return rng.ascii(rng.int(100), "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ ");
    case 7:
      return "kc_sess_";
    default:
      return rng.ascii(rng.int(64));
  }
}

const contentTypes = [
  "application/json",
  "application/proto",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/json; charset=latin1",
  "application/grpc-web+json",
  "application/connect+json",
  "",
];

function randomHeaders(rng: Rng): Record<string, string> {
  const headers: Record<string, string> = {};
  const count = rng.int(5);
  for (let i = 0; i < count; i += 1) {
    switch (rng.int(9)) {
      case 0:
        headers.authorization =
          `${rng.pick(["Bearer ", "bearer ", "Basic ", "Token ", "Bearer  ", ""])}${randomToken(rng)}`.trim();
        break;
      case 1:
        headers["x-session-token"] = randomToken(rng);
        break;
      case 2:
        headers.cookie = `${rng.pick(["auth-token", "session", "admin_session", "kc_session", ""])}=${randomToken(rng)}${rng.pick(["", "; ;;==", "; auth-token=%E0%A4%A"])}`;
        break;
      case 3:
        headers["content-type"] = rng.pick(contentTypes);
        break;
      case 4:
        headers["x-request-id"] = rng.ascii(rng.int(3000), 'abc/\\..%" ');
        break;
      case 5:
        headers["x-forwarded-for"] = rng.pick([
          "::::",
          "999.1.1.1",
          "a, b, c",
          "127.0.0.1".repeat(300),
        ]);
        break;
      case 6:
        headers.origin = rng.pick(["null", "http://evil.example", "http://", rng.ascii(200)]);
        break;
      case 7:
        headers["connect-protocol-version"] = rng.pick(["1", "2", "x", ""]);
        break;
      default:
        headers["connect-timeout-ms"] = rng.pick(["-1", "0", "99999999999999", "abc"]);
    }
  }
  return headers;
}

function truncatedJson(rng: Rng, input?: DescMessage): string {
  const fields = input?.fields ?? [];
  const object: Record<string, unknown> = {};
  for (const field of fields) {
    object[field.jsonName] = rng.ascii(8);
  }
  object.email = "user@example.com";
  object.password = "correct horse battery staple";
  const text = JSON.stringify(object);
  return text.slice(0, rng.int(text.length));
}

function wrongTypes(rng: Rng, input?: DescMessage): string {
  const fields = input?.fields ?? [];
  const names =
    fields.length > 0
      ? fields.map((f) => (rng.next() < 0.5 ? f.name : f.jsonName))
      : ["token", "email", "password"];
  return `{${names.map((name) => `${JSON.stringify(name)}:${rng.pick(wrongLiterals)}`).join(",")}}`;
}

/** A malformed body and a label for it. */
function randomBody(rng: Rng, target: Target): { label: string; body: Buffer } {
  switch (rng.int(11)) {
    case 0:
      return { label: "random bytes", body: rng.bytes(rng.int(2048)) };
    case 1:
      return {
        label: "invalid utf-8",
        body: Buffer.concat([
          Buffer.from('{"email":"'),
          Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80]),
          Buffer.from('","password":"\xff"}', "latin1"),
        ]),
      };
    case 2:
      return { label: "truncated json", body: Buffer.from(truncatedJson(rng, target.input)) };
    case 3: {
      const size = maxBody - 40 + rng.int(30);
      return {
        label: "huge string under limit",
        body: Buffer.from(`{"email":"${"a".repeat(size)}"}`),
      };
    }
    case 4:
      return {
        label: "huge body over limit",
        body: Buffer.from(`{"token":"${"b".repeat(maxBody + 1 + rng.int(4096))}"}`),
      };
    case 5: {
      const depth = rng.pick([10_000, 30_000]);
      const closed = rng.next() < 0.5;
      return {
        label: `nested ${depth}`,
        body: Buffer.from("[".repeat(depth) + (closed ? "]".repeat(depth) : "")),
      };
    }
    case 6: {
      const depth = 10_000;
      return {
        label: "nested objects",
        body: Buffer.from(`${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`),
      };
    }
    case 7:
      return { label: "wrong types", body: Buffer.from(wrongTypes(rng, target.input)) };
    case 8:
      return {
        label: "invalid protobuf",
        body: Buffer.concat([
          Buffer.from([rng.pick([0x0a, 0x12, 0x08, 0xff, 0x7a]), 0xff, 0xff, 0xff, 0xff, 0x0f]),
          rng.bytes(rng.int(64)),
        ]),
      };
    case 9:
      return {
        label: "json scalar",
        body: Buffer.from(rng.pick(["null", "1", '"x"', "[]", "true", "", " ", "\u0000"])),
      };
    default:
      return { label: "empty", body: Buffer.alloc(0) };
  }
}

interface Case {
  readonly target: Target;
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer | undefined;
  readonly label: string;
  /** Send through node:http (latin1 header bytes, GET bodies) instead of fetch. */
  readonly raw: boolean;
}

function buildCase(rng: Rng, target: Target): Case {
  let path = target.template === undefined ? target.path : fillPath(rng, target.template);
  let method = target.method;
  if (rng.next() < 0.05) {
    method = rng.pick(["PUT", "PATCH", "DELETE", "OPTIONS", "GET", "POST"]);
  }
  if (rng.next() < 0.2) {
    const field =
      target.input?.fields[rng.int(Math.max(1, target.input.fields.length))]?.name ?? "token";
    path += `?${field}=${rng.pick(["%ZZ", "%00", "1e999", "x".repeat(2000), "&&&==", "a%E0%A4%A"])}&${field}=2`;
  }
  const { label, body } = randomBody(rng, target);
  const headers = randomHeaders(rng);
  if (target.kind === "connect") {
    headers["content-type"] = rng.next() < 0.5 ? "application/json" : "application/proto";
  } else if (headers["content-type"] === undefined && method !== "GET") {
    headers["content-type"] =
      target.path === "/oauth2/introspect"
        ? "application/x-www-form-urlencoded"
        : "application/json";
  }
  const raw = rng.next() < 0.15;
  if (raw) {
    headers["x-session-token"] = `kc_sess_\xff\xfe${rng.ascii(20)}\x80`;
  }
  const canHaveBody = method !== "GET" || raw;
  return { target, method, url: path, headers, body: canHaveBody ? body : undefined, label, raw };
}

interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

async function sendFetch(baseUrl: string, c: Case): Promise<Answer> {
  const init: RequestInit = { method: c.method, headers: c.headers };
  if (c.body !== undefined && c.method !== "GET") {
    init.body = new Uint8Array(c.body);
  }
  const response = await fetch(`${baseUrl}${c.url}`, init);
  return {
    status: response.status,
    contentType: response.headers.get("content-type") ?? "",
    text: await response.text(),
  };
}

// A fresh connection per raw request: a reused keep-alive socket the server has just closed
// (after a 413, say) would show up as a client-side "socket hang up", not a server fault.
const agent = new http.Agent({ keepAlive: false, maxSockets: concurrency });

function sendRaw(port: number, c: Case): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: "127.0.0.1", port, method: c.method, path: c.url, headers: c.headers, agent },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            contentType: String(response.headers["content-type"] ?? ""),
            text: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(c.body);
  });
}

function sendH2(session: http2.ClientHttp2Session, c: Case): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // endStream: false, or node ends GET and DELETE streams itself and the body write fails.
    const stream = session.request(
      { ":method": c.method, ":path": c.url, ...c.headers },
      { endStream: false },
    );
    let status = 0;
    let contentType = "";
    const chunks: Buffer[] = [];
    stream.on("response", (headers) => {
      status = Number(headers[":status"]);
      contentType = String(headers["content-type"] ?? "");
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () =>
      resolve({ status, contentType, text: Buffer.concat(chunks).toString("utf8") }),
    );
    stream.on("error", reject);
    stream.end(c.body);
  });
}

interface Failure {
  readonly label: string;
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly problem: string;
  readonly text: string;
}

/**
 * Known bug, tolerated by the storm and pinned by its own test below: @connectrpc/connect
 * 2.1.2 (dist/esm/protocol/serialization.js:96) turns a protobuf decoding error of a
 * binary request into Code.Internal, which the Connect protocol answers with HTTP 500.
 */
function isBinaryParseBug(c: Case, answer: Answer): boolean {
  return (
    answer.status === 500 &&
    c.target.kind === "connect" &&
    c.headers["content-type"] === "application/proto" &&
    answer.text.startsWith('{"code":"internal","message":"parse binary: ')
  );
}

function judge(c: Case, answer: Answer): string | undefined {
  if (answer.status >= 500 || answer.status === 0) {
    return `status ${answer.status}`;
  }
  if (answer.text.includes("    at ")) {
    return "stack trace in body";
  }
  const binary = /proto|grpc|openmetrics/.test(answer.contentType);
  const promisesJson = c.target.path !== "/metrics" && !binary;
  if (promisesJson && answer.text !== "") {
    try {
      JSON.parse(answer.text);
    } catch {
      return `body is not JSON (${answer.contentType})`;
    }
  }
  return undefined;
}

async function pool<T>(
  items: readonly T[],
  size: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: size }, async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  });
  await Promise.all(lanes);
}

/** One storm: the same seed gives the same requests. Returns how many were sent and what failed. */
async function storm(
  keycard: TestKeycard,
): Promise<{ sent: number; failures: Failure[]; binaryParse500s: number }> {
  const rng = prng(seed);
  const cases: Case[] = [];
  for (let i = 0; i < casesPerStorm; i += 1) {
    cases.push(buildCase(rng, targets[i % targets.length] as Target));
  }
  const h2Cases: Case[] = [];
  for (let i = 0; i < h2CasesPerStorm; i += 1) {
    const c = buildCase(rng, connectTargets[i % connectTargets.length] as Target);
    // Only header values h2 accepts: drop the latin1 token raw cases add.
    const { "x-session-token": _drop, ...headers } = c.headers;
    h2Cases.push({ ...c, headers: c.raw ? headers : c.headers, raw: false });
  }
  const failures: Failure[] = [];
  let binaryParse500s = 0;
  const record = (c: Case, answer: Answer): void => {
    if (isBinaryParseBug(c, answer)) {
      binaryParse500s += 1;
      return;
    }
    const problem = judge(c, answer);
    if (problem !== undefined) {
      failures.push({
        label: c.label,
        method: c.method,
        url: c.url.slice(0, 120),
        status: answer.status,
        problem,
        text: answer.text.slice(0, 300),
      });
    }
  };
  const fail = (c: Case, error: unknown): void => {
    failures.push({
      label: c.label,
      method: c.method,
      url: c.url.slice(0, 120),
      status: 0,
      problem: `transport error: ${String(error)}`,
      text: "",
    });
  };
  await pool(cases, concurrency, async (c) => {
    try {
      record(c, c.raw ? await sendRaw(keycard.port, c) : await sendFetch(keycard.baseUrl, c));
    } catch (error) {
      fail(c, error);
    }
  });
  const session = http2.connect(keycard.baseUrl);
  session.on("error", () => undefined);
  try {
    await pool(h2Cases, 8, async (c) => {
      try {
        record(c, await sendH2(session, c));
      } catch (error) {
        fail(c, error);
      }
    });
  } finally {
    session.close();
  }
  return { sent: cases.length + h2Cases.length, failures, binaryParse500s };
}

const gc = (globalThis as { gc?: () => void }).gc;

function heapAfterGc(): number {
  gc?.();
  return process.memoryUsage().heapUsed;
}

describe(`abuse storm (seed ${seed})`, () => {
  let keycard: TestKeycard;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown): void => {
    rejections.push(reason);
  };
  let tried = 0;
  let binaryParse500s = 0;

  beforeAll(async () => {
    process.on("unhandledRejection", onRejection);
    keycard = await startKeycard({
      adminPassword: "x".repeat(12),
      introspectionSecret: "s".repeat(24),
    });
  });

  afterAll(async () => {
    process.off("unhandledRejection", onRejection);
    agent.destroy();
    await keycard?.close();
    process.stdout.write(
      `abuse: ${tried} malformed inputs tried (seed ${seed}); ${binaryParse500s} answered 500 by the known binary-parse bug\n`,
    );
  });

  it("covers every REST path, profile path, probe and RPC", () => {
    expect(restTargets.length).toBeGreaterThan(10);
    expect(profileTargets.length).toBe(7);
    expect(connectTargets.length).toBeGreaterThan(10);
  });

  it(`answers ${casesPerStorm + h2CasesPerStorm} malformed requests without a 5xx, twice, with stable memory (seed ${seed})`, async () => {
    const first = await storm(keycard);
    tried += first.sent;
    binaryParse500s += first.binaryParse500s;
    expect(first.failures).toEqual([]);
    const before = heapAfterGc();
    const second = await storm(keycard);
    tried += second.sent;
    binaryParse500s += second.binaryParse500s;
    expect(second.failures).toEqual([]);
    const growth = heapAfterGc() - before;
    expect(growth).toBeLessThan(gc === undefined ? 200 * 1024 * 1024 : 32 * 1024 * 1024);
  }, 60_000);

  // Known bug (see isBinaryParseBug): remove `.fails` once invalid protobuf gets a 400.
  it.fails("answers invalid protobuf on a Connect RPC with 400 invalid_argument, not 500", async () => {
    const reply = await fetch(`${keycard.baseUrl}/keycard.v1.AuthService/Validate`, {
      method: "POST",
      headers: { "content-type": "application/proto" },
      body: new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
    });
    const body = (await reply.json()) as { code?: string };
    expect(reply.status).toBe(400);
    expect(body.code).toBe("invalid_argument");
  });

  it("still serves a valid user after the storm", async () => {
    const user = await createTestUser(keycard);
    const login = await loginRest(keycard, user);
    const reply = await fetch(`${keycard.baseUrl}/keycard.v1.AuthService/Validate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: login.session_token }),
    });
    expect(reply.status).toBe(200);
    const body = (await reply.json()) as { active?: boolean; subject?: string };
    expect(body.active).toBe(true);
    expect(body.subject).toBe(user.id);
  });

  it("emitted no unhandled rejection", async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(rejections).toEqual([]);
  });
});
