/**
 * A full garbage collection on demand. nodejs-polars frames hold their columns in native memory that V8 does not
 * count: a notebook that drops a few whole frames (prepareFeaturesSteps makes one per rule) leaves hundreds of MB
 * of unreachable frames alive until a collection happens to run, and none is due while the JS heap stays small
 * (issue 11: notebook 02's kernel held 700 MB of such frames before training). `global.gc` exists only under
 * `--expose-gc`; the flag can be set at run time and the function taken from a fresh context (Node's own tests
 * do this). The frames' native memory is released by their finalizers, which run on a later turn of the event
 * loop: `collectGarbageSoon` waits for them.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | null | undefined;

/** Runs a full collection now (no-op if the runtime refuses). */
export function collectGarbage(): void {
  if (gc === undefined) {
    try {
      const exposed = (globalThis as { gc?: () => void }).gc;
      if (exposed) gc = exposed;
      else {
        setFlagsFromString("--expose-gc");
        gc = runInNewContext("gc") as () => void;
      }
    } catch {
      gc = null;
    }
  }
  gc?.();
}

/** Collects, then lets the finalizers of what was collected run (native memory is freed by them). */
export async function collectGarbageSoon(): Promise<void> {
  collectGarbage();
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Runs `work`, then collects what it dropped, whether it succeeded or failed: for steps that read whole frames
 * and return something small (a step of `withIO` returns the paths it wrote), so a notebook calling several of
 * them does not pile up their frames (issue 11: notebook 03's kernel held 2.5 GB of dropped frames).
 */
export async function collectingAfter<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    await collectGarbageSoon();
  }
}
