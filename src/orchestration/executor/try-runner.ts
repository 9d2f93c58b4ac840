/**
 * `runTry`: one try of one task, wherever it runs: the one implementation behind `windflow tasks run` (a
 * task process, `run-task.ts`: the try's inputs from the store, its end recorded there) and `windflow dags
 * test` / `tasks test` (`test-run.ts`: in this process, no store). It knows nothing of a store: the caller
 * gives the run's facts and records the outcome, so a runner with no windflow store (an external
 * orchestrator handing in run id, dates, conf and upstream values) is `runTry` plus its own input and output.
 *
 * 1. Load the task's function (`load`: a DAG file that no longer loads is a failure of the try, not a crash).
 * 2. Build the context (`makeContext`): params merged with the conf, upstream return values, dates, try number.
 * 3. Run the function against the execution timeout (the task's, else `[core] default_task_execution_timeout`)
 *    and the caller's `stop` signal: whichever comes first aborts `ctx.signal` *with* the error
 *    (`TaskTimeoutError`, `TaskKilledError`) and fails the try at once. A stop that arrives while the DAG file
 *    is loading also ends as `TaskKilledError` (a SIGTERM to the process group stops tsx's esbuild service,
 *    whose "The service was stopped" would otherwise read as a syntax error).
 * 4. Check the return value (`checkReturnValue` against `[core] max_xcom_size`).
 * 5. Say what became of it: success (with the value), skipped (`ctx.skip`), or failed, and whether the error
 *    allows another try (`isRetryable`; whether one is left is the caller's: `tryNumber < maxTries`).
 *
 * After a timeout or a stop, the function may still be running: `cleanedUp()` resolves when it settles or
 * after `[core] killed_task_cleanup_time`, whichever is first. A task process records the try first, then
 * waits for it and exits (which ends whatever the function still does); `dags test` waits for it before the
 * next task, so that a timed-out task's clean-up never overlaps the next task.
 */
import { checkReturnValue, makeContext } from "../context.js";
import { isRetryable, TaskSkip, TaskTimeoutError } from "../errors.js";
import type { DagSpec, DataInterval, Json, JsonObject, TaskFn } from "../types.js";
import { TaskKilledError } from "./errors.js";

/** An error as reported: what the CLI prints and JSON can hold. */
export interface ErrorInfo {
  name: string;
  message: string;
  hint?: string;
  stack?: string;
}

/** Plain data of an error. */
export function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof Error) {
    const info: ErrorInfo = { name: error.name, message: error.message };
    const hint = (error as { hint?: unknown }).hint;
    if (typeof hint === "string") info.hint = hint;
    if (error.stack) info.stack = error.stack;
    return info;
  }
  return { name: "Error", message: String(error) };
}

/** The task to run, once loaded. */
export interface LoadedTask {
  spec: Pick<DagSpec, "id" | "params" | "tasks" | "defaults">;
  fn: TaskFn<JsonObject>;
  /** Its execution timeout: the task's own, else the default (`[core] default_task_execution_timeout`); null: none. */
  timeoutMs: number | null;
}

/** The settings a try obeys (`[core]` in `windflow.toml`). */
export interface TrySettings {
  /** `[core] max_xcom_size`: largest return value, serialised, in bytes. */
  readonly max_xcom_size: number;
  /** `[core] killed_task_cleanup_time`: what a stopped task gets to clean up, in ms. */
  readonly killed_task_cleanup_time: number;
}

/** What `runTry` needs. */
export interface TryInput {
  dagId: string;
  taskId: string;
  /** Loads the task's function; what it throws fails the try. */
  load: () => LoadedTask;
  runId: string;
  logicalDate: Date;
  dataInterval: DataInterval;
  conf: JsonObject;
  /** 1 for the first try. */
  tryNumber: number;
  maxTries: number;
  /** Return values of the run's tasks that returned one, by task id. */
  xcoms: Readonly<Record<string, Json>>;
  /** Each `ctx.log` line. */
  log: (line: string) => void;
  settings: TrySettings;
  /** Aborting it stops the try as a SIGTERM would (`TaskKilledError`, retryable); its reason says why. */
  stop?: AbortSignal;
}

/** What became of a try. */
export interface TryOutcome {
  outcome: "success" | "skipped" | "failed";
  /** The return value, checked, if the try succeeded and returned one. */
  value?: Json;
  /** The error (or the skip), as thrown. */
  error?: unknown;
  /** For a failure: whether the error allows another try (a `XComError` or `ConfError` does not). */
  retryable: boolean;
  /** The loaded task, unless loading it failed. */
  task?: LoadedTask;
  startedAt: Date;
  durationMs: number;
  /** Resolves when a stopped function settles, or after the clean-up time; at once otherwise. */
  cleanedUp: () => Promise<void>;
}

/**
 * A try's outcome as plain data (JSON): what a runner that records nothing itself hands to the one that
 * records it (`recordTryEnd`): `windflow tasks run` in its own process, or a distributed executor for a
 * store-free try run on a worker (`external-try.ts` reports it, `bullmq.ts` records it).
 */
export interface TryReport {
  outcome: TryOutcome["outcome"];
  value?: Json;
  /** The error, or the skip (whose message says why). */
  error?: ErrorInfo;
  retryable: boolean;
  durationMs: number;
}

/** The report of an outcome (see `TryReport`). */
export function tryReport(result: TryOutcome): TryReport {
  return {
    outcome: result.outcome,
    retryable: result.retryable,
    durationMs: result.durationMs,
    ...(result.value === undefined ? {} : { value: result.value }),
    ...(result.error === undefined ? {} : { error: errorInfo(result.error) }),
  };
}

/** Runs one try (see the module comment). Never rejects: every failure is in the outcome. */
export async function runTry(input: TryInput): Promise<TryOutcome> {
  const { dagId, taskId } = input;
  const startedAt = new Date();
  const began = performance.now();
  const controller = new AbortController();
  let work: Promise<unknown> | undefined;
  let task: LoadedTask | undefined;
  let value: Json | undefined;
  let failure: unknown;
  let failed = false;
  const killed = () =>
    new TaskKilledError(
      dagId,
      taskId,
      typeof input.stop?.reason === "string" ? input.stop.reason : "stopped",
    );
  try {
    if (input.stop?.aborted) throw killed();
    try {
      task = input.load();
    } catch (error) {
      // A SIGTERM sent to the process group during a synchronous load also stops tsx's esbuild service,
      // which fails the load ("The service was stopped"): let the signal's handler run (signals are read in
      // the event loop's poll phase: two check phases later, it has run), then see.
      if (input.stop)
        for (let turn = 0; turn < 2; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
      throw error;
    }
    const ctx = makeContext({
      spec: task.spec,
      taskId,
      runId: input.runId,
      logicalDate: input.logicalDate,
      dataInterval: input.dataInterval,
      conf: input.conf,
      tryNumber: input.tryNumber,
      maxTries: input.maxTries,
      xcoms: input.xcoms,
      log: input.log,
      signal: controller.signal,
    });
    const fn = task.fn;
    work = Promise.resolve().then(() => fn(ctx));
    const returned = await stopWhen(
      work,
      controller,
      task.timeoutMs,
      input.stop,
      (ms) => new TaskTimeoutError(dagId, taskId, ms),
      killed,
    );
    value = checkReturnValue(dagId, taskId, returned, input.settings.max_xcom_size);
  } catch (error) {
    failed = true;
    // A stop during the load (or the check) is the stop, whatever it broke on the way.
    failure = input.stop?.aborted && !(error instanceof TaskTimeoutError) ? asKilled(error, killed) : error;
  }
  const durationMs = performance.now() - began;
  const stopped = failure instanceof TaskTimeoutError || failure instanceof TaskKilledError;
  const cleanupMs = input.settings.killed_task_cleanup_time;
  const outcome: TryOutcome = {
    outcome: !failed ? "success" : failure instanceof TaskSkip ? "skipped" : "failed",
    retryable: failed && !(failure instanceof TaskSkip) && isRetryable(failure),
    startedAt,
    durationMs,
    cleanedUp: () => (stopped ? settledWithin(work, cleanupMs) : Promise.resolve()),
  };
  if (task) outcome.task = task;
  if (failed) outcome.error = failure;
  else if (value !== undefined) outcome.value = value;
  return outcome;
}

function asKilled(error: unknown, killed: () => TaskKilledError): unknown {
  return error instanceof TaskKilledError ? error : killed();
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

/**
 * `work`'s value, unless the timeout expires or `stop` is aborted first: then `controller` is aborted (the
 * task's `ctx.signal`, with the error as its reason) and the promise rejects with that error.
 */
async function stopWhen<T>(
  work: Promise<T>,
  controller: AbortController,
  timeoutMs: number | null,
  stop: AbortSignal | undefined,
  onTimeout: (timeoutMs: number) => Error,
  onStop: () => Error,
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
        const error = onStop();
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
