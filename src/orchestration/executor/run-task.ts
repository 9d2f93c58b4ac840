/**
 * One try of one task instance, in the process that runs it: the body of
 * `windflow tasks run DAG TASK RUN_ID`. The scheduler never calls this: it queues the task instance and an
 * executor starts a process that does (`local.ts`).
 *
 * 1. Claim: compare-and-set `queued -> running` with this process's pid, host and log file, which starts
 *    try n + 1. A task instance that is not queued is not run (`TaskNotQueuedError`, exit code 2), so two
 *    processes can never run the same try.
 * 2. Load the DAG's file afresh (the file recorded with the DAG in the store) and find the task's function.
 * 3. Build the context (`makeContext`): params merged with the run's conf, the return values of upstream
 *    tasks from the store, logical date, stamp, try number.
 * 4. Run the function against the task's execution timeout: when it expires, `ctx.signal` is aborted and the
 *    try fails at once; the task may clean up for `[core] killed_task_cleanup_time`, then the process exits
 *    (which ends whatever the function still does). A SIGTERM does the same. Code that never yields (a
 *    synchronous loop) cannot be stopped from inside: the executor kills the process from outside.
 * 5. Check the return value (`checkReturnValue`, `[core] max_xcom_size`) and record the end of the try:
 *    success (with the value), skipped (`ctx.skip`), up_for_retry with the next retry time when tries remain
 *    and the error is retryable (`isRetryable`: an `XComError` or `ConfError` is not), else failed.
 *    The move is a compare-and-set from running: if the scheduler has meanwhile failed the try (it
 *    thought the process dead), the scheduler's verdict stands.
 *
 * Everything after the claim, a DAG file that no longer loads included, ends as a recorded failure of the
 * try, with the error in the try's log (`task-log.ts`).
 */
import { hostname as osHostname } from "node:os";
import { loadConfig, type WindflowConfig } from "../../config.js";
import { WindflowError } from "../../errors.js";
import { checkReturnValue, makeContext } from "../context.js";
import { isRetryable, TaskSkip, TaskTimeoutError } from "../errors.js";
import { loadDag } from "../loader.js";
import type { TaskState } from "../state.js";
import { RecordNotFoundError } from "../store/errors.js";
import { openStore } from "../store/index.js";
import type { MetadataStore, TaskInstanceKey } from "../store/store.js";
import { taskOptions } from "../task-options.js";
import { type ErrorInfo, errorInfo } from "../test-run.js";
import type { Json } from "../types.js";
import { TaskKilledError, TaskNotQueuedError, TaskProcessLostError } from "./errors.js";
import { TaskLog, taskLogPath } from "./task-log.js";

/** Exit codes of `windflow tasks run`. */
export const EXIT_CODES = {
  /** The try succeeded (or the task skipped itself). */
  success: 0,
  /** The try failed (up_for_retry or failed), or its end could not be recorded. */
  failed: 1,
  /** Nothing was run: bad arguments, no such task instance, not queued, store or config unreadable. */
  notRun: 2,
} as const;

/** Options of `runTaskInstance`. */
export interface RunTaskInstanceOptions extends TaskInstanceKey {
  /** @default loadConfig() */
  config?: WindflowConfig;
  /** @default openStore(config), closed at the end */
  store?: MetadataStore;
  /**
   * Also route this process's stdout/stderr (console.log...) into the try's log. For a process that runs
   * one try (the CLI); in-process callers (tests) leave it off. @default false
   */
  captureStdio?: boolean;
  /** Aborting it stops the try as a SIGTERM would (`TaskKilledError`, retryable). */
  stop?: AbortSignal;
  /** @default os.hostname() */
  hostname?: string;
  /** @default process.pid */
  pid?: number;
  /** The clock. @default () => new Date() */
  now?: () => Date;
}

/** What became of the try. */
export interface TaskRunOutcome extends TaskInstanceKey {
  /** The task instance's state after the try: success, skipped, up_for_retry, failed (or what another process set). */
  readonly state: TaskState;
  readonly tryNumber: number;
  readonly exitCode: number;
  readonly logPath: string;
  readonly durationMs: number;
  /** The stored return value, if the task succeeded and returned one. */
  readonly returnValue?: Json;
  readonly error?: ErrorInfo;
  /** False if the end of the try could not be recorded because the state had been changed meanwhile. */
  readonly recorded: boolean;
}

/** The error as stored in the task instance: `Name: message`, and the hint on its own line. */
export function errorText(info: ErrorInfo): string {
  return `${info.name}: ${info.message}${info.hint ? `\nhint: ${info.hint}` : ""}`;
}

/** Resolves when `work` settles or after `ms`, whichever is first (leaving no timer behind). */
async function settledWithin(work: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!work) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.then(
      () => {},
      () => {},
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** Runs one try of a queued task instance in this process (see the module comment). */
export async function runTaskInstance(options: RunTaskInstanceOptions): Promise<TaskRunOutcome> {
  const config = options.config ?? loadConfig();
  const store = options.store ?? openStore(config);
  try {
    return await claimAndRun(options, config, store);
  } finally {
    if (!options.store) store.close();
  }
}

async function claimAndRun(
  options: RunTaskInstanceOptions,
  config: WindflowConfig,
  store: MetadataStore,
): Promise<TaskRunOutcome> {
  const now = options.now ?? (() => new Date());
  const key: TaskInstanceKey = { dagId: options.dagId, runId: options.runId, taskId: options.taskId };
  const { dagId, runId, taskId } = key;
  const ti = store.getTaskInstance(key);
  if (!ti) throw new RecordNotFoundError("task instance", `${dagId}/${runId}/${taskId}`);
  const run = store.getRun(key);
  const dagRecord = store.getDag(dagId);
  if (!run) throw new RecordNotFoundError("run", `${dagId}/${runId}`);
  if (!dagRecord) throw new RecordNotFoundError("dag", dagId);
  if (ti.state !== "queued") throw new TaskNotQueuedError(dagId, runId, taskId, ti.state);

  const tryNumber = ti.tryNumber + 1;
  const logPath = taskLogPath(config.logging.base_log_folder, key, tryNumber);
  const pid = options.pid ?? process.pid;
  const host = options.hostname ?? osHostname();
  // Opened before the claim: a log folder that cannot be written fails here, before the try has started.
  const log = new TaskLog(logPath, now, { maxBytes: config.logging.max_bytes_per_try });
  if (!store.setTaskState(key, "queued", "running", { pid, hostname: host, logPath }, now())) {
    log.close();
    const state = store.getTaskInstance(key)?.state ?? "removed";
    throw new TaskNotQueuedError(dagId, runId, taskId, state);
  }
  const began = performance.now();
  const controller = new AbortController();
  let work: Promise<unknown> | undefined;
  try {
    if (options.captureStdio) log.captureStdio();
    log.write(
      "windflow",
      `try ${tryNumber} of ${ti.maxTries}: ${dagId}/${taskId}, run ${runId} (logical date ${run.logicalDate.toISOString()}), pid ${pid} on ${host}`,
    );
    let returned: unknown;
    let failure: unknown;
    let timeoutMs: number | null = null;
    let retryDelayMs = dagRecord.spec.defaults.retryDelayMs;
    try {
      const dag = loadDag(dagRecord.fileloc, dagId, { fresh: true });
      const spec = dag.spec;
      const opts = taskOptions(spec, taskId);
      timeoutMs = opts.executionTimeoutMs ?? config.core.default_task_execution_timeout;
      retryDelayMs = opts.retryDelayMs;
      const fn = dag.callable(taskId);
      const ctx = makeContext({
        spec,
        taskId,
        runId,
        logicalDate: run.logicalDate,
        dataInterval: run.dataInterval,
        conf: run.conf,
        tryNumber,
        maxTries: ti.maxTries,
        xcoms: store.xcoms(key),
        log: (line) => log.write("task", line),
        signal: controller.signal,
      });
      work = Promise.resolve().then(() => fn(ctx));
      returned = await stopWhen(
        work,
        controller,
        timeoutMs,
        options.stop,
        (ms) => new TaskTimeoutError(dagId, taskId, ms),
        (reason) => new TaskKilledError(dagId, taskId, reason),
      );
      returned = checkReturnValue(dagId, taskId, returned, config.core.max_xcom_size);
    } catch (error) {
      failure = error;
    }

    const endedAt = now();
    let to: TaskState;
    let info: ErrorInfo | undefined;
    if (failure === undefined) to = "success";
    else if (failure instanceof TaskSkip) {
      to = "skipped";
      info = errorInfo(failure);
    } else {
      info = errorInfo(failure);
      to = tryNumber < ti.maxTries && isRetryable(failure) ? "up_for_retry" : "failed";
    }
    const value = failure === undefined ? (returned as Json | undefined) : undefined;
    let recorded: boolean;
    try {
      recorded = store.setTaskState(
        key,
        "running",
        to,
        {
          ...(value === undefined ? {} : { returnValue: value }),
          ...(info ? { error: to === "skipped" ? info.message : errorText(info) } : {}),
          ...(to === "up_for_retry" ? { nextRetryAt: new Date(endedAt.getTime() + retryDelayMs) } : {}),
        },
        endedAt,
      );
    } catch (error) {
      // The store is unreachable (locked past busy_timeout...): say so in the log; the scheduler will find
      // the task instance running with a dead process and end the try.
      log.write("windflow", `the try ended ${to}, but recording it failed: ${errorText(errorInfo(error))}`);
      throw error;
    }
    const durationMs = performance.now() - began;
    if (info && to !== "skipped") log.write("windflow", info.stack ?? errorText(info));
    if (info?.hint) log.write("windflow", `hint: ${info.hint}`);
    const finalState = recorded ? to : (store.getTaskInstance(key)?.state ?? to);
    log.write(
      "windflow",
      recorded
        ? `${to}${to === "up_for_retry" ? ` (next try after ${new Date(endedAt.getTime() + retryDelayMs).toISOString()})` : ""}${value === undefined ? "" : `, returned ${truncate(JSON.stringify(value), 200)}`} in ${Math.round(durationMs)} ms`
        : `the try ended ${to}, but the task instance is ${finalState} now (set by another process): not recorded`,
    );
    // Give a stopped task its clean-up time before the caller exits the process (which ends it).
    if (failure instanceof TaskTimeoutError || failure instanceof TaskKilledError)
      await settledWithin(work, config.core.killed_task_cleanup_time);
    const outcome: TaskRunOutcome = {
      ...key,
      state: finalState,
      tryNumber,
      exitCode: recorded && (to === "success" || to === "skipped") ? EXIT_CODES.success : EXIT_CODES.failed,
      logPath,
      durationMs,
      recorded,
      ...(value === undefined ? {} : { returnValue: value }),
      ...(info ? { error: info } : {}),
    };
    return outcome;
  } finally {
    log.close();
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

/**
 * `work`'s value, unless the timeout expires or `stop` is aborted first: then `controller` is aborted (the
 * task's `ctx.signal`) and the promise rejects with the matching error.
 */
async function stopWhen<T>(
  work: Promise<T>,
  controller: AbortController,
  timeoutMs: number | null,
  stop: AbortSignal | undefined,
  onTimeout: (timeoutMs: number) => Error,
  onStop: (reason: string) => Error,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    if (timeoutMs !== null)
      timer = setTimeout(() => {
        const error = onTimeout(timeoutMs);
        controller.abort(error);
        reject(error);
      }, timeoutMs);
    if (stop) {
      onAbort = () => {
        const error = onStop(typeof stop.reason === "string" ? stop.reason : "stopped");
        controller.abort(error);
        reject(error);
      };
      if (stop.aborted) onAbort();
      else stop.addEventListener("abort", onAbort, { once: true });
    }
  });
  try {
    return await Promise.race([work, stopped]);
  } finally {
    clearTimeout(timer);
    if (onAbort) stop?.removeEventListener("abort", onAbort);
    // The abandoned work may still reject later: not an unhandled rejection.
    work.catch(() => {});
  }
}

/**
 * For the scheduler: ends the running try of a task instance whose process died or was killed without
 * recording it (a zombie, a hard kill past the timeout): up_for_retry (next retry after the task's retry
 * delay, from the stored spec) if tries remain, else failed; the reason goes to the task instance's error and
 * the try's log. Compare-and-set from running: returns the new state, or undefined if the task instance was
 * not running any more (its process recorded the end after all).
 */
export function finishLostTry(
  store: MetadataStore,
  key: TaskInstanceKey,
  reason: string,
  options: { now?: Date; retryable?: boolean } = {},
): TaskState | undefined {
  const now = options.now ?? new Date();
  const ti = store.getTaskInstance(key);
  if (ti?.state !== "running") return undefined;
  const dag = store.getDag(key.dagId);
  let retryDelayMs = dag?.spec.defaults.retryDelayMs ?? 0;
  try {
    if (dag) retryDelayMs = taskOptions(dag.spec, key.taskId).retryDelayMs;
  } catch {
    // The task left the DAG: the DAG's default delay.
  }
  const error = new TaskProcessLostError(key.dagId, key.taskId, reason);
  const to: TaskState = ti.tryNumber < ti.maxTries && options.retryable !== false ? "up_for_retry" : "failed";
  const next = new Date(now.getTime() + retryDelayMs);
  const done = store.setTaskState(
    key,
    "running",
    to,
    { error: errorText(errorInfo(error)), ...(to === "up_for_retry" ? { nextRetryAt: next } : {}) },
    now,
  );
  if (!done) return undefined;
  if (ti.logPath) {
    try {
      const log = new TaskLog(ti.logPath, () => now);
      log.write(
        "windflow",
        `${error.message}: ${to}${to === "up_for_retry" ? ` (next try after ${next.toISOString()})` : ""}`,
      );
      log.close();
    } catch {
      // A log folder that is gone does not stop the state change.
    }
  }
  return to;
}

/** Usage of `tasks run`, for messages. */
export const TASKS_RUN_USAGE = "windflow tasks run DAG_ID TASK_ID RUN_ID";

/**
 * `windflow tasks run DAG TASK RUN_ID` as a function of its arguments: runs the try with the process's
 * stdout/stderr captured into the log, stops the try on SIGTERM/SIGINT, prints errors that prevent the run
 * to stderr, and returns the exit code (`EXIT_CODES`). The caller exits the process with it, which also ends
 * any work a stopped task left behind.
 */
export async function tasksRunMain(
  argv: readonly string[],
  options: { config?: WindflowConfig; stderr?: (line: string) => void } = {},
): Promise<number> {
  const say = options.stderr ?? ((line: string) => process.stderr.write(`${line}\n`));
  const [dagId, taskId, runId, ...rest] = argv;
  if (!dagId || !taskId || !runId || rest.length > 0) {
    say(`usage: ${TASKS_RUN_USAGE}`);
    return EXIT_CODES.notRun;
  }
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => stop.abort(`received ${signal}`);
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    const outcome = await runTaskInstance({
      dagId,
      taskId,
      runId,
      ...(options.config ? { config: options.config } : {}),
      captureStdio: true,
      stop: stop.signal,
    });
    return outcome.exitCode;
  } catch (error) {
    if (error instanceof WindflowError) {
      say(`error: ${error.message}`);
      if (error.hint) say(`hint: ${error.hint}`);
    } else say(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return EXIT_CODES.notRun;
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}
