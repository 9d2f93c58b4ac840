/**
 * Which tasks of a run may run now, which never will, and the run's state: pure functions of (DAG spec,
 * task states). The scheduler's loop reads the states from the store, calls these, and writes the moves.
 *
 * A task without upstream tasks may always run. Otherwise its trigger rule looks at its upstream tasks'
 * states (s = success, f = failed or upstream_failed, k = skipped, d = finished, u = upstream count) and
 * decides, as Airflow's `TriggerRuleDep` does, as early as the outcome is certain:
 *
 * | rule          | run when          | skipped when                  | upstream_failed when          |
 * |---------------|-------------------|-------------------------------|-------------------------------|
 * | `all_success` | s = u             | k > 0 (and f = 0)             | f > 0                         |
 * | `all_failed`  | f = u             | s + k > 0                     | never                         |
 * | `all_done`    | d = u             | never                         | never                         |
 * | `one_success` | s > 0             | d = u, s = 0, k = u           | d = u, s = 0, k < u           |
 * | `one_failed`  | f > 0             | d = u and f = 0               | never                         |
 * | `none_failed` | d = u and f = 0   | never                         | f > 0                         |
 *
 * Otherwise the task waits. A task whose state is missing from `states` counts as `none`.
 *
 * The run's state (`runState`): `running` while any task has not finished; then `failed` if any task is
 * `failed` or `upstream_failed`, else `success`. This differs from Airflow, which looks at leaf tasks only
 * and so reports `success` when a failure is followed by an `all_done` clean-up leaf that succeeds: here a
 * failure anywhere fails the run.
 */
import { topologicalOrder } from "./graph.js";
import { type RunState, TASK_FAILED, TASK_TERMINAL, type TaskState } from "./state.js";
import type { DagSpec, TriggerRule } from "./types.js";

/** What a trigger rule says of a task given its upstream tasks' states. */
export type Verdict = "run" | "wait" | "skipped" | "upstream_failed";

/** The verdict of `rule` given the states of the task's upstream tasks (see the table above). */
export function triggerRuleVerdict(rule: TriggerRule, upstream: readonly TaskState[]): Verdict {
  const u = upstream.length;
  if (u === 0) return "run";
  let s = 0;
  let f = 0;
  let k = 0;
  let d = 0;
  for (const state of upstream) {
    if (state === "success") s++;
    else if (TASK_FAILED.has(state)) f++;
    else if (state === "skipped" || state === "removed") k++;
    if (TASK_TERMINAL.has(state)) d++;
  }
  switch (rule) {
    case "all_success":
      return f > 0 ? "upstream_failed" : k > 0 ? "skipped" : s === u ? "run" : "wait";
    case "all_failed":
      return s + k > 0 ? "skipped" : f === u ? "run" : "wait";
    case "all_done":
      return d === u ? "run" : "wait";
    case "one_success":
      if (s > 0) return "run";
      return d < u ? "wait" : k === u ? "skipped" : "upstream_failed";
    case "one_failed":
      return f > 0 ? "run" : d === u ? "skipped" : "wait";
    case "none_failed":
      return f > 0 ? "upstream_failed" : d === u ? "run" : "wait";
  }
}

/** The decisions for one run at one moment. */
export interface Evaluation {
  /** Tasks in `none` whose trigger rule is met: move them to `scheduled`. In topological order. */
  ready: string[];
  /** Tasks in `none` that will never run, with the state to give them, in topological order. */
  decided: { taskId: string; state: "skipped" | "upstream_failed" }[];
}

/**
 * Both decisions at once. Decisions cascade: when `b` becomes upstream_failed, its own downstream tasks are
 * decided in the same call (and an `all_done` task after it may become ready), so one call settles the run.
 */
export function evaluate(
  spec: Pick<DagSpec, "tasks">,
  states: Readonly<Record<string, TaskState>>,
): Evaluation {
  const now: Record<string, TaskState> = { ...states };
  const out: Evaluation = { ready: [], decided: [] };
  for (const task of topologicalOrder(spec)) {
    if ((now[task.id] ?? "none") !== "none") continue;
    const verdict = triggerRuleVerdict(
      task.triggerRule,
      task.upstream.map((u) => now[u] ?? "none"),
    );
    if (verdict === "run") out.ready.push(task.id);
    else if (verdict !== "wait") {
      out.decided.push({ taskId: task.id, state: verdict });
      now[task.id] = verdict;
    }
  }
  return out;
}

/** Tasks in `none` (or without state) whose trigger rule is met now, in topological order. */
export function readyTasks(
  spec: Pick<DagSpec, "tasks">,
  states: Readonly<Record<string, TaskState>>,
): string[] {
  return evaluate(spec, states).ready;
}

/** Tasks in `none` that can never run, with `skipped` or `upstream_failed`, cascading downstream. */
export function tasksToSkipOrFail(
  spec: Pick<DagSpec, "tasks">,
  states: Readonly<Record<string, TaskState>>,
): Evaluation["decided"] {
  return evaluate(spec, states).decided;
}

/** The run's state from its tasks' states (rule in the module comment): running, success or failed. */
export function runState(
  spec: Pick<DagSpec, "tasks">,
  states: Readonly<Record<string, TaskState>>,
): Exclude<RunState, "queued"> {
  let failed = false;
  for (const task of spec.tasks) {
    const state = states[task.id] ?? "none";
    if (!TASK_TERMINAL.has(state)) return "running";
    if (TASK_FAILED.has(state)) failed = true;
  }
  return failed ? "failed" : "success";
}
