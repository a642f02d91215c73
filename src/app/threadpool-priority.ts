import { pbkdf2 } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { setPriority } from "node:os";
import { promisify } from "node:util";

/** How much lower than the event loop libuv's threadpool runs (nice +10 on Linux). */
const threadpoolNice = 10;

/** CPU time (clock ticks) each thread of this process has used so far. */
function cpuTicksByThread(): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const id of readdirSync("/proc/self/task")) {
    try {
      const fields = readFileSync(`/proc/self/task/${id}/stat`, "utf8").split(") ")[1]?.split(" ");
      ticks.set(Number(id), Number(fields?.[11] ?? 0) + Number(fields?.[12] ?? 0));
    } catch {
      // The thread ended while we looked.
    }
  }
  return ticks;
}

/**
 * Lowers the scheduling priority of libuv's threadpool, so that argon2 hashes (which run
 * there) yield the CPU to the event loop that answers Validate: a login storm then slows
 * logins, not every other service's requests. The pool's threads are found by giving each
 * a short piece of work and seeing which threads used the CPU for it; lowering a priority
 * needs no privilege. Linux only; elsewhere it does nothing. Returns how many it lowered.
 */
export async function deprioritizeThreadpool(
  poolSize = Number(process.env.UV_THREADPOOL_SIZE ?? 4),
): Promise<number> {
  if (process.platform !== "linux") {
    return 0;
  }
  const before = cpuTicksByThread();
  const work = promisify(pbkdf2);
  await Promise.all(Array.from({ length: poolSize }, () => work("", "", 200_000, 8, "sha256")));
  // The pool's threads are the busiest ones; a GC or compiler thread may have worked a little too.
  const busiest = [...cpuTicksByThread()]
    .map(([id, ticks]) => ({ id, used: ticks - (before.get(id) ?? 0) }))
    .filter(({ id, used }) => id !== process.pid && used >= 2)
    .sort((a, b) => b.used - a.used)
    .slice(0, poolSize);
  for (const { id } of busiest) {
    setPriority(id, threadpoolNice);
  }
  return busiest.length;
}
