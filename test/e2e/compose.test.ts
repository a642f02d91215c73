import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import { parseDuration } from "../../src/domain/duration.js";
import { dockerfileRuntime, fromSource, repositoryRoot } from "../helpers/image-commands.js";
import { exitCodeOf, killStarted, startCommand, waitFor } from "../helpers/process.js";
import { requireOnPath } from "../helpers/tools.js";

afterEach(killStarted);

/** One service of `docker-compose config`'s answer, the fields these tests read. */
interface Service {
  readonly image?: string;
  readonly build?: unknown;
  readonly command?: string[];
  readonly entrypoint?: string[];
  readonly environment?: Record<string, string>;
  readonly healthcheck?: { test: string[]; timeout?: string; start_period?: string };
  readonly depends_on?: Record<string, { condition: string }>;
  readonly profiles?: string[];
  readonly ports?: string[];
  readonly volumes?: string[];
  readonly read_only?: boolean;
  readonly tmpfs?: string[];
  readonly stop_grace_period?: string;
}

/** The keys folder, where the keys service writes and keycard reads. */
const keysFolder = "/var/lib/keycard";

/**
 * `docker-compose config` (Debian's docker-compose, which needs no Docker engine for it):
 * compose.yaml validated against the Compose schema, merged and interpolated with `env`.
 */
function composeConfig(env: Record<string, string> = {}): Record<string, Service> {
  const result = spawnSync(
    requireOnPath("docker-compose", "docker-compose"),
    ["--file", "compose.yaml", "config"],
    { cwd: repositoryRoot, encoding: "utf8", env: { PATH: process.env.PATH ?? "", ...env } },
  );
  if (result.status !== 0) {
    throw new Error(`docker-compose config failed:\n${result.stderr}`);
  }
  return (parse(result.stdout) as { services: Record<string, Service> }).services;
}

/** A service of the configuration, failing when it is missing. */
function service(services: Record<string, Service>, name: string): Service {
  const found = services[name];
  if (found === undefined) {
    throw new Error(`compose.yaml has no service ${name}`);
  }
  return found;
}

/** compose.yaml as written (before Compose unescapes `$$`), for the keycard entrypoint. */
function writtenKeycardEntrypoint(): string[] {
  const file = parse(readFileSync(join(repositoryRoot, "compose.yaml"), "utf8")) as {
    services: Record<string, Service>;
  };
  return (file.services.keycard?.entrypoint ?? []).map((part) => part.replaceAll("$$", "$"));
}

describe("compose.yaml", () => {
  it("is a valid Compose file with keycard, Redis and the one-shot keys service, Sentinel in a profile", () => {
    const services = composeConfig();
    expect(Object.keys(services).sort()).toEqual([
      "keycard",
      "keys",
      "redis",
      "redis-replica",
      "sentinel-1",
      "sentinel-2",
      "sentinel-3",
    ]);
    for (const name of ["keys", "keycard", "redis"]) {
      expect(service(services, name).profiles ?? []).toEqual([]);
    }
    for (const name of ["redis-replica", "sentinel-1", "sentinel-2", "sentinel-3"]) {
      expect(service(services, name).profiles).toEqual(["sentinel"]);
    }
  });

  it("starts keycard once its keys are made and Redis is healthy, and checks keycard as the image does", () => {
    const services = composeConfig();
    const keycard = service(services, "keycard");
    expect(keycard.depends_on).toEqual({
      keys: { condition: "service_completed_successfully" },
      redis: { condition: "service_healthy" },
    });
    expect(keycard.healthcheck?.test).toEqual(["CMD", ...(dockerfileRuntime().healthcheck ?? [])]);
    expect(parseDuration(keycard.healthcheck?.timeout ?? "")).toBeGreaterThan(3_000);
    for (const name of ["redis", "redis-replica"]) {
      expect(service(services, name).healthcheck?.test).toEqual(["CMD", "redis-cli", "ping"]);
    }
    for (const name of ["sentinel-1", "sentinel-2", "sentinel-3"]) {
      expect(service(services, name).healthcheck?.test).toEqual([
        "CMD",
        "redis-cli",
        "-p",
        "26379",
        "ping",
      ]);
    }
    expect(keycard.ports).toEqual(["127.0.0.1:8080:8080/tcp"]);
  });

  it("runs keycard and the keys service from one image on a read-only root, the keys in a volume keycard only reads", () => {
    const services = composeConfig();
    const keys = service(services, "keys");
    const keycard = service(services, "keycard");
    for (const container of [keys, keycard]) {
      expect(container.image).toBe("keycard:local");
      expect(container.build).toBeDefined();
      expect(container.read_only).toBe(true);
      expect(container.tmpfs).toEqual(["/tmp"]);
    }
    expect(keys.volumes).toEqual([`keys:${keysFolder}:rw`]);
    expect(keycard.volumes).toEqual([`keys:${keysFolder}:ro`]);
    expect(keys.command).toEqual(["node", "dist/src/app/first-start-keys-main.js", keysFolder]);
    expect(keycard.entrypoint?.join(" ")).toContain(`. ${keysFolder}/keys.env`);
  });

  it("gives keycard longer to stop than its drain takes", () => {
    const keycard = service(composeConfig(), "keycard");
    const drain = parseDuration(keycard.environment?.SHUTDOWN_TIMEOUT ?? "10s") ?? 0;
    expect(parseDuration(keycard.stop_grace_period ?? "10s")).toBeGreaterThan(drain);
  });

  it("points keycard at the Sentinels of the sentinel profile when KEYCARD_REDIS_URL says so", () => {
    const url = "redis+sentinel://sentinel-1:26379,sentinel-2:26379,sentinel-3:26379/keycard";
    expect(service(composeConfig(), "keycard").environment?.REDIS_URL).toBe("redis://redis:6379");
    const services = composeConfig({ KEYCARD_REDIS_URL: url });
    expect(service(services, "keycard").environment?.REDIS_URL).toBe(url);
    for (const name of ["sentinel-1", "sentinel-2", "sentinel-3"]) {
      const script = service(services, name).command?.join(" ") ?? "";
      expect(script).toContain("sentinel monitor keycard redis 6379 2");
      expect(script).toContain("exec redis-sentinel /data/sentinel.conf");
    }
    expect(service(services, "redis-replica").command).toEqual(
      expect.arrayContaining(["--replicaof", "redis", "6379"]),
    );
  });

  it("prints the keys at the first start only, and keycard starts with them (the compose steps, without an engine)", async () => {
    const services = composeConfig();
    const folder = mkdtempSync(join(tmpdir(), "keycard-compose-keys-"));
    const keysCommand = fromSource(
      (service(services, "keys").command ?? []).map((part) => part.replace(keysFolder, folder)),
    );
    const makeKeys = (): string =>
      spawnSync(keysCommand[0] ?? "", keysCommand.slice(1), { encoding: "utf8" }).stdout;

    const first = makeKeys();
    const admin = /export KEYCARD_ADMIN_TOKEN=(\S+)/.exec(first)?.[1] ?? "";
    const key = /export KEYCARD_ENCRYPTION_KEY=(\S+)/.exec(first)?.[1] ?? "";
    expect(admin).not.toBe("");
    expect(key).not.toBe("");
    const second = makeKeys();
    expect(second).toContain("not shown again");
    expect(second).not.toContain(admin);
    expect(second).not.toContain(key);

    // keycard's entrypoint as written, sourcing the keys from the folder, then keycard.
    const [shell = "", flag = "", script = "", name = ""] = writtenKeycardEntrypoint();
    const keycardCommand = fromSource(service(services, "keycard").command ?? []);
    const started = startCommand(
      [shell, flag, script.replace(keysFolder, folder), name, ...keycardCommand],
      { REDIS_URL: inject("redisUrl"), REDIS_KEY_PREFIX: "compose-test" },
    );
    const url = `http://127.0.0.1:${(await waitFor(started, /"port":(\d+)/))[1]}`;
    const asAdmin = (token: string) => ({
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
    });
    const created = await fetch(`${url}/admin/users`, {
      method: "POST",
      headers: asAdmin(admin),
      body: JSON.stringify({
        email: `compose-${Date.now()}@example.com`,
        display_name: "Compose",
        password: "correct horse battery",
      }),
    });
    expect(created.status).toBe(200);
    const { user } = (await created.json()) as { user: { id: string } };
    // An API key needs the encryption key: the printed one is the one keycard runs with.
    const issued = await fetch(`${url}/admin/users/${user.id}/api-keys`, {
      method: "POST",
      headers: asAdmin(admin),
      body: JSON.stringify({ name: "compose" }),
    });
    expect(issued.status).toBe(200);
    const wrongToken = await fetch(`${url}/admin/users`, {
      headers: asAdmin("not-the-admin-token-at-all-0000000"),
    });
    expect(wrongToken.status).toBe(401);
    expect(started.output()).not.toContain(admin);
    expect(started.output()).not.toContain(key);

    // The entrypoint ends in `exec`, so keycard itself receives the SIGTERM and drains.
    started.child.kill("SIGTERM");
    expect(await exitCodeOf(started.child)).toBe(0);
    expect(started.output()).toContain("stopped");
  }, 40_000);
});
