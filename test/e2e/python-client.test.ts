import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestUser, startKeycard, type TestKeycard } from "../helpers/keycard.js";
import { pythonWith } from "../helpers/tools.js";

/**
 * A Python program as another team would write it: stubs generated from our proto by
 * Debian's python3-grpc-tools, calls over real gRPC through python3-grpcio.
 */
const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
/** A python3 that has Debian's python3-grpcio and python3-grpc-tools; empty when none does. */
const python = pythonWith(["grpc", "grpc_tools.protoc"]) ?? "";
const script = join(repoRoot, "test/fixtures/python-client/validate.py");

const missing = python === "";

interface Output {
  login: { session_token: string; session_id: string; expires_in: number };
  validate: {
    active: boolean;
    subject: string;
    session_id: string;
    roles: string[];
    email: string;
    expires_at: number;
  };
  unknown: { active: boolean; reason: string };
  wrong_password: string;
}

describe.skipIf(missing)(
  "a generated Python client over real gRPC (skipped when Debian's python3-grpc-tools or python3-grpcio is not installed)",
  () => {
    let keycard: TestKeycard;
    let stubs: string;

    beforeAll(async () => {
      keycard = await startKeycard();
      stubs = await mkdtemp(join(tmpdir(), "keycard-python-"));
      const protos = (await readdir(join(repoRoot, "proto/keycard/v1")))
        .filter((name) => name.endsWith(".proto"))
        .map((name) => `keycard/v1/${name}`);
      await run(
        python,
        [
          "-m",
          "grpc_tools.protoc",
          "-I",
          "proto",
          "-I",
          "proto/third_party",
          "-I",
          "node_modules/google-proto-files",
          `--python_out=${stubs}`,
          `--grpc_python_out=${stubs}`,
          ...protos,
          "buf/validate/validate.proto",
          "google/api/annotations.proto",
          "google/api/http.proto",
        ],
        { cwd: repoRoot },
      );
    });

    afterAll(async () => {
      await keycard?.close();
      if (stubs !== undefined) {
        await rm(stubs, { recursive: true, force: true });
      }
    });

    it("logs in and validates the session token", async () => {
      const user = await createTestUser(keycard, { roles: ["user", "editor"] });
      const { stdout } = await run(python, [
        script,
        stubs,
        `127.0.0.1:${keycard.port}`,
        user.email,
        user.password,
      ]);
      const output = JSON.parse(stdout) as Output;
      expect(output.login.session_token).toMatch(/^kc_sess_/);
      expect(output.login.expires_in).toBeGreaterThan(0);
      expect(output.validate).toMatchObject({
        active: true,
        subject: user.id,
        session_id: output.login.session_id,
        roles: ["user", "editor"],
        email: user.email,
      });
      expect(output.validate.expires_at * 1000).toBeGreaterThan(Date.now());
      expect(output.unknown).toEqual({
        active: false,
        reason: expect.stringMatching(/^INACTIVE_REASON_(UNKNOWN|MALFORMED)$/),
      });
      expect(output.wrong_password).toBe("UNAUTHENTICATED");
    });
  },
);
