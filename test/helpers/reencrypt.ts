import { runReencrypt } from "../../src/app/reencrypt-main.js";

/** Runs `keycard reencrypt`'s work in this process; its exit code and the lines it said. */
export async function reencryptMain(
  env: Record<string, string>,
): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await runReencrypt(env, (line) => lines.push(line));
  return { code, lines };
}
