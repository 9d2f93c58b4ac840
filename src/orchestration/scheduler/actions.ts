/**
 * The actions Airflow users reach for on a task instance, shared by the CLI (`windflow tasks clear / mark /
 * stop`), the REST API and the web UI's buttons (which check roles first):
 *
 * - **clear**: the task instance and, by default, every task downstream of it go back to `none` and run again
 *   (a new try each, with their retries again); a finished run is queued again (Airflow's Clear, downstream).
 * - **mark success / failed**: sets the state of one task instance (Airflow's Mark success / Mark failed);
 *   the run's other tasks are left as they are (downstream tasks follow from it when the run is still going).
 * - **stop**: a queued or running try ends `failed`, with the reason `stopped by <user>`; no retry.
 *
 * Each is a move by hand in the store (`setTaskStateByHand`, `TASK_MANUAL_TRANSITIONS`), compare-and-set and in
 * one transaction, recording who. The process of a try that was running is killed by the scheduler that
 * watches it (`killedByHand` in `decide.ts`): the store holds the verdict first, so whatever the dying process
 * tries to record changes nothing. The caller wakes the schedulers (`wakeScheduler`) for them to act at once.
 */
import { WindflowError } from "../../errors.js";
import { downstreamOf } from "../graph.js";
import type { TaskState } from "../state.js";
import { TASK_MANUAL_TRANSITIONS } from "../state.js";
import { RecordNotFoundError } from "../store/errors.js";
import { taskKeyText } from "../store/records.js";
import type { MetadataStore, TaskInstanceKey, TaskInstanceRecord } from "../store/store.js";
import { taskOptions } from "../task-options.js";

/** The actions, as the CLI, the API and the UI name them. */
export const TASK_ACTIONS = ["clear", "success", "failed", "stop"] as const;
export type TaskAction = (typeof TASK_ACTIONS)[number];

/** An action that does not apply to the task instance's state (stop a finished try, mark success twice...). */
export class TaskActionError extends WindflowError {
  readonly retryable = false;
  constructor(
    readonly action: TaskAction,
    readonly key: TaskInstanceKey,
    readonly state: TaskState,
    hint: string,
  ) {
    super(
      `cannot ${action === "clear" || action === "stop" ? action : `mark ${action}`} ${taskKeyText(key)}: it is ${state}`,
      {
        hint,
      },
    );
  }
}

/** What an action changed. */
export interface ActionResult {
  /** The task instances it moved (task ids), with their state before. */
  readonly changed: readonly { readonly taskId: string; readonly from: TaskState }[];
  /** Clear: the run was finished and is queued again. */
  readonly runQueued: boolean;
}

function taskInstance(store: MetadataStore, key: TaskInstanceKey): TaskInstanceRecord {
  const ti = store.getTaskInstance(key);
  if (!ti) throw new RecordNotFoundError("task instance", taskKeyText(key));
  return ti;
}

/** Every task downstream of `taskId` (not itself), in the DAG's declaration order. */
function downstreamClosure(down: ReadonlyMap<string, readonly string[]>, taskId: string): Set<string> {
  const out = new Set<string>();
  const stack = [...(down.get(taskId) ?? [])];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (out.has(id)) continue;
    out.add(id);
    stack.push(...(down.get(id) ?? []));
  }
  return out;
}

/**
 * Clears a task instance and, unless `downstream` is false, every task instance downstream of it in its run:
 * each goes back to `none` (those already `none` or `removed` are left), with `1 + retries` more tries; a
 * finished run is queued again. A `RecordNotFoundError` if there is no such task instance.
 */
export function clearTaskInstance(
  store: MetadataStore,
  key: TaskInstanceKey,
  options: { by: string; downstream?: boolean },
): ActionResult {
  return store.atomically(() => {
    const ti = taskInstance(store, key);
    const dag = store.getDag(key.dagId);
    const spec = dag?.spec;
    const ids = new Set([key.taskId]);
    if (spec && options.downstream !== false)
      for (const id of downstreamClosure(downstreamOf(spec), key.taskId)) ids.add(id);
    const changed: { taskId: string; from: TaskState }[] = [];
    for (const other of store.listTaskInstances({ dagId: key.dagId, runId: key.runId })) {
      if (!ids.has(other.taskId) || !TASK_MANUAL_TRANSITIONS[other.state].includes("none")) continue;
      const retries =
        spec?.tasks.some((t) => t.id === other.taskId) === true
          ? taskOptions(spec, other.taskId).retries
          : other.maxTries - 1;
      const moved = store.setTaskStateByHand(other, other.state, "none", {
        by: options.by,
        maxTries: other.tryNumber + retries + 1,
      });
      if (moved) changed.push({ taskId: other.taskId, from: other.state });
    }
    if (changed.length === 0)
      throw new TaskActionError(
        "clear",
        key,
        ti.state,
        "nothing to clear: it has not run yet (clear a task that ran, or wait for it)",
      );
    const run = store.getRun(key);
    let runQueued = false;
    if (run && (run.state === "success" || run.state === "failed"))
      runQueued = store.setRunStateByHand(run, run.state, "queued");
    return { changed, runQueued };
  });
}

/** Marks a task instance `success` or `failed` (a running try ends so, and its process is killed). */
export function markTaskInstance(
  store: MetadataStore,
  key: TaskInstanceKey,
  state: "success" | "failed",
  options: { by: string },
): ActionResult {
  return store.atomically(() => {
    const ti = taskInstance(store, key);
    if (!TASK_MANUAL_TRANSITIONS[ti.state].includes(state))
      throw new TaskActionError(
        state,
        key,
        ti.state,
        ti.state === state ? `it is ${state} already` : "a task removed from its DAG cannot be marked",
      );
    if (!store.setTaskStateByHand(key, ti.state, state, { by: options.by }))
      throw new TaskActionError(state, key, ti.state, "it changed meanwhile: look again and retry");
    return { changed: [{ taskId: key.taskId, from: ti.state }], runQueued: false };
  });
}

/**
 * Stops a queued or running try: it ends `failed` with the reason `stopped by <by>`, without retry, and the
 * scheduler that watches its process kills it.
 */
export function stopTaskInstance(
  store: MetadataStore,
  key: TaskInstanceKey,
  options: { by: string },
): ActionResult {
  return store.atomically(() => {
    const ti = taskInstance(store, key);
    if (ti.state !== "running" && ti.state !== "queued")
      throw new TaskActionError("stop", key, ti.state, "only a queued or running try can be stopped");
    if (
      !store.setTaskStateByHand(key, ti.state, "failed", {
        by: options.by,
        reason: `stopped by ${options.by}`,
      })
    )
      throw new TaskActionError("stop", key, ti.state, "it changed meanwhile: look again and retry");
    return { changed: [{ taskId: key.taskId, from: ti.state }], runQueued: false };
  });
}

/** Runs one of `TASK_ACTIONS` (the API's and the CLI's dispatch). */
export function taskAction(
  store: MetadataStore,
  key: TaskInstanceKey,
  action: TaskAction,
  options: { by: string; downstream?: boolean },
): ActionResult {
  switch (action) {
    case "clear":
      return clearTaskInstance(store, key, options);
    case "success":
    case "failed":
      return markTaskInstance(store, key, action, options);
    case "stop":
      return stopTaskInstance(store, key, options);
  }
}
