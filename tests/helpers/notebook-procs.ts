/**
 * Process checks for the notebook tests: the runner promises that no Jupyter server or tslab kernel
 * outlives a run, and the only way to test that is to look at the process table (Linux /proc).
 */
import { readdirSync, readFileSync } from "node:fs";

/** The pids of every process below `pid` (kernels included: they are the server's children). */
export function descendantPids(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // Exited while we were reading.
    }
  }
  const found: number[] = [];
  const queue = [pid];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const [child, parent] of parentOf) {
      if (parent === next) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

/** The command line of a process, or undefined once it is gone (zombies count as gone). */
export function commandLine(pid: number): string | undefined {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, "utf8");
    if (state.slice(state.lastIndexOf(")") + 2).startsWith("Z")) return undefined;
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
  } catch {
    return undefined;
  }
}

/** Polls until `pids` are all gone or `timeoutMs` passed; returns the survivors with their command lines. */
export async function survivors(pids: readonly number[], timeoutMs = 30_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.flatMap((pid) => {
      const cmd = commandLine(pid);
      return cmd === undefined ? [] : [`${pid} ${cmd}`];
    });
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
