/** Process ids for tests of what dead processes leave behind (Linux /proc). */
import { existsSync, readFileSync } from "node:fs";

/** A pid no process has (checked): a writer killed with -9. Taken from the top of the range, rarely reused. */
export function deadPid(): number {
  const max = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8"));
  for (let pid = max - 1; pid > max - 1000; pid--) if (!existsSync(`/proc/${pid}`)) return pid;
  throw new Error("no free pid found");
}
