/**
 * Scenario 1: every validation door of keycard (bench/lib/doors.ts) against "the
 * one-GET node:http + ioredis floor" (bench/servers/floor.ts) under the same conditions:
 * nothing pinned (keycard, the floor, Redis and h2load share the machine's CPUs, so the
 * floor, which reads Redis on every call, is not starved while keycard answers from its
 * cache), the same h2load settings for keycard and the floor, HTTP/1.1 doors against the
 * node:http floor and HTTP/2 doors (gRPC, ext_authz) against the node:http2 floor, rounds
 * alternating keycard, floor, keycard with VALIDATE_CACHE_TTL=0. Each run gives req/s,
 * p50/p99 from h2load's per-request log, the server's CPU µs per request from /proc and
 * Redis commands per request. Each door is first sent one request by the bench itself,
 * which must be a success naming the user, and every run's failures and body bytes are
 * checked: a fast error is not a benchmark figure.
 */
import type { Redis } from "ioredis";
import {
  alternate,
  type BenchOptions,
  chosen,
  type Subject,
  throughputRow,
} from "../lib/compare.js";
import {
  type Answer,
  type Door,
  type DoorRequest,
  type Protocol,
  selectDoors,
  send,
} from "../lib/doors.js";
import { type Keycard, loginToken, namespace, startKeycard } from "../lib/keycard.js";
import { type Figures, h2load } from "../lib/load.js";
import {
  assertServes,
  clockTicksPerSecond,
  freePort,
  redisClient,
  startProcess,
  startRedis,
} from "../lib/processes.js";
import { num, type Row, type ScenarioResult, times } from "../lib/report.js";
import { type Meter, usageMeter } from "../lib/usage.js";

/** A keycard under test: on its default Validate cache, or with the cache off. */
interface Variant {
  readonly cache: "default" | "off";
  readonly label: string;
  readonly keycard: Keycard;
}

/** A running floor server. */
interface Floor {
  readonly protocol: Protocol;
  readonly label: string;
  readonly baseUrl: string;
  readonly pid: number;
}

/** Everything the doors are measured with. */
interface Setup {
  readonly options: BenchOptions;
  readonly token: string;
  readonly userId: string;
  readonly variants: readonly Variant[];
  readonly floors: ReadonlyMap<Protocol, Floor>;
  readonly redisPid: number;
  /** A client for INFO only, so that its own commands are known. */
  readonly monitor: Redis;
}

/** One measured subject, with the body size of its verified success. */
interface Measured extends Subject {
  readonly expectedBodyBytes: number;
  readonly isKeycard: boolean;
}

/** One row of the door table: a keycard variant on a door next to its floor. */
interface DoorRow {
  readonly door: Door;
  readonly variant: Variant;
  readonly keycard: Figures;
  readonly keycardRuns: readonly Figures[];
  readonly floor: Figures;
  readonly floorRuns: readonly Figures[];
  readonly floorLabel: string;
}

/** What measuring one door gave. */
interface DoorResult {
  readonly rows: DoorRow[];
  readonly keycardProblems: string[];
  readonly floorProblems: string[];
  readonly runs: Map<string, Figures[]>;
}

const jsonLabel = '{"token":"<session token>"}';

/** The floor's request: the token as JSON, whatever the door (the floor has one shape). */
function floorRequest(token: string): DoorRequest {
  return {
    method: "POST",
    path: "/validate",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token }),
    bodyLabel: jsonLabel,
  };
}

/** The problem with a floor answer, or undefined when it names `userId`. */
function floorProblem(answer: Answer, userId: string): string | undefined {
  const body = Buffer.from(answer.body).toString("utf8");
  let subject: unknown;
  try {
    subject = (JSON.parse(body) as { subject?: unknown }).subject;
  } catch {
    subject = undefined;
  }
  return answer.status === 200 && subject === userId
    ? undefined
    : `HTTP ${answer.status}: ${body.slice(0, 200)}`;
}

/** Starts the floor server for `protocol`, unpinned, and checks its pid serves the port. */
async function startFloor(protocol: Protocol, redisUrl: string): Promise<Floor> {
  const port = await freePort();
  const script = "bench/servers/floor.ts";
  const started = await startProcess({
    command: process.execPath,
    argv: ["--import", "tsx", script, protocol, String(port), redisUrl, namespace],
    ready: /ready/,
  });
  assertServes(started.pid, port, `the ${protocol} floor`);
  const label = protocol === "h2" ? "node:http2 + ioredis floor" : "node:http + ioredis floor";
  return { protocol, label, baseUrl: `http://127.0.0.1:${port}`, pid: started.pid };
}

/** Starts one keycard per cache setting, all unpinned on the same Redis. */
async function startVariants(redisUrl: string, caches: BenchOptions["caches"]): Promise<Variant[]> {
  const variants: Variant[] = [];
  for (const cache of caches) {
    const env: Record<string, string> = cache === "off" ? { VALIDATE_CACHE_TTL: "0" } : {};
    const label = cache === "off" ? "keycard, VALIDATE_CACHE_TTL=0" : "keycard";
    variants.push({ cache, label, keycard: await startKeycard(redisUrl, env) });
  }
  return variants;
}

/** The user id behind `token`, from REST Validate. */
async function userIdOf(baseUrl: string, token: string): Promise<string> {
  const response = await fetch(`${baseUrl}/auth/validate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token }),
  });
  const { subject } = (await response.json()) as { subject?: string };
  if (subject === undefined || subject === "") {
    throw new Error("REST Validate names no user for the bench token");
  }
  return subject;
}

/**
 * Sends one request and returns the answer's body length; throws, aborting the scenario,
 * unless it is a success naming `userId`.
 */
async function verified(
  what: string,
  protocol: Protocol,
  baseUrl: string,
  request: DoorRequest,
  problemOf: (answer: Answer, userId: string) => string | undefined,
  userId: string,
): Promise<number> {
  let answer: Answer;
  try {
    answer = await send(protocol, baseUrl, request);
  } catch (error) {
    throw new Error(`${what}: the check request failed: ${(error as Error).message}`);
  }
  let problem: string | undefined;
  try {
    problem = problemOf(answer, userId);
  } catch (error) {
    problem = `undecodable answer (HTTP ${answer.status}): ${(error as Error).message}`;
  }
  if (problem !== undefined) {
    throw new Error(
      `${what} does not answer a success for the bench user, so it cannot be measured: ${problem}`,
    );
  }
  return answer.body.length;
}

/** An h2load run of `request` against `baseUrl` over `protocol`, read by `meter`. */
function runOf(
  setup: Setup,
  protocol: Protocol,
  baseUrl: string,
  request: DoorRequest,
  meter: Meter,
): () => Promise<Figures> {
  const { options } = setup;
  return () =>
    h2load({
      protocol,
      connections: protocol === "h2" ? options.h2Connections : options.h1Connections,
      ...(protocol === "h2" ? { streams: options.h2Streams } : {}),
      seconds: options.seconds,
      warmupSeconds: options.warmupSeconds,
      ...(options.requests === undefined ? {} : { requests: options.requests }),
      url: `${baseUrl}${request.path}`,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      ...(request.bodyLabel === undefined ? {} : { bodyLabel: request.bodyLabel }),
      meter,
      redact: { [setup.token]: "<session token>" },
    });
}

/** The subject name of a keycard variant on a door. */
function keycardName(variant: Variant, door: Door): string {
  return `${variant.label} ${door.id}`;
}

/** A keycard variant on `door`, once it has answered the bench user. */
async function keycardSubject(setup: Setup, door: Door, variant: Variant): Promise<Measured> {
  const request = door.request(setup.token);
  const { baseUrl, pid } = variant.keycard;
  const name = keycardName(variant, door);
  return {
    name,
    isKeycard: true,
    expectedBodyBytes: await verified(
      name,
      door.protocol,
      baseUrl,
      request,
      door.problem,
      setup.userId,
    ),
    run: runOf(
      setup,
      door.protocol,
      baseUrl,
      request,
      usageMeter(pid, setup.redisPid, setup.monitor),
    ),
  };
}

/** The floor of `door`'s protocol, once it has answered the bench user. */
async function floorSubject(setup: Setup, floor: Floor, door: Door): Promise<Measured> {
  const request = floorRequest(setup.token);
  return {
    name: `${floor.protocol} floor (for ${door.id})`,
    isKeycard: false,
    expectedBodyBytes: await verified(
      `the ${floor.label}`,
      floor.protocol,
      floor.baseUrl,
      request,
      floorProblem,
      setup.userId,
    ),
    run: runOf(
      setup,
      floor.protocol,
      floor.baseUrl,
      request,
      usageMeter(floor.pid, setup.redisPid, setup.monitor),
    ),
  };
}

/**
 * The subjects of `door` in round order, each verified: keycard, its floor, keycard without
 * cache, so that the floor's run sits next to both keycard runs.
 */
async function doorSubjects(
  setup: Setup,
  door: Door,
): Promise<{ subjects: Measured[]; floor: Floor }> {
  const floor = setup.floors.get(door.protocol);
  if (floor === undefined) {
    throw new Error(`no floor for ${door.protocol}`);
  }
  const keycards = await Promise.all(
    setup.variants.map((variant) => keycardSubject(setup, door, variant)),
  );
  const [cached, ...others] = keycards;
  const baseline = await floorSubject(setup, floor, door);
  const subjects = cached === undefined ? [baseline] : [cached, baseline, ...others];
  return { subjects, floor };
}

/** What went wrong in a subject's runs (failures, bodies unlike the verified success). */
function runProblems(subject: Measured, runs: readonly Figures[]): string[] {
  const problems: string[] = [];
  runs.forEach((run, i) => {
    if (run.failed > 0 || run.non2xx > 0) {
      problems.push(
        `${subject.name}, round ${i + 1}: ${run.failed} failed, ${run.non2xx} non-2xx, ${run.succeeded} succeeded`,
      );
    }
    // Requests unfinished at the end may have received some of their body: that is allowed.
    const expected = subject.expectedBodyBytes;
    const off = Math.abs(run.bodyBytes - expected * run.done);
    if (off > expected * run.unfinished + 0.02 * expected * run.done) {
      problems.push(
        `${subject.name}, round ${i + 1}: ${num(run.bodyBytes / run.done, 1)} body bytes per response, the verified success had ${expected}: some answers were not that success`,
      );
    }
  });
  return problems;
}

/** Measures one door: alternating rounds, checks, and its rows (one per keycard variant). */
async function measureDoor(
  setup: Setup,
  door: Door,
  log: (line: string) => void,
): Promise<DoorResult> {
  log(`  door ${door.id} (${door.title})`);
  const { subjects, floor } = await doorSubjects(setup, door);
  const runs = await alternate(setup.options.rounds, subjects, log);
  const keycardProblems: string[] = [];
  const floorProblems: string[] = [];
  for (const subject of subjects) {
    for (const problem of runProblems(subject, runs.get(subject.name) ?? [])) {
      (subject.isKeycard ? keycardProblems : floorProblems).push(problem);
      log(`  ${subject.isKeycard ? "!!! KEYCARD FAILURE: " : "floor problem: "}${problem}`);
    }
  }
  const floorRuns = runs.get(subjects.find((subject) => !subject.isKeycard)?.name ?? "") ?? [];
  const rows = setup.variants.map((variant): DoorRow => {
    const keycardRuns = runs.get(keycardName(variant, door)) ?? [];
    return {
      door,
      variant,
      keycard: chosen(keycardRuns, setup.options.pick),
      keycardRuns,
      floor: chosen(floorRuns, setup.options.pick),
      floorRuns,
      floorLabel: floor.label,
    };
  });
  return { rows, keycardProblems, floorProblems, runs };
}

/** How a row names its door and keycard variant. */
function rowName(row: DoorRow): string {
  return `${row.door.title}${row.variant.cache === "off" ? ", VALIDATE_CACHE_TTL=0" : ""}`;
}

function perRequest(figures: Figures, value: number | undefined, decimals = 0): string {
  return value === undefined ? "n/a" : num(value / figures.succeeded, decimals);
}

/** Requests that were not 2xx answers, over all rounds. */
function failures(runs: readonly Figures[]): number {
  return runs.reduce((sum, run) => sum + Math.max(run.failed, run.non2xx), 0);
}

function tableLine(row: DoorRow): string {
  const { keycard, floor } = row;
  const keycardFailures = failures(row.keycardRuns);
  const cells = [
    rowName(row),
    num(keycard.requestsPerSecond),
    num(keycard.p50Ms, 2),
    num(keycard.p99Ms, 2),
    perRequest(keycard, keycard.usage?.serverCpuMicros),
    num(floor.requestsPerSecond),
    `${num(floor.p50Ms, 2)} / ${num(floor.p99Ms, 2)}`,
    perRequest(floor, floor.usage?.serverCpuMicros),
    times(keycard.requestsPerSecond / floor.requestsPerSecond),
    `${perRequest(keycard, keycard.usage?.redisCommands, 2)} / ${perRequest(floor, floor.usage?.redisCommands, 2)}`,
    `${keycardFailures > 0 ? `**${keycardFailures}**` : "0"} / ${failures(row.floorRuns)}`,
  ];
  return `| ${cells.join(" | ")} |`;
}

/** The door table of the report, then the h2load command behind every row. */
function doorTable(rows: readonly DoorRow[]): string[] {
  const lines = [
    "| door | keycard req/s | p50 ms | p99 ms | CPU µs/req | floor req/s | floor p50/p99 ms | floor CPU µs/req | ratio (keycard/floor req/s) | Redis cmds/req keycard / floor | failed keycard / floor |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map(tableLine),
    "",
    "h2load command of each row (keycard, then its floor):",
    "",
  ];
  for (const row of rows) {
    lines.push(
      `- ${rowName(row)}:`,
      `  - \`${row.keycard.command}\``,
      `  - \`${row.floor.command}\``,
    );
  }
  return lines;
}

/** The ratio every door must reach: 0.8x the floor on the default cache, 0.5x without it. */
const targetRatio = { default: 0.8, off: 0.5 } as const;

/** The combined table's rows, each door against its target. */
function summaryRows(rows: readonly DoorRow[]): Row[] {
  return rows.map((row) =>
    throughputRow(
      `Validate ${rowName(row)}`,
      row.keycard,
      row.floorLabel,
      row.floor,
      targetRatio[row.variant.cache],
    ),
  );
}

/** How the scenario was run, for the report. */
function notesOf(options: BenchOptions, variants: readonly Variant[]): string[] {
  const order = [variants[0]?.label, "its floor", ...variants.slice(1).map((v) => v.label)];
  const pick =
    options.pick === "best"
      ? "the fastest round of each subject"
      : "the median round by req/s of each subject (the slower middle one of an even count)";
  const length =
    options.requests === undefined
      ? `${options.seconds} s measured after a separate ${options.warmupSeconds} s warm-up run`
      : `${options.requests} requests`;
  return [
    `${options.rounds} round(s) per door, alternating ${order.filter((label) => label !== undefined).join(", ")}; reported: ${pick}, every figure of a row from that one run. h2load with the same settings for keycard and its floor: HTTP/1.1 (--h1) with ${options.h1Connections} connections, HTTP/2 with ${options.h2Connections} connections x ${options.h2Streams} streams; ${length}.`,
    "Nothing is pinned: keycard, the floors, redis-server and h2load share every CPU (pinning the server apart from Redis and h2load starved the floor, which reads Redis on every call, while keycard answered from its cache).",
    "req/s counts 2xx answers only; p50/p99 are nearest-rank percentiles of h2load's --log-file (microseconds to the end of each response) over the 2xx answers of the measured run.",
    `CPU µs/req: utime + stime of /proc/<pid>/stat (fields 14 and 15, all threads, CLK_TCK ${clockTicksPerSecond}) of the server process, read right before and right after the measured h2load process, over its 2xx answers; each pid is checked to hold the listening socket (keycard runs as \`node --import tsx src/app/main.ts\`, no launcher in between). Redis cmds/req: INFO total_commands_processed before and after, over the same answers.`,
    "Each door and each floor is first sent one request by the bench (fetch for HTTP/1.1, node:http2 for HTTP/2) that must be a success naming the bench user (200 with active true or X-Auth-User, or grpc-status 0 with an active ValidateResponse or an OK CheckResponse); each run's body bytes must then equal that many successes within 2 % (plus what requests unfinished at the end may have received), which catches answers h2load counts as 2xx that are not successes (gRPC errors in trailers, `active: false`).",
    "The floor (bench/servers/floor.ts): node:http or node:http2, JSON body in, one ioredis HGET of the session record (auto-pipelining on, as in keycard's store), a small JSON answer. keycard without its cache reads the session record and asks the user's index whether it is live (HGETALL + one script) and builds the full answer; with its default VALIDATE_CACHE_TTL=1s it answers a token it looked up within the last second from memory, so on the bench's single hot token it reads Redis on almost no request (Redis cmds/req) while the floor reads it on every one.",
    "HTTP/1.1 doors are compared with the node:http floor, HTTP/2 doors (gRPC, ext_authz) with the node:http2 floor; every door is sent the same token. keycard runs with LOG_LEVEL=info, rate limits off (one client IP) and INTROSPECTION_SECRET set.",
  ];
}

/** Runs scenario 1. */
export async function validateScenario(
  options: BenchOptions,
  log: (line: string) => void,
): Promise<ScenarioResult> {
  const doors = selectDoors(options.doors);
  const redis = await startRedis();
  const monitor = redisClient(redis.url);
  try {
    const variants = await startVariants(redis.url, options.caches);
    const first = variants[0];
    if (first === undefined) {
      throw new Error("no keycard to measure (--cache is empty)");
    }
    const token = await loginToken(first.keycard.baseUrl);
    const userId = await userIdOf(first.keycard.baseUrl, token);
    const floors = new Map<Protocol, Floor>();
    for (const protocol of new Set(doors.map((door) => door.protocol))) {
      floors.set(protocol, await startFloor(protocol, redis.url));
    }
    const setup: Setup = { options, token, userId, variants, floors, redisPid: redis.pid, monitor };
    // Every door proves it answers the bench user before any load runs (and again before its own).
    for (const door of doors) {
      await doorSubjects(setup, door);
    }
    log(`1. Validate doors vs the one-GET floor: ${doors.map((door) => door.id).join(", ")}`);
    const results: DoorResult[] = [];
    for (const door of doors) {
      results.push(await measureDoor(setup, door, log));
    }
    const rows = results.flatMap((result) => result.rows);
    return {
      id: 1,
      title: "Validate doors vs the one-GET node:http + ioredis floor",
      rows: summaryRows(rows),
      tables: doorTable(rows),
      warnings: results.flatMap((result) => result.keycardProblems),
      commands: [],
      notes: [
        ...notesOf(options, variants),
        ...results.flatMap((result) => result.floorProblems.map((p) => `Floor problem: ${p}`)),
      ],
      details: Object.fromEntries(results.flatMap((result) => [...result.runs])),
    };
  } finally {
    monitor.disconnect();
  }
}
