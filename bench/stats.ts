/** What every bench script shares: its command-line values and the statistics it reports. */
import { CONFIG_OPTIONS } from "../dist/config.js";

/** `[scheduler] warm_task_processes` by default: the warm set-up the benchmarks measure is what users run. */
export const DEFAULT_WARM = Number.parseInt(CONFIG_OPTIONS.scheduler.warm_task_processes.default, 10);

/** The value after `--name` on the command line, or `fallback`. */
export const argValue = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};

/** The `q` quantile of `xs` (nearest rank: a value that was measured). */
export const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
};

export interface Stats {
  median: number;
  p95: number;
  min: number;
  max: number;
}

/** Median and p95 (nearest rank), min and max of `xs`. */
export const stats = (xs: readonly number[]): Stats => ({
  median: quantile(xs, 0.5),
  p95: quantile(xs, 0.95),
  min: Math.min(...xs),
  max: Math.max(...xs),
});

/** Polls `fn` every 20 ms until it gives a value; an error naming `what` past `timeoutMs` (a hang guard). */
export async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
