import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DockerfileParser, type Instruction } from "dockerfile-ast";

/** The repository's root folder. */
export const repositoryRoot = resolve(import.meta.dirname, "../..");

/**
 * The command the image would run (`node dist/src/app/x.js ...`) as this checkout runs it:
 * the TypeScript source it is compiled from, in this Node binary with tsx as a loader. The
 * source must exist, so an image command naming a file the build does not make fails here.
 */
export function fromSource(argv: readonly string[]): string[] {
  const [command, script = "", ...rest] = argv;
  const match = /^dist\/(src\/.+)\.js$/.exec(script);
  if (command !== "node" || match === null) {
    throw new Error(`not a command of the image: ${argv.join(" ")}`);
  }
  const source = `${match[1]}.ts`;
  if (!existsSync(join(repositoryRoot, source))) {
    throw new Error(`${script} is compiled from ${source}, which does not exist`);
  }
  return [process.execPath, "--import", "tsx", source, ...rest];
}

/** The Dockerfile's last stage (the image that runs), parsed. */
export interface RuntimeStage {
  /** `image:tag` of every stage's FROM, in order. */
  readonly baseImages: readonly string[];
  readonly instructions: readonly Instruction[];
  /** The HEALTHCHECK's command (exec form), or undefined without one. */
  readonly healthcheck?: readonly string[];
  /** The HEALTHCHECK's flags: interval, timeout, start-period, retries. */
  readonly healthcheckFlags: Readonly<Record<string, string>>;
}

/** Reads the Dockerfile and returns its runtime stage. */
export function dockerfileRuntime(): RuntimeStage {
  const dockerfile = DockerfileParser.parse(
    readFileSync(join(repositoryRoot, "Dockerfile"), "utf8"),
  );
  const froms = dockerfile.getFROMs();
  const lastFrom = froms.at(-1)?.getRange().start.line ?? 0;
  const instructions = dockerfile
    .getInstructions()
    .filter((instruction) => instruction.getRange().start.line >= lastFrom);
  const healthcheck = dockerfile
    .getHEALTHCHECKs()
    .find((instruction) => instruction.getRange().start.line >= lastFrom);
  const command = /\bCMD\s+(\[.*\])\s*$/s.exec(healthcheck?.getArgumentsContent() ?? "")?.[1];
  return {
    baseImages: froms.map((from) => `${from.getImageName()}:${from.getImageTag()}`),
    instructions,
    ...(command === undefined ? {} : { healthcheck: JSON.parse(command) as string[] }),
    healthcheckFlags: Object.fromEntries(
      (healthcheck?.getFlags() ?? []).map((flag) => [flag.getName(), flag.getValue() ?? ""]),
    ),
  };
}
