/**
 * A task's effective options: its own overrides, else its DAG's defaults. The one place that merges them,
 * so that the scheduler, the executor and `testDag` agree.
 */
import { DagValidationError } from "./errors.js";
import type { DagSpec, TaskDefaults, TaskSpec } from "./types.js";

/** The task's spec; a `DagValidationError` if the DAG has no such task. */
export function findTask(spec: Pick<DagSpec, "id" | "tasks">, taskId: string): TaskSpec {
  const task = spec.tasks.find((t) => t.id === taskId);
  if (!task)
    throw new DagValidationError(
      spec.id,
      "tasks",
      `no task "${taskId}"`,
      `tasks of ${spec.id}: ${spec.tasks.map((t) => t.id).join(", ")}`,
    );
  return task;
}

/** Effective retries, retry delay and timeout of a task. */
export function taskOptions(spec: Pick<DagSpec, "id" | "tasks" | "defaults">, taskId: string): TaskDefaults {
  const task = findTask(spec, taskId);
  return {
    retries: task.retries ?? spec.defaults.retries,
    retryDelayMs: task.retryDelayMs ?? spec.defaults.retryDelayMs,
    executionTimeoutMs:
      task.executionTimeoutMs === undefined ? spec.defaults.executionTimeoutMs : task.executionTimeoutMs,
  };
}
