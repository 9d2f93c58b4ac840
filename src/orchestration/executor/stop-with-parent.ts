/**
 * A try process started by `windflow worker` (bullmq-worker.ts sets `WINDFLOW_STOP_WITH_PARENT=1`) must not outlive
 * its worker: the scheduler retries a try whose worker died, on another worker, and a try never runs twice at once.
 *
 * - stdin is a pipe from the worker: when it closes (the worker is gone, even killed -9), `stop` runs: the try is
 *   stopped as on SIGTERM and records a retryable end;
 * - that needs the process's main thread. A task stuck in synchronous code (`for (;;) {}`) never lets it run, so a
 *   watchdog thread (a worker thread: it runs while the main thread is held) watches the parent process id (the
 *   worker's pid, `WINDFLOW_PARENT_PID`, as the worker passed it) and, once the worker is gone and `graceMs` have
 *   passed (the try's clean-up time: `WINDFLOW_PARENT_GONE_KILL_MS`,
 *   from `[core] killed_task_cleanup_time` + 1 s), kills the try's process group with SIGKILL. A try that stopped in time has
 *   exited before (the thread is unref'd: it never keeps a process alive).
 */
import { Worker } from "node:worker_threads";

/** The watchdog thread's code: sleeps (Atomics.wait, no event loop needed) until the parent changes, then kills. */
const WATCHDOG = `
const { workerData } = require("node:worker_threads");
const nap = new Int32Array(new SharedArrayBuffer(4));
while (process.ppid === workerData.ppid) Atomics.wait(nap, 0, 0, workerData.pollMs);
Atomics.wait(nap, 0, 0, workerData.graceMs);
// The try leads its own process group (the worker starts it detached): what the task started goes with it.
try { process.kill(-process.pid, "SIGKILL"); } catch {}
process.kill(process.pid, "SIGKILL");
`;

/** Default grace when the worker does not say: `[core] killed_task_cleanup_time`'s default (5 s) + 1 s. */
const DEFAULT_GRACE_MS = 6000;

/**
 * Stops the try (`stop`) when the worker's pipe on stdin closes, and kills the process if it is still there
 * `graceMs` after the worker is gone. Call once, at the start of a try process, when `WINDFLOW_STOP_WITH_PARENT`
 * is "1".
 */
export function stopWithParent(
  stop: () => void,
  graceMs = Number(process.env.WINDFLOW_PARENT_GONE_KILL_MS) || DEFAULT_GRACE_MS,
): void {
  process.stdin.on("close", stop);
  process.stdin.on("error", () => {});
  process.stdin.resume();
  const watchdog = new Worker(WATCHDOG, {
    eval: true,
    // The worker's pid as the worker gave it (a worker that died before this line is already "gone").
    workerData: { ppid: Number(process.env.WINDFLOW_PARENT_PID) || process.ppid, graceMs, pollMs: 250 },
    // Nothing of the process's own options (--import tsx, a heap size) is needed by this loop.
    execArgv: [],
    stdout: false,
    stderr: false,
  });
  watchdog.unref();
  watchdog.on("error", () => {});
}
