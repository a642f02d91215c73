import { readFileSync } from "node:fs";

/** One shell block of the README, in order: what it runs, or why it is not run. */
export interface ShellBlock {
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The heading the block stands under. */
  readonly heading: string;
  readonly code: string;
  /** Set when a `<!-- readme-test: skip (why) -->` comment stands right before the block. */
  readonly skipped?: string;
  /** The HTTP statuses the block's comments document as refusals (`# 401 {...}`). */
  readonly documentedRefusals: ReadonlySet<number>;
}

const skipMarker = /^<!-- readme-test: skip \((.+)\) -->$/;
const refusalComment = /^\s*#\s*([45]\d\d)\b/;

/** The `bash` and `sh` blocks of a Markdown file, with the skip marker before each, if any. */
export function shellBlocks(path: string): ShellBlock[] {
  const lines = readFileSync(path, "utf8").split("\n");
  const blocks: ShellBlock[] = [];
  let heading = "";
  for (let index = 0; index < lines.length; index += 1) {
    const text = lines[index] ?? "";
    if (text.startsWith("#")) {
      heading = text;
    }
    const fence = /^```(\w*)/.exec(text);
    if (fence === null) {
      continue;
    }
    const end = lines.findIndex((candidate, at) => at > index && candidate.startsWith("```"));
    const body = lines.slice(index + 1, end);
    if (fence[1] === "bash" || fence[1] === "sh") {
      blocks.push(blockOf(lines, index, heading, body));
    }
    index = end;
  }
  return blocks;
}

function blockOf(lines: string[], fenceIndex: number, heading: string, body: string[]): ShellBlock {
  const before =
    lines
      .slice(0, fenceIndex)
      .reverse()
      .find((text) => text.trim() !== "") ?? "";
  const skipped = skipMarker.exec(before.trim())?.[1];
  const documentedRefusals = new Set(
    body.flatMap((text) => {
      const status = refusalComment.exec(text)?.[1];
      return status === undefined ? [] : [Number(status)];
    }),
  );
  return {
    line: fenceIndex + 1,
    heading,
    code: body.join("\n"),
    ...(skipped === undefined ? {} : { skipped }),
    documentedRefusals,
  };
}

/**
 * One bash script that runs `blocks` in order in one shell (so variables carry over, as in
 * a terminal where someone pastes them), stopping at the first failing command. Before each
 * block it writes `README-BLOCK <line>` to stderr, and `curl` writes `README-HTTP <status>
 * <url>` there after each request, leaving its standard output to the block's pipes.
 */
export function scriptOf(blocks: readonly ShellBlock[], exports: Record<string, string>): string {
  return [
    "set -euo pipefail",
    ...Object.entries(exports).map(([name, value]) => `export ${name}='${value}'`),
    "curl() { command curl --write-out '%{stderr}README-HTTP %{http_code} %{url_effective}\\n' \"$@\"; }",
    ...blocks.flatMap((block) => [`echo "README-BLOCK ${block.line}" >&2`, block.code]),
    'echo "README-DONE" >&2',
  ].join("\n");
}

/** A request one block made: its status and URL. */
export interface ReadmeRequest {
  readonly block: number;
  readonly status: number;
  readonly url: string;
}

/** The requests a run of {@link scriptOf} made, by block, from its standard error. */
export function requestsOf(stderr: string): ReadmeRequest[] {
  let block = 0;
  const requests: ReadmeRequest[] = [];
  for (const text of stderr.split("\n")) {
    const started = /^README-BLOCK (\d+)$/.exec(text);
    if (started !== null) {
      block = Number(started[1]);
      continue;
    }
    const request = /^README-HTTP (\d{3}) (\S*)$/.exec(text);
    if (request !== null) {
      requests.push({ block, status: Number(request[1]), url: request[2] ?? "" });
    }
  }
  return requests;
}
