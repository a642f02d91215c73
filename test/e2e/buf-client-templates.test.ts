import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestUser, startKeycard, type TestKeycard } from "../helpers/keycard.js";
import { findOnPath, pythonWith } from "../helpers/tools.js";

/**
 * The buf templates for clients in other languages (clients/buf/), run as the README says
 * with the plugins Debian packages (npm test installs them): every one generates its
 * services, and the Python client made this way logs in and validates over real gRPC. No Go
 * or Java toolchain is installed here, so their output is checked for its files and package
 * names, not compiled.
 */
const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const buf = join(repoRoot, "node_modules/.bin/buf");

interface Template {
  readonly language: string;
  readonly plugins: readonly string[];
  /** Files the output must hold, under the template's `out` folder. */
  readonly files: readonly string[];
  readonly out: string;
}

const templates: readonly Template[] = [
  {
    language: "go",
    plugins: ["protoc-gen-go", "protoc-gen-go-grpc"],
    out: "clients/go",
    files: ["keycard/v1/auth_service.pb.go", "keycard/v1/auth_service_grpc.pb.go"],
  },
  {
    language: "python",
    plugins: ["protoc", "grpc_python_plugin"],
    out: "clients/python-grpc",
    files: [
      "keycard/v1/auth_service_pb2.py",
      "keycard/v1/auth_service_pb2_grpc.py",
      "keycard/v1/auth_service_pb2.pyi",
      "google/api/annotations_pb2.py",
    ],
  },
  {
    language: "java",
    plugins: ["protoc", "grpc_java_plugin"],
    out: "clients/java",
    files: ["keycard/v1/AuthServiceGrpc.java", "keycard/v1/AuthServiceOuterClass.java"],
  },
];

describe("the buf templates for Go, Python and Java clients", () => {
  let output: string;
  let keycard: TestKeycard;

  beforeAll(async () => {
    output = await mkdtemp(join(tmpdir(), "keycard-clients-"));
    keycard = await startKeycard();
  });
  afterAll(async () => {
    await keycard?.close();
    await rm(output, { recursive: true, force: true });
  });

  for (const template of templates) {
    it(`generates the ${template.language} client with Debian's plugins`, async () => {
      const absent = template.plugins.filter((plugin) => findOnPath(plugin) === undefined);
      expect(absent, "plugins npm test installs (scripts/test-prerequisites.sh)").toEqual([]);
      const target = join(output, template.language);
      const config = `clients/buf/${template.language}.yaml`;
      await run(buf, ["generate", "--template", config, "--output", target], { cwd: repoRoot });
      for (const file of template.files) {
        expect(existsSync(join(target, template.out, file)), file).toBe(true);
      }
    }, 60_000);
  }

  it("puts the Go packages under the module path the template sets", async () => {
    const file = join(output, "go/clients/go/keycard/v1/auth_service.pb.go");
    const source = await readFile(file, "utf8");
    expect(source).toMatch(/^package keycardv1$/m);
    expect(source).toContain('_ "example.com/yourservice/gen/go/buf/validate"');
    const grpc = await readFile(
      join(output, "go/clients/go/keycard/v1/auth_service_grpc.pb.go"),
      "utf8",
    );
    expect(grpc).toContain("func NewAuthServiceClient");
    expect(grpc).toContain("func RegisterAuthServiceServer");
  });

  it("logs in and validates over real gRPC with the Python client it generated", async () => {
    const python = pythonWith(["grpc", "google.protobuf"]);
    expect(python, "Debian's python3-grpcio").toBeDefined();
    const user = await createTestUser(keycard);
    const stubs = join(output, "python/clients/python-grpc");
    const script = join(repoRoot, "test/fixtures/python-client/validate.py");
    const { stdout } = await run(python ?? "", [
      script,
      stubs,
      `127.0.0.1:${keycard.port}`,
      user.email,
      user.password,
    ]);
    const answer = JSON.parse(stdout) as { validate: { active: boolean; subject: string } };
    expect(answer.validate).toMatchObject({ active: true, subject: user.id });
  });
});
