/**
 * Waiting for something with a bound: the notebook runner's hang guards and the Jupyter server's stop.
 */
import { setTimeout as sleep } from "node:timers/promises";

/**
 * `promise`'s value, or "timeout" after `timeoutMs` (the promise is left to settle on its own; the timer is cleared
 * as soon as it does). An infinite bound means no limit (Node's timers would fire an infinite delay after 1 ms).
 */
export async function withDeadline<T>(promise: Promise<T>, timeoutMs: number): Promise<T | "timeout"> {
  if (!Number.isFinite(timeoutMs)) return promise;
  const controller = new AbortController();
  const timeout = sleep(timeoutMs, "timeout" as const, { signal: controller.signal }).catch(
    () => "timeout" as const,
  );
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    controller.abort();
  }
}
