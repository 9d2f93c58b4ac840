/**
 * `windflow/dag`: the authoring API alone, for DAG files (`import { dag, chain } from "windflow/dag"`).
 *
 * A task process loads its DAG file before the task runs: a DAG file importing `windflow` loads the whole
 * public API first (polars, TensorFlow.js, the Jupyter client, dagre: about 2 s on a busy machine), whereas
 * this entry point loads the DAG builder, its types, durations and errors (pure TypeScript, a few ms). A task
 * that needs the pipeline steps imports them where it uses them (`await import("windflow")` in the task
 * function) or from `windflow` at the top, paying for it at every start.
 */
export { WindflowError } from "./errors.js";
export {
  chain,
  type Dag,
  type DagBuilder,
  type DagOptions,
  dag,
  isDag,
  TASK_DEFAULTS,
  type TaskOptions,
} from "./orchestration/dag.js";
export { parseDuration } from "./orchestration/duration.js";
export * from "./orchestration/errors.js";
export {
  type DagSpec,
  type DataInterval,
  type Json,
  type JsonObject,
  type ScheduleSpec,
  type TaskContext,
  type TaskFn,
  type TaskRef,
  type TaskSpec,
  TRIGGER_RULES,
  type TriggerRule,
} from "./orchestration/types.js";
export { VERSION } from "./version.js";
