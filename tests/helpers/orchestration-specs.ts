/** Small DAG specs for the orchestration tests, written as `["b", ["a"], "all_done"]` rows. */
import type { DagSpec, TaskSpec, TriggerRule } from "../../src/orchestration/types.js";

/** A task row: id, upstream ids, trigger rule (default all_success). */
export type Row = readonly [id: string, upstream?: readonly string[], rule?: TriggerRule];

/** A valid spec holding these tasks, with neutral DAG options. */
export function specOf(rows: readonly Row[], overrides: Partial<DagSpec> = {}): DagSpec {
  const tasks: TaskSpec[] = rows.map(([id, upstream = [], triggerRule = "all_success"]) => ({
    id,
    upstream,
    triggerRule,
  }));
  return {
    id: "t",
    description: "",
    schedule: null,
    startDate: "2026-01-01T00:00:00.000Z",
    catchup: false,
    maxActiveRuns: 1,
    defaults: { retries: 0, retryDelayMs: 0, executionTimeoutMs: null },
    tags: [],
    params: {},
    outputs: [],
    tasks,
    fileloc: null,
    ...overrides,
  };
}
