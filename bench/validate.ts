/**
 * Validate throughput: keycard over gRPC (HTTP/2, binary) and Connect JSON (HTTP/1.1),
 * each next to a bare node:http(2) + ioredis server doing the same Redis lookups, measured
 * with h2load (Debian's nghttp2-client) in the same run. Prints a table and writes
 * bench/results/validate.json.
 * Usage: npm run bench [-- --requests 50000 --clients 8 --streams 16]
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { ValidateRequestSchema } from "../gen/keycard/v1/auth_service_pb.js";
import { freePort, startRedisServer } from "../test/helpers/redis-server.js";

const { values: args } = parseArgs({
  options: {
    requests: { type: "string", default: "40000" },
    clients: { type: "string", default: "8" },
    streams: { type: "string", default: "16" },
    rounds: { type: "string", default: "2" },
  },
});
const adminToken = "bench-admin-token-0123456789abcdef";
const namespace = "bench";
const tsx = "node_modules/.bin/tsx";
const validatePath = "/keycard.v1.AuthService/Validate";
const grpcScenario = "Validate gRPC (h2, binary)";
const jsonScenario = "Validate Connect JSON (HTTP/1.1)";

function startProcess(
  command: string,
  argv: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<ChildProcess> {
  const child = spawn(command, argv, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) {
        resolve(child);
      }
    });
    child.once("exit", (code) => reject(new Error(`${command} exited with ${code}: ${output}`)));
  });
}

async function loginToken(baseUrl: string): Promise<string> {
  const user = { email: "bench@example.com", display_name: "Bench", password: "bench-password-1" };
  await fetch(`${baseUrl}/admin/users`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(user),
  });
  const login = await fetch(`${baseUrl}/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(user),
  });
  const { session_token: token } = (await login.json()) as { session_token: string };
  const check = await fetch(`${baseUrl}/auth/validate`, {
    method: "POST",
    body: JSON.stringify({ token }),
  });
  if (!((await check.json()) as { active: boolean }).active) {
    throw new Error("the bench token does not validate");
  }
  return token;
}

function grpcFrame(token: string): Buffer {
  const message = toBinary(ValidateRequestSchema, create(ValidateRequestSchema, { token }));
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

interface Figures {
  readonly scenario: string;
  readonly server: string;
  readonly requestsPerSecond: number;
  readonly meanMs: number;
  readonly failed: number;
  readonly command: string;
}

function h2load(scenario: string, server: string, argv: string[]): Figures {
  const command = `h2load ${argv.join(" ")}`;
  const output = execFileSync("h2load", argv, { encoding: "utf8", timeout: 120_000 });
  const rate = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(output)?.[1];
  const failed = /requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed/.exec(
    output,
  )?.[1];
  const status2xx = /status codes: (\d+) 2xx/.exec(output)?.[1];
  const mean = /time for request:\s+\S+\s+\S+\s+(\S+)/.exec(output)?.[1] ?? "0us";
  const meanMs = mean.endsWith("ms") ? Number.parseFloat(mean) : Number.parseFloat(mean) / 1000;
  if (rate === undefined || Number(status2xx) === 0) {
    throw new Error(`h2load gave no successful requests:\n${output}`);
  }
  return {
    scenario,
    server,
    requestsPerSecond: Number(rate),
    meanMs,
    failed: Number(failed ?? 0),
    command,
  };
}

async function main(): Promise<void> {
  const redis = await startRedisServer();
  const children: ChildProcess[] = [];
  try {
    const port = await freePort();
    children.push(
      await startProcess(
        tsx,
        ["src/main.ts"],
        {
          PORT: String(port),
          HOST: "127.0.0.1",
          REDIS_URL: redis.url,
          REDIS_KEY_PREFIX: namespace,
          KEYCARD_ADMIN_TOKEN: adminToken,
          LOG_LEVEL: "info",
        },
        /keycard listening/,
      ),
    );
    const baseUrl = `http://127.0.0.1:${port}`;
    const token = await loginToken(baseUrl);
    const floorH2 = await freePort();
    const floorH1 = await freePort();
    for (const [mode, floorPort] of [
      ["h2", floorH2],
      ["h1", floorH1],
    ] as const) {
      children.push(
        await startProcess(
          tsx,
          ["bench/floor-server.ts", mode, String(floorPort), redis.url, namespace],
          {},
          /ready/,
        ),
      );
    }
    mkdirSync("bench/results", { recursive: true });
    writeFileSync("bench/results/validate.grpc.bin", grpcFrame(token));
    writeFileSync("bench/results/validate.json.body", JSON.stringify({ token }));
    const h2 = ["-n", args.requests, "-c", args.clients, "-m", args.streams];
    const h1 = ["--h1", "-n", args.requests, "-c", String(Number(args.clients) * 4)];
    const grpcBody = [
      "-d",
      "bench/results/validate.grpc.bin",
      "-H",
      "content-type: application/grpc",
      "-H",
      "te: trailers",
    ];
    const jsonBody = [
      "-d",
      "bench/results/validate.json.body",
      "-H",
      "content-type: application/json",
    ];
    const floorUrl = (port: number): string => `http://127.0.0.1:${port}/validate`;
    const runs: Figures[] = [];
    for (let round = 0; round < Number(args.rounds); round += 1) {
      runs.push(
        h2load(grpcScenario, "keycard", [...h2, ...grpcBody, `${baseUrl}${validatePath}`]),
        h2load(grpcScenario, "floor node:http2+ioredis", [...h2, ...jsonBody, floorUrl(floorH2)]),
        h2load(jsonScenario, "keycard", [...h1, ...jsonBody, `${baseUrl}${validatePath}`]),
        h2load(jsonScenario, "floor node:http+ioredis", [...h1, ...jsonBody, floorUrl(floorH1)]),
      );
    }
    report(runs);
  } finally {
    for (const child of children) {
      child.kill("SIGTERM");
    }
    await redis.stop();
  }
}

function best(runs: Figures[], scenario: string, server: string): Figures {
  const matching = runs.filter((run) => run.scenario === scenario && run.server === server);
  return matching.reduce((a, b) => (a.requestsPerSecond >= b.requestsPerSecond ? a : b));
}

function report(runs: Figures[]): void {
  const scenarios = [...new Set(runs.map((run) => run.scenario))];
  const rows = scenarios.map((scenario) => {
    const keycard = best(runs, scenario, "keycard");
    const floor = runs.find((run) => run.scenario === scenario && run.server !== "keycard");
    const floorBest = best(runs, scenario, floor?.server ?? "");
    return {
      scenario,
      keycard,
      floor: floorBest,
      ratio: keycard.requestsPerSecond / floorBest.requestsPerSecond,
    };
  });
  const machine = `${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  process.stdout.write(
    `\nValidate throughput (best of ${args.rounds} alternating rounds; ${machine})\n\n`,
  );
  process.stdout.write(
    "| scenario | keycard req/s | keycard mean ms | floor req/s | ratio |\n|---|---|---|---|---|\n",
  );
  for (const row of rows) {
    process.stdout.write(
      `| ${row.scenario} | ${row.keycard.requestsPerSecond.toFixed(0)} | ${row.keycard.meanMs.toFixed(2)} | ${row.floor.requestsPerSecond.toFixed(0)} | ${row.ratio.toFixed(2)}x |\n`,
    );
  }
  process.stdout.write(
    `\nCommands:\n${rows
      .flatMap((row) => [row.keycard.command, row.floor.command])
      .map((c) => `  ${c}`)
      .join("\n")}\n`,
  );
  writeFileSync("bench/results/validate.json", JSON.stringify({ machine, rows, runs }, null, 2));
}

await main();
