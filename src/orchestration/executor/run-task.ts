/**
 * One try of one task instance, in the process that runs it: the body of
 * `windflow tasks run DAG TASK RUN_ID`. The scheduler never calls this: it queues the task instance and an
 * executor starts a process that does (`local.ts`).
 *
 * 1. Claim: compare-and-set `queued -> running` with this process's pid, host and log file, which starts
 *    try n + 1. A task instance that is not queued is not run (`TaskNotQueuedError`, exit code 2), so two
 *    processes can never run the same try.
 * 2. Run the try with `runTry` (`try-runner.ts`, the same code as `windflow dags test`): load the DAG's file
 *    afresh (the file recorded with the DAG in the store), build the context from the run (conf, upstream
 *    return values from the store, dates, try number), run the function against its execution timeout and
 *    this process's stop signal (SIGTERM), check the return value against `[core] max_xcom_size`.
 * 3. Record the end of the try:
 *    success (with the value), skipped (`ctx.skip`), up_for_retry with the next retry time when tries remain
 *    and the error is retryable (`isRetryable`: an `XComError` or `ConfError` is not), else failed.
 *    The move is a compare-and-set from running: if the scheduler has meanwhile failed the try (it
 *    thought the process dead), the scheduler's verdict stands.
 * 4. After a timeout or a stop, give the function its `[core] killed_task_cleanup_time`; the caller then exits
 *    the process, which ends whatever it still does. Code that never yields (a synchronous loop) cannot be
 *    stopped from inside: the executor kills the process from outside.
 *
 * Everything after the claim, a DAG file that no longer loads included, ends as a recorded failure of the
 * try, with the error in the try's log (`task-log.ts`).
 */
import { hostname as osHostname } from "node:os";
import { loadConfig, type WindflowConfig } from "../../config.js";
import { WindflowError } from "../../errors.js";
import type { Dag } from "../dag.js";
import { loadDag } from "../loader.js";
import type { TaskState } from "../state.js";
import { RecordNotFoundError } from "../store/errors.js";
import { openStore } from "../store/index.js";
import type { DagRecord, DagRunRecord, MetadataStore, TaskInstanceKey } from "../store/store.js";
import { taskOptions } from "../task-options.js";
import type { Json } from "../types.js";
import { TaskNotQueuedError, TaskProcessLostError } from "./errors.js";
import { TaskLog, taskLogPath } from "./task-log.js";
import {
  type ErrorInfo,
  errorInfo,
  type LoadedTask,
  runTry,
  type TryReport,
  tryReport,
} from "./try-runner.js";

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
  /**
   * Run only this try number (a queue's job names the try it was added for): a job delivered again after
   * the task instance moved on to a later try runs nothing (`TaskNotQueuedError`).
   */
  expectTry?: number;
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

/** A try claimed in the store (`claimTry`): what recording its end needs. */
export interface ClaimedTry extends TaskInstanceKey {
  readonly tryNumber: number;
  readonly maxTries: number;
  readonly run: DagRunRecord;
  readonly dag: DagRecord;
  readonly logPath: string;
  /** The try's log, opened before the claim (a log folder that cannot be written fails before the try starts). */
  readonly log: TaskLog;
  readonly pid: number;
  readonly hostname: string;
}

/**
 * Step 1 of the module comment: claims try n + 1 of a queued task instance (`queued -> running`, a
 * compare-and-set, with the runner's pid, host and log file) and opens its log. Throws `TaskNotQueuedError`
 * (nothing claimed) if it is not queued, or queued for another try than `expectTry`. Used by `tasks run` for
 * itself, and by a distributed executor for a store-free try its worker reports started (`bullmq.ts`).
 */
export function claimTry(
  store: MetadataStore,
  key: TaskInstanceKey,
  options: {
    config: WindflowConfig;
    pid: number;
    hostname: string;
    now: () => Date;
    expectTry?: number;
  },
): ClaimedTry {
  const { config, now } = options;
  const { dagId, runId, taskId } = key;
  const ti = store.getTaskInstance(key);
  if (!ti) throw new RecordNotFoundError("task instance", `${dagId}/${runId}/${taskId}`);
  const run = store.getRun(key);
  const dag = store.getDag(dagId);
  if (!run) throw new RecordNotFoundError("run", `${dagId}/${runId}`);
  if (!dag) throw new RecordNotFoundError("dag", dagId);
  if (ti.state !== "queued") throw new TaskNotQueuedError(dagId, runId, taskId, ti.state);
  const tryNumber = ti.tryNumber + 1;
  if (options.expectTry !== undefined && options.expectTry !== tryNumber)
    throw new TaskNotQueuedError(
      dagId,
      runId,
      taskId,
      `queued for try ${tryNumber}, not try ${options.expectTry}`,
    );
  const logPath = taskLogPath(config.logging.base_log_folder, key, tryNumber);
  const { pid, hostname } = options;
  const log = new TaskLog(logPath, now, { maxBytes: config.logging.max_bytes_per_try });
  if (!store.setTaskState(key, "queued", "running", { pid, hostname, logPath }, now())) {
    log.close();
    const state = store.getTaskInstance(key)?.state ?? "removed";
    throw new TaskNotQueuedError(dagId, runId, taskId, state);
  }
  log.write(
    "windflow",
    `try ${tryNumber} of ${ti.maxTries}: ${dagId}/${taskId}, run ${runId} (logical date ${run.logicalDate.toISOString()}), pid ${pid} on ${hostname}`,
  );
  return {
    dagId,
    runId,
    taskId,
    tryNumber,
    maxTries: ti.maxTries,
    run,
    dag,
    logPath,
    log,
    pid,
    hostname,
  };
}

/** What `recordTryEnd` made of a try's end. */
export interface RecordedEnd {
  /** The state the try's outcome called for. */
  readonly to: TaskState;
  /** The task instance's state now: `to`, or what another process set meanwhile (`recorded` false). */
  readonly state: TaskState;
  readonly recorded: boolean;
}

/**
 * Step 3 of the module comment: records the end of a claimed try from its report (success with the value,
 * skipped, up_for_retry with the next retry time, or failed), compare-and-set from running, and writes the
 * error, the hint and the result to the try's log (which stays open: the caller closes it). Throws if the
 * store cannot be written (said in the log first).
 */
export function recordTryEnd(
  store: MetadataStore,
  claimed: ClaimedTry,
  report: TryReport,
  options: { now: () => Date; retryDelayMs: number },
): RecordedEnd {
  const key: TaskInstanceKey = { dagId: claimed.dagId, runId: claimed.runId, taskId: claimed.taskId };
  const { log, tryNumber } = claimed;
  const { retryDelayMs } = options;
  const endedAt = options.now();
  let to: TaskState;
  const info = report.outcome === "success" ? undefined : report.error;
  if (report.outcome === "success") to = "success";
  else if (report.outcome === "skipped") to = "skipped";
  else to = tryNumber < claimed.maxTries && report.retryable ? "up_for_retry" : "failed";
  const value = report.value;
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
  if (info && to !== "skipped") log.write("windflow", info.stack ?? errorText(info));
  if (info?.hint) log.write("windflow", `hint: ${info.hint}`);
  const state = recorded ? to : (store.getTaskInstance(key)?.state ?? to);
  log.write(
    "windflow",
    recorded
      ? `${to}${to === "up_for_retry" ? ` (next try after ${new Date(endedAt.getTime() + retryDelayMs).toISOString()})` : ""}${value === undefined ? "" : `, returned ${truncate(JSON.stringify(value), 200)}`} in ${Math.round(report.durationMs)} ms`
      : `the try ended ${to}, but the task instance is ${state} now (set by another process): not recorded`,
  );
  return { to, state, recorded };
}

/** The retry delay of a task as the store's DAG spec says (the DAG's default if the task left it). */
export function storedRetryDelayMs(dag: DagRecord | undefined, taskId: string): number {
  try {
    if (dag) return taskOptions(dag.spec, taskId).retryDelayMs;
  } catch {
    // The task left the DAG: the DAG's default delay.
  }
  return dag?.spec.defaults.retryDelayMs ?? 0;
}

async function claimAndRun(
  options: RunTaskInstanceOptions,
  config: WindflowConfig,
  store: MetadataStore,
): Promise<TaskRunOutcome> {
  const now = options.now ?? (() => new Date());
  const key: TaskInstanceKey = { dagId: options.dagId, runId: options.runId, taskId: options.taskId };
  const { dagId, runId, taskId } = key;
  const claimed = claimTry(store, key, {
    config,
    pid: options.pid ?? process.pid,
    hostname: options.hostname ?? osHostname(),
    now,
    ...(options.expectTry === undefined ? {} : { expectTry: options.expectTry }),
  });
  const { log, tryNumber, run, logPath } = claimed;
  try {
    if (options.captureStdio) log.captureStdio();
    const result = await runTry({
      dagId,
      taskId,
      load: () => loadedTask(loadDag(claimed.dag.fileloc, dagId, { fresh: true }), taskId, config),
      runId,
      logicalDate: run.logicalDate,
      dataInterval: run.dataInterval,
      conf: run.conf,
      tryNumber,
      maxTries: claimed.maxTries,
      xcoms: store.xcoms(key),
      log: (line) => log.write("task", line),
      settings: config.core,
      ...(options.stop ? { stop: options.stop } : {}),
    });
    const retryDelayMs = result.task
      ? taskOptions(result.task.spec, taskId).retryDelayMs
      : claimed.dag.spec.defaults.retryDelayMs;
    const report = tryReport(result);
    const { to, state, recorded } = recordTryEnd(store, claimed, report, { now, retryDelayMs });
    // Give a stopped task its clean-up time before the caller exits the process (which ends it).
    await result.cleanedUp();
    const value = report.value;
    const info = report.error;
    const outcome: TaskRunOutcome = {
      ...key,
      state,
      tryNumber,
      exitCode: recorded && (to === "success" || to === "skipped") ? EXIT_CODES.success : EXIT_CODES.failed,
      logPath,
      durationMs: report.durationMs,
      recorded,
      ...(value === undefined ? {} : { returnValue: value }),
      ...(info ? { error: info } : {}),
    };
    return outcome;
  } finally {
    log.close();
  }
}

/**
 * The task `taskId` of a loaded DAG, as a try runs it: its function, and its execution timeout (the task's
 * own, else `[core] default_task_execution_timeout`).
 */
export function loadedTask(dag: Dag, taskId: string, config: Pick<WindflowConfig, "core">): LoadedTask {
  const opts = taskOptions(dag.spec, taskId);
  return {
    spec: dag.spec,
    fn: dag.callable(taskId),
    timeoutMs: opts.executionTimeoutMs ?? config.core.default_task_execution_timeout,
  };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
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
  const retryDelayMs = storedRetryDelayMs(store.getDag(key.dagId), key.taskId);
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
  options: {
    config?: WindflowConfig;
    /** A store opened ahead (a warm process's): used, not closed. @default opened and closed here */
    store?: MetadataStore;
    stderr?: (line: string) => void;
    expectTry?: number;
  } = {},
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
      ...(options.store ? { store: options.store } : {}),
      captureStdio: true,
      stop: stop.signal,
      ...(options.expectTry === undefined ? {} : { expectTry: options.expectTry }),
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
