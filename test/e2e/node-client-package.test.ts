import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestUser, loginRest, startKeycard, type TestKeycard } from "../helpers/keycard.js";

const run = promisify(execFile);
const clientDir = resolve("clients/node");
const peers = ["@bufbuild/protobuf", "@connectrpc/connect", "@connectrpc/connect-node"];

/** The peer dependencies at the versions this repository tests with. */
function peerSpecs(): string[] {
  return peers.map((name) => {
    const manifest = readFileSync(resolve("node_modules", name, "package.json"), "utf8");
    return `${name}@${(JSON.parse(manifest) as { version: string }).version}`;
  });
}

/** A program of the kind a user writes: validate the tokens given, print the answers. */
const program = `import { createKeycardValidator } from "@keycard/client-node";
const validator = createKeycardValidator({ baseUrl: process.env.KEYCARD_URL });
const answers = [];
for (const token of process.argv.slice(2)) answers.push(await validator.validate(token));
validator.close();
console.log(JSON.stringify(answers));
`;

/** The same in TypeScript, type-checked against the package's declarations. */
const typedProgram = `import { createKeycardValidator, type KeycardAnswer } from "@keycard/client-node";
const validator = createKeycardValidator({ baseUrl: "http://localhost:8080", transport: "connect" });
const answer: KeycardAnswer = await validator.validate("kc_sess_x");
const reason: "EXPIRED" | "REVOKED" | string = answer.reason;
console.log(reason, answer.expiresAt?.toISOString());
`;

/**
 * clients/node as a user gets it: `npm pack`, installed with its peer dependencies into an
 * empty project outside this repository, imported by name, type-checked, and validating
 * real tokens against a real keycard.
 */
describe("the @keycard/client-node package, packed and installed into an empty project", () => {
  let keycard: TestKeycard;
  let project: string;

  beforeAll(async () => {
    keycard = await startKeycard();
    project = await mkdtemp(join(tmpdir(), "keycard-client-"));
    const { stdout } = await run("npm", ["pack", "--pack-destination", project, "--silent"], {
      cwd: clientDir,
    });
    const tarball = join(project, stdout.trim().split("\n").at(-1) ?? "");
    await writeFile(join(project, "package.json"), '{"name":"app","private":true,"type":"module"}');
    await run(
      "npm",
      ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball, ...peerSpecs()],
      { cwd: project },
    );
  }, 180_000);
  afterAll(async () => {
    await keycard?.close();
    await rm(project, { recursive: true, force: true });
  });

  it("ships built JavaScript with type declarations and its README, no TypeScript source", () => {
    const installed = join(project, "node_modules/@keycard/client-node");
    expect(existsSync(join(installed, "README.md"))).toBe(true);
    expect(existsSync(join(installed, "dist/clients/node/src/index.js"))).toBe(true);
    expect(existsSync(join(installed, "dist/clients/node/src/index.d.ts"))).toBe(true);
    expect(existsSync(join(installed, "src"))).toBe(false);
  });

  it("validates a real token by name, and says why another is not valid, with reasons as names", async () => {
    const user = await createTestUser(keycard);
    const session = await loginRest(keycard, user);
    await writeFile(join(project, "validate.mjs"), program);
    const { stdout } = await run(
      process.execPath,
      ["validate.mjs", session.session_token, "kc_sess_not-a-token"],
      { cwd: project, env: { PATH: process.env.PATH ?? "", KEYCARD_URL: keycard.baseUrl } },
    );
    const [good, bad] = JSON.parse(stdout) as Record<string, unknown>[];
    expect(good).toMatchObject({ active: true, subject: user.id, reason: "UNSPECIFIED" });
    expect(bad).toMatchObject({ active: false, reason: "MALFORMED" });
  });

  it("type-checks a TypeScript program against the package's declarations", async () => {
    await writeFile(join(project, "check.ts"), typedProgram);
    const tsc = resolve("node_modules/typescript/bin/tsc");
    // The project has no @types/node: `dom` declares console, and the declarations of the
    // peer dependencies (which name Node's own types) are not what is checked here.
    const options = ["--noEmit", "--strict", "--module", "nodenext", "--target", "es2022"];
    const settings = [...options, "--lib", "es2022,dom", "--skipLibCheck", "check.ts"];
    const checked = await run(process.execPath, [tsc, ...settings], { cwd: project }).then(
      () => "ok",
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    expect(checked).toBe("ok");
  });
});
