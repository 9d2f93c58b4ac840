/**
 * The one state machine of task instances and runs (Airflow's words and meanings, `airflow/utils/state.py`).
 * Every change of state in the store, the scheduler, the executor and `testDag` goes through `transition()`
 * or `runTransition()`, which refuse the moves the tables below do not list. Terminal states have no move
 * out (clearing a finished task to run it again, if ever offered, will be an explicit reset, not a move).
 * Moving to the same state is refused too: a caller that finds a task already in the wanted state has a
 * decision to make (usually: nothing to do), not a transition. A retry is `running -> up_for_retry ->
 * scheduled -> queued -> running`, the try number counted by the caller.
 */
import { IllegalTransitionError } from "./errors.js";

export const TASK_STATES = [
  /** Created with its run; its upstream tasks have not let it run yet. */
  "none",
  /** Its trigger rule is met: the scheduler has decided it will run. */
  "scheduled",
  /** Handed to the executor; waiting for a slot or a process to start. */
  "queued",
  /** A try is running in a task process. */
  "running",
  /** The try finished without error. Terminal. */
  "success",
  /** The last try failed and no retry is left. Terminal. */
  "failed",
  /** A try failed; another one starts after the retry delay. */
  "up_for_retry",
  /** Will never run: an upstream task failed and the trigger rule needed it not to. Terminal. */
  "upstream_failed",
  /** Will never run, not a failure: the trigger rule excluded it, or the task skipped itself. Terminal. */
  "skipped",
  /** The task is no longer in the DAG (its file changed during the run). Terminal. */
  "removed",
] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** States a task instance never leaves (Airflow's `finished`). */
export const TASK_TERMINAL: ReadonlySet<TaskState> = new Set([
  "success",
  "failed",
  "upstream_failed",
  "skipped",
  "removed",
]);
/** States counted as a failure of the task, for trigger rules and the run's state. */
export const TASK_FAILED: ReadonlySet<TaskState> = new Set(["failed", "upstream_failed"]);
/** States of a task that has not finished (Airflow's `unfinished`). */
export const TASK_UNFINISHED: ReadonlySet<TaskState> = new Set(
  TASK_STATES.filter((s) => !TASK_TERMINAL.has(s)),
);

/** Allowed moves of a task instance, from -> to. Anything else is an `IllegalTransitionError`. */
export const TASK_TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = {
  // Readiness decides: run it, or never (skipped / upstream_failed); removed if the DAG lost the task.
  none: ["scheduled", "skipped", "upstream_failed", "removed"],
  scheduled: ["queued", "removed"],
  // running: a process picked it up. scheduled: the executor lost it (restart), queue it again.
  // up_for_retry / failed: the process could not start or died before reporting.
  queued: ["running", "scheduled", "up_for_retry", "failed"],
  // skipped: the task called ctx.skip(). up_for_retry / failed: error, timeout, or the process died.
  running: ["success", "failed", "up_for_retry", "skipped"],
  // The retry delay passed: run again.
  up_for_retry: ["scheduled", "removed"],
  success: [],
  failed: [],
  upstream_failed: [],
  skipped: [],
  removed: [],
};

/** The new state, or an `IllegalTransitionError` if the table does not allow the move. */
export function transition(from: TaskState, to: TaskState): TaskState {
  if (!TASK_TRANSITIONS[from].includes(to)) throw new IllegalTransitionError("task", from, to);
  return to;
}

/** Whether the table allows a task instance to move from `from` to `to`. */
export function canTransition(from: TaskState, to: TaskState): boolean {
  return TASK_TRANSITIONS[from].includes(to);
}

/**
 * Moves a person may make on a task instance (Airflow's Clear, Mark success, Mark failed; stop is `running ->
 * failed`), from -> to. Never used by the engine: only `setTaskStateByHand`, which records who made the move.
 * - to `none` (clear): the task runs again (a new try); not from `none` (nothing to clear) nor `removed`.
 * - to `success` / `failed` (mark): from any state but itself and `removed`; a running try is ended.
 */
export const TASK_MANUAL_TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = {
  none: ["success", "failed"],
  scheduled: ["none", "success", "failed"],
  queued: ["none", "success", "failed"],
  running: ["none", "success", "failed"],
  success: ["none", "failed"],
  failed: ["none", "success"],
  up_for_retry: ["none", "success", "failed"],
  upstream_failed: ["none", "success", "failed"],
  skipped: ["none", "success", "failed"],
  removed: [],
};

/** The new state of a move by hand, or an `IllegalTransitionError` if `TASK_MANUAL_TRANSITIONS` does not list it. */
export function manualTransition(from: TaskState, to: TaskState): TaskState {
  if (!TASK_MANUAL_TRANSITIONS[from].includes(to))
    throw new IllegalTransitionError("task", from, to, "by hand");
  return to;
}

export const RUN_STATES = [
  /** Created; waits for a slot (the DAG's max active runs). */
  "queued",
  /** Its task instances are being scheduled and run. */
  "running",
  /** Every task finished and none failed (see `runState` in `readiness.ts`). Terminal. */
  "success",
  /** Every task finished and at least one failed or is upstream_failed. Terminal. */
  "failed",
] as const;
export type RunState = (typeof RUN_STATES)[number];

/** States a run never leaves. */
export const RUN_TERMINAL: ReadonlySet<RunState> = new Set(["success", "failed"]);

/** Allowed moves of a run, from -> to. */
export const RUN_TRANSITIONS: Readonly<Record<RunState, readonly RunState[]>> = {
  queued: ["running"],
  running: ["success", "failed"],
  success: [],
  failed: [],
};

/**
 * Moves of a run by hand: a finished run whose task instances are cleared is queued again (Airflow's clear), and
 * the scheduler starts it within the DAG's `maxActiveRuns`.
 */
export const RUN_MANUAL_TRANSITIONS: Readonly<Record<RunState, readonly RunState[]>> = {
  queued: [],
  running: [],
  success: ["queued"],
  failed: ["queued"],
};

/** The new run state of a move by hand, or an `IllegalTransitionError`. */
export function manualRunTransition(from: RunState, to: RunState): RunState {
  if (!RUN_MANUAL_TRANSITIONS[from].includes(to))
    throw new IllegalTransitionError("run", from, to, "by hand");
  return to;
}

/** The new run state, or an `IllegalTransitionError`. */
export function runTransition(from: RunState, to: RunState): RunState {
  if (!RUN_TRANSITIONS[from].includes(to)) throw new IllegalTransitionError("run", from, to);
  return to;
}

/** Type guard for a task state read from outside (the store, an HTTP body). */
export function isTaskState(value: unknown): value is TaskState {
  return typeof value === "string" && (TASK_STATES as readonly string[]).includes(value);
}

/** Type guard for a run state read from outside. */
export function isRunState(value: unknown): value is RunState {
  return typeof value === "string" && (RUN_STATES as readonly string[]).includes(value);
}
