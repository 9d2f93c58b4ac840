/**
 * `testDag`: runs a whole DAG in this process, with no database and no scheduler (`windflow dags test`,
 * what Airflow's `dag.test()` should have been). It goes through the same pieces as a real run: the state
 * machine (`transition`), readiness and trigger rules (`evaluate`), the effective task options
 * (`taskOptions`), and each try is run by `runTry` (`executor/try-runner.ts`) as in a task process: the
 * same context, timeout (the task's, else `[core] default_task_execution_timeout`), abort reason, return
 * value check (`[core] max_xcom_size`) and clean-up time (`[core] killed_task_cleanup_time`).
 *
 * Differences from a real run, on purpose:
 * - tasks run one at a time, in topological order (declaration order among tasks ready together), so that
 *   the output is deterministic and readable;
 * - the retry delay is 0 by default (a test wants the verdict now); `retryDelayMs: "dag"` keeps the DAG's;
 * - an execution timeout fails the try and aborts `ctx.signal`, but cannot kill the function: the next task
 *   waits for it at most the clean-up time, then code that ignores the signal goes on in the background (a
 *   real executor kills the task's process).
 */
import { loadConfig, type WindflowConfig } from "../config.js";
import { timestamp } from "../io/dated.js";
import { mergeParams } from "./context.js";
import type { Dag } from "./dag.js";
import { type ErrorInfo, errorInfo, runTry } from "./executor/try-runner.js";
import { evaluate, runState } from "./readiness.js";
import { manualRun } from "./schedule.js";
import { type RunState, runTransition, TASK_FAILED, type TaskState, transition } from "./state.js";
import { findTask, taskOptions } from "./task-options.js";
import type { Json, JsonObject } from "./types.js";

/** Options of `testDag`. */
export interface TestDagOptions {
  /** The run's logical date. @default now, to the second (as a manual trigger) */
  logicalDate?: Date | string;
  /** The trigger's conf: overrides params. @default {} */
  conf?: JsonObject;
  /** @default `test__{YYYYmmdd-HHMMSS}` of the logical date */
  runId?: string;
  /** Wait between tries: a number of ms for every task, or "dag" for each task's own. @default 0 */
  retryDelayMs?: number | "dag";
  /** Fail tries that run past their execution timeout. @default true */
  timeouts?: boolean;
  /**
   * The settings a try obeys, as in a task process. @default `loadConfig().core` (the home's windflow.toml
   * and WINDFLOW__CORE__* variables)
   */
  core?: Pick<
    WindflowConfig["core"],
    "max_xcom_size" | "killed_task_cleanup_time" | "default_task_execution_timeout"
  >;
  /** Largest return value, serialised. @default `core.max_xcom_size` (64 KiB unless set) */
  xcomMaxBytes?: number;
  /** Progress: a try starts, a try failed and will be retried, a task finished. */
  onTask?: (event: TestRunEvent) => void;
  /** Receives each `ctx.log` line as it is written (they are also in the result). */
  log?: (taskId: string, line: string) => void;
  /**
   * Run only this task (`windflow tasks test`), whatever its trigger rule; the others do not run, and the
   * run's state is the task's. Its upstream tasks' return values come from `xcoms`.
   */
  only?: string;
  /** Return values of upstream tasks, by task id, for `only`. @default {} */
  xcoms?: Record<string, Json>;
}

export { type ErrorInfo, errorInfo } from "./executor/try-runner.js";

/** One try of a task. */
export interface TryResult {
  tryNumber: number;
  startedAt: Date;
  durationMs: number;
  outcome: "success" | "failed" | "skipped";
  error?: ErrorInfo;
  logs: string[];
}

/** A task at the end of the test run. */
export interface TaskResult {
  taskId: string;
  /** A terminal state: success, failed, skipped, upstream_failed. */
  state: TaskState;
  /** Empty for a task that never ran (skipped or upstream_failed by its trigger rule). */
  tries: TryResult[];
  /** Time spent in its tries (retry delays not counted). */
  durationMs: number;
  /** Its return value, if it succeeded and returned one. */
  value?: Json;
  /** The last try's error, or the skip reason, if any. */
  error?: ErrorInfo;
}

export type TestRunEvent =
  | { type: "start"; taskId: string; tryNumber: number }
  | { type: "retry"; taskId: string; tryNumber: number; error: ErrorInfo; delayMs: number }
  | { type: "finish"; task: TaskResult };

/** The outcome of `testDag`. */
export interface TestRunResult {
  dagId: string;
  runId: string;
  logicalDate: Date;
  /** `YYYYmmdd-HHMMSS` of the logical date: the stamp dated files of this run use. */
  stamp: string;
  params: JsonObject;
  state: Exclude<RunState, "queued" | "running">;
  /** Every task, in the order they finished (tasks that never ran: when their fate was decided). */
  tasks: TaskResult[];
  durationMs: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs every task of `dag` in this process (see the module comment) and reports each task's outcome. */
export async function testDag(dag: Dag, options: TestDagOptions = {}): Promise<TestRunResult> {
  const spec = dag.spec;
  const began = performance.now();
  const { logicalDate, stamp, dataInterval } = manualRun(new Date(), options.logicalDate);
  const runId = options.runId ?? `test__${timestamp(logicalDate)}`;
  const conf = options.conf ?? {};
  const params = mergeParams(spec, conf); // a bad conf fails before any task runs
  const core = options.core ?? loadConfig().core;
  const settings = {
    max_xcom_size: options.xcomMaxBytes ?? core.max_xcom_size,
    killed_task_cleanup_time: core.killed_task_cleanup_time,
  };
  const states: Record<string, TaskState> = Object.fromEntries(
    spec.tasks.map((t) => [t.id, "none" as TaskState]),
  );
  const xcoms: Record<string, Json> = { ...options.xcoms };
  const results: TaskResult[] = [];
  let run: RunState = runTransition("queued", "running");

  const finish = (result: TaskResult) => {
    results.push(result);
    options.onTask?.({ type: "finish", task: result });
  };

  if (options.only !== undefined) {
    const only = findTask(spec, options.only).id;
    states[only] = transition("none", "scheduled");
    const result = await runTask(only);
    finish(result);
    run = runTransition(run, TASK_FAILED.has(result.state) ? "failed" : "success");
    return outcome();
  }

  for (;;) {
    const { ready, decided } = evaluate(spec, states);
    for (const { taskId, state } of decided) {
      states[taskId] = transition(states[taskId] ?? "none", state);
      finish({ taskId, state, tries: [], durationMs: 0 });
    }
    const next = ready[0];
    if (next === undefined) break;
    states[next] = transition(states[next] ?? "none", "scheduled");
    const result = await runTask(next);
    finish(result);
  }
  const final = runState(spec, states);
  if (final === "running")
    throw new Error(`testDag: run of ${spec.id} stopped with unfinished tasks (a bug)`);
  run = runTransition(run, final);
  return outcome();

  function outcome(): TestRunResult {
    return {
      dagId: spec.id,
      runId,
      logicalDate,
      stamp,
      params,
      state: run as TestRunResult["state"],
      tasks: results,
      durationMs: performance.now() - began,
    };
  }

  async function runTask(taskId: string): Promise<TaskResult> {
    const opts = taskOptions(spec, taskId);
    const maxTries = opts.retries + 1;
    const delay = options.retryDelayMs === "dag" ? opts.retryDelayMs : (options.retryDelayMs ?? 0);
    const timeout =
      options.timeouts === false ? null : (opts.executionTimeoutMs ?? core.default_task_execution_timeout);
    const fn = dag.callable(taskId);
    const tries: TryResult[] = [];
    for (let tryNumber = 1; ; tryNumber++) {
      states[taskId] = transition(states[taskId] ?? "none", "queued");
      states[taskId] = transition("queued", "running");
      options.onTask?.({ type: "start", taskId, tryNumber });
      const logs: string[] = [];
      const ran = await runTry({
        dagId: spec.id,
        taskId,
        load: () => ({ spec, fn, timeoutMs: timeout }),
        runId,
        logicalDate,
        dataInterval,
        conf,
        tryNumber,
        maxTries,
        xcoms,
        log: (line) => {
          logs.push(line);
          options.log?.(taskId, line);
        },
        settings,
      });
      // A timed-out function gets its clean-up time before the next try or task, as in a task process.
      await ran.cleanedUp();
      const { outcome, error } = ran;
      if (ran.value !== undefined) xcoms[taskId] = ran.value;
      const attempt: TryResult = {
        tryNumber,
        startedAt: ran.startedAt,
        durationMs: ran.durationMs,
        outcome,
        logs,
      };
      if (outcome !== "success") attempt.error = errorInfo(error);
      tries.push(attempt);
      const durationMs = tries.reduce((sum, t) => sum + t.durationMs, 0);

      if (outcome === "success") {
        states[taskId] = transition("running", "success");
        const result: TaskResult = { taskId, state: "success", tries, durationMs };
        if (xcoms[taskId] !== undefined) result.value = xcoms[taskId];
        return result;
      }
      if (outcome === "skipped") {
        states[taskId] = transition("running", "skipped");
        return { taskId, state: "skipped", tries, durationMs, error: errorInfo(error) };
      }
      if (tryNumber < maxTries && ran.retryable) {
        states[taskId] = transition("running", "up_for_retry");
        options.onTask?.({ type: "retry", taskId, tryNumber, error: errorInfo(error), delayMs: delay });
        if (delay > 0) await sleep(delay);
        states[taskId] = transition("up_for_retry", "scheduled");
        continue;
      }
      states[taskId] = transition("running", "failed");
      return { taskId, state: "failed", tries, durationMs, error: errorInfo(error) };
    }
  }
}

/**
 * The text `windflow dags test` prints: a header with the run, then one line per task with its state, its
 * tries when more than one, its duration and its return value or error.
 */
export function formatTestRun(result: TestRunResult): string {
  const secs = (ms: number) => (ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`);
  const width = Math.max(...result.tasks.map((t) => t.taskId.length));
  const lines = result.tasks.map((t) => {
    const state = t.tries.length > 1 ? `${t.state} (${t.tries.length} tries)` : t.state;
    let detail = "";
    if (t.value !== undefined) detail = `-> ${JSON.stringify(t.value)}`;
    else if (t.error) detail = `${t.error.name}: ${t.error.message}`;
    if (detail.length > 160) detail = `${detail.slice(0, 157)}...`;
    return `  ${t.taskId.padEnd(width)}  ${state.padEnd(26)} ${secs(t.durationMs).padStart(7)}  ${detail}`.trimEnd();
  });
  return [
    `DAG ${result.dagId}, run ${result.runId} (logical date ${result.logicalDate.toISOString()}): ${result.state} in ${secs(result.durationMs)}`,
    ...lines,
  ].join("\n");
}
