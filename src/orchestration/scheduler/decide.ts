/**
 * The scheduler's decisions, as pure functions of what it read from the store (and the clock): which
 * scheduled runs to create, which queued runs to start, what to do with each task instance of a running run,
 * which task instances to hand to the executor, which tries ran past their timeout, and what to make of a
 * `running` task instance nobody watches. The loop (`scheduler.ts`) reads, calls these, and writes.
 *
 * Nothing here touches the store, a process or a timer: each function is tested on plain records
 * (`tests/scheduler-decide.test.ts`).
 */
import { evaluate, runState } from "../readiness.js";
import { runsDue } from "../schedule.js";
import type { RunState, TaskState } from "../state.js";
import type { DagRunRecord, SchedulerJobRecord, TaskInstanceRecord } from "../store/store.js";
import { taskOptions } from "../task-options.js";
import type { DagSpec, DataInterval } from "../types.js";

/** Run states that hold one of the DAG's `maxActiveRuns` slots. */
export const ACTIVE_RUN_STATES: readonly RunState[] = ["queued", "running"];

/**
 * The data intervals of the scheduled runs to create now (oldest first), given the logical date of the DAG's
 * last scheduled run and its runs that are queued or running: catch-up semantics of `runsDue`, and never more
 * runs than the DAG's free `maxActiveRuns` slots (Airflow 2's rule: a DAG at its limit gets no new run, so a
 * catch-up over months does not fill the store with queued runs; the next ones come as runs finish).
 * A paused DAG or a DAG without schedule gets none.
 */
export function scheduledRunsToCreate(
  spec: Pick<DagSpec, "schedule" | "startDate" | "catchup" | "maxActiveRuns">,
  dag: { readonly isPaused: boolean },
  now: Date,
  lastScheduled: Date | null,
  activeRuns: number,
): DataInterval[] {
  if (dag.isPaused || spec.schedule === null) return [];
  const room = spec.maxActiveRuns - activeRuns;
  if (room <= 0) return [];
  return runsDue(spec, now, lastScheduled, { limit: room });
}

/**
 * The queued runs of one DAG to move to running: the oldest logical dates first, while fewer than
 * `maxActiveRuns` run. None for a paused DAG (a manual run of a paused DAG waits, as in Airflow).
 */
export function runsToStart(
  spec: Pick<DagSpec, "maxActiveRuns">,
  dag: { readonly isPaused: boolean },
  runs: readonly Pick<DagRunRecord, "runId" | "state" | "logicalDate" | "createdAt">[],
): string[] {
  if (dag.isPaused) return [];
  const running = runs.filter((r) => r.state === "running").length;
  const room = spec.maxActiveRuns - running;
  if (room <= 0) return [];
  return runs
    .filter((r) => r.state === "queued")
    .sort(
      (a, b) =>
        a.logicalDate.getTime() - b.logicalDate.getTime() || a.createdAt.getTime() - b.createdAt.getTime(),
    )
    .slice(0, room)
    .map((r) => r.runId);
}

/** One change of state the loop writes (compare-and-set from `from`). */
export interface TaskMove {
  readonly taskId: string;
  readonly from: TaskState;
  readonly to: TaskState;
}

/** What to do with one running run. */
export interface RunDecision {
  /** Tasks of the DAG without a task instance in the run (added to the DAG since): create them in `none`. */
  readonly missing: string[];
  /**
   * In order: removed tasks (`removed`), retries due (`up_for_retry -> scheduled`), then readiness
   * (`none -> scheduled | skipped | upstream_failed`, cascading, as `evaluate` decides).
   */
  readonly moves: TaskMove[];
  /** The run's state once the moves are written (`runState`). */
  readonly state: Exclude<RunState, "queued">;
  /** The earliest retry still waiting for its delay: when to look at this run again. */
  readonly nextRetryAt: Date | null;
}

/** States a task instance of a task no longer in the DAG leaves for `removed` (it has not started). */
const REMOVABLE: ReadonlySet<TaskState> = new Set(["none", "scheduled", "up_for_retry"]);

/**
 * The decisions for one running run at `now`, from the DAG's current spec and the run's task instances:
 * trigger rules and `upstream_failed` propagation (`evaluate`), retries whose delay has passed, tasks
 * removed from or added to the DAG, and the run's resulting state.
 */
export function decideRun(
  spec: Pick<DagSpec, "tasks">,
  tis: readonly Pick<TaskInstanceRecord, "taskId" | "state" | "nextRetryAt">[],
  now: Date,
): RunDecision {
  const inSpec = new Set(spec.tasks.map((t) => t.id));
  const states: Record<string, TaskState> = {};
  const moves: TaskMove[] = [];
  let nextRetryAt: Date | null = null;
  for (const ti of tis) {
    if (!inSpec.has(ti.taskId)) {
      if (REMOVABLE.has(ti.state)) moves.push({ taskId: ti.taskId, from: ti.state, to: "removed" });
      continue;
    }
    states[ti.taskId] = ti.state;
    if (ti.state === "up_for_retry") {
      if (ti.nextRetryAt === null || ti.nextRetryAt.getTime() <= now.getTime()) {
        moves.push({ taskId: ti.taskId, from: "up_for_retry", to: "scheduled" });
        states[ti.taskId] = "scheduled";
      } else if (nextRetryAt === null || ti.nextRetryAt < nextRetryAt) nextRetryAt = ti.nextRetryAt;
    }
  }
  const missing = spec.tasks.filter((t) => !(t.id in states)).map((t) => t.id);
  const { ready, decided } = evaluate(spec, states);
  for (const taskId of ready) {
    moves.push({ taskId, from: "none", to: "scheduled" });
    states[taskId] = "scheduled";
  }
  for (const { taskId, state } of decided) {
    moves.push({ taskId, from: "none", to: state });
    states[taskId] = state;
  }
  return { missing, moves, state: runState(spec, states), nextRetryAt };
}

/** A task instance waiting for a process, with what orders it. */
export interface DispatchCandidate {
  readonly ti: Pick<TaskInstanceRecord, "dagId" | "runId" | "taskId" | "state" | "queuedAt">;
  /** Its run's logical date: older runs first. */
  readonly logicalDate: Date;
  /** Its position in the run (the store's creation order, i.e. the DAG's declaration order). */
  readonly order: number;
}

/**
 * Which waiting task instances get a process now, given `slots` free (`[core] parallelism` minus the
 * processes running): first the `queued` ones without a process (a scheduler restarted, a start that
 * failed), oldest first, then the `scheduled` ones by their run's logical date and their order in the run.
 */
export function dispatchOrder<C extends DispatchCandidate>(candidates: readonly C[], slots: number): C[] {
  if (slots <= 0) return [];
  const rank = (c: DispatchCandidate) => (c.ti.state === "queued" ? 0 : 1);
  return [...candidates]
    .sort(
      (a, b) =>
        rank(a) - rank(b) ||
        a.logicalDate.getTime() - b.logicalDate.getTime() ||
        a.ti.runId.localeCompare(b.ti.runId) ||
        a.order - b.order,
    )
    .slice(0, slots);
}

/** Settings the timeout check needs (from `[core]`). */
export interface TimeoutSettings {
  /** `[core] default_task_execution_timeout`: for tasks whose DAG sets none. */
  readonly defaultTimeoutMs: number | null;
  /** `[core] killed_task_cleanup_time`: what a stopped task may take to clean up. */
  readonly cleanupMs: number;
  /** Extra time for the task process to record its own timeout and exit before the scheduler steps in. */
  readonly graceMs: number;
}

/**
 * When the scheduler kills a running try: its start + the task's execution timeout + the clean-up time +
 * a grace period. Until then the task process enforces its timeout itself and records it (`run-task.ts`); the
 * scheduler only steps in for a process that could not (code that never yields). Null: no timeout.
 */
export function killDeadline(
  spec: Pick<DagSpec, "id" | "tasks" | "defaults">,
  ti: Pick<TaskInstanceRecord, "taskId" | "startedAt">,
  settings: TimeoutSettings,
): Date | null {
  if (ti.startedAt === null || !spec.tasks.some((t) => t.id === ti.taskId)) return null;
  const timeout = taskOptions(spec, ti.taskId).executionTimeoutMs ?? settings.defaultTimeoutMs;
  if (timeout === null) return null;
  return new Date(ti.startedAt.getTime() + timeout + settings.cleanupMs + settings.graceMs);
}

/** The task's effective execution timeout (as the task process applies it), for messages. */
export function effectiveTimeoutMs(
  spec: Pick<DagSpec, "id" | "tasks" | "defaults">,
  taskId: string,
  defaultTimeoutMs: number | null,
): number | null {
  if (!spec.tasks.some((t) => t.id === taskId)) return defaultTimeoutMs;
  return taskOptions(spec, taskId).executionTimeoutMs ?? defaultTimeoutMs;
}

// runningVerdict moved to the executor (it is about processes); re-exported for the scheduler and tests.
export { type RunningVerdict, runningVerdict } from "../executor/verdict.js";

/**
 * Whether the scheduler kills the process it watches for a task instance: a person stopped, cleared or marked
 * the try (`setBy`) and the task instance is no longer queued or running; or it is back to `none` or
 * `scheduled` (cleared: its old process has no try to run any more, whoever moved it since).
 */
export function killedByHand(ti: Pick<TaskInstanceRecord, "state" | "setBy">): boolean {
  if (ti.state === "none" || ti.state === "scheduled") return true;
  return ti.setBy !== null && ti.state !== "running" && ti.state !== "queued";
}

/** Whether to record a heartbeat for a try whose process is alive: none yet, or the last is `everyMs` old. */
export function heartbeatDue(
  ti: Pick<TaskInstanceRecord, "heartbeatAt">,
  now: Date,
  everyMs: number,
): boolean {
  return ti.heartbeatAt === null || now.getTime() - ti.heartbeatAt.getTime() >= everyMs;
}

/**
 * Whether a scheduler job is alive: it did not stop, its latest heartbeat is within `thresholdMs` of `now`, and,
 * when it runs on this machine, its process exists (a scheduler killed with SIGKILL leaves a fresh heartbeat
 * behind for a while). Airflow's `scheduler_health_check_threshold`.
 */
export function schedulerAlive(
  job: Pick<SchedulerJobRecord, "hostname" | "pid" | "latestHeartbeat" | "endedAt">,
  now: Date,
  thresholdMs: number,
  hostname: string,
  alive: (pid: number) => boolean,
): boolean {
  if (job.endedAt !== null) return false;
  if (now.getTime() - job.latestHeartbeat.getTime() > thresholdMs) return false;
  return job.hostname !== hostname || alive(job.pid);
}
