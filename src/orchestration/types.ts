/**
 * The orchestrator's vocabulary (Airflow's words, so that what trainees learn here carries over) and the
 * serialisable shape of a DAG.
 *
 * ## Glossary
 * - **DAG** (directed acyclic graph): a pipeline. An id, a schedule, default options and a set of tasks with
 *   dependencies between them. Declared in a file of the DAGs folder (`dags/train.ts`) with `dag()`.
 * - **task**: one step of a DAG: a function of the run context, e.g. `prepare_features`. It runs only once
 *   its upstream tasks are done, as its trigger rule says.
 * - **upstream / downstream**: `a` is upstream of `b` when `b` depends on `a` (`a.before(b)`).
 * - **run** (DAG run): one execution of a whole DAG for one logical date, identified by a run id such as
 *   `scheduled__20260101-000000` or `manual__20261125-173005`. Created by the scheduler (scheduled run)
 *   or by a person (manual trigger). States in `state.ts`: queued, running, success, failed.
 * - **task instance**: one task within one run: (dag id, task id, run id). It has a state (`state.ts`) and
 *   one or more tries.
 * - **try**: one attempt at a task instance, numbered from 1. A failed try is followed by another after the
 *   retry delay while retries remain; each try has its own log.
 * - **logical date**: the instant a run is "for". For a scheduled run it is the start of its data interval
 *   (Airflow's convention: the run for Monday's data starts on Tuesday); for a manual run it is the trigger
 *   time unless given. Dated files of a run are named after it (`YYYYmmdd-HHMMSS`, UTC).
 * - **data interval**: the period `[start, end)` a scheduled run processes. The run is created once `end`
 *   has passed, so that the whole interval's data exists.
 * - **schedule**: when runs are created: a cron expression (`0 *\/4 * * *`), a preset (`@daily`), a fixed
 *   interval (`{ every: "2m" }`), or none (manual runs only). Always in UTC.
 * - **catch-up**: whether the scheduler creates a run for every interval missed since the start date or the
 *   last run (`catchup: true`), or only for the latest complete one (`false`, the default).
 * - **trigger rule**: when a task may run given the states of its upstream tasks (`all_success`, the
 *   default; `all_done`, `one_failed`...). See `readiness.ts`.
 * - **params / conf**: params are a DAG's named settings with defaults; conf is the JSON given with a manual
 *   trigger, which overrides params of the same name.
 * - **XCom-like return value** ("cross-communication"): what a task function returns: small JSON (a path, a
 *   count), stored and handed to downstream tasks through `ctx.xcom(task)`. Data goes through files.
 * - **scheduler**: the loop that reads DAG specs, creates runs, decides which task instances are ready and
 *   hands them to the executor. It never runs task code.
 * - **executor**: what runs a task instance's try: a local process (`windflow tasks run DAG TASK RUN_ID`),
 *   or a worker of a distributed engine. It re-imports the DAG file to find the task's function.
 * - **store**: the metadata database (SQLite by default) holding DAG specs, runs, task instances, tries,
 *   return values and import errors.
 * - **spec** (`DagSpec`): the serialisable description of a DAG, without functions: what the scheduler,
 *   the store and the UI see. It round-trips losslessly through JSON (`validate.ts`).
 */

/** A JSON value: what params, conf and task return values may hold. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A JSON object. */
export type JsonObject = { [key: string]: Json };

/** The trigger rules: when a task with upstream tasks may run. Semantics in `readiness.ts`. */
export const TRIGGER_RULES = [
  /** Every upstream task succeeded (the default). */
  "all_success",
  /** Every upstream task failed or is upstream_failed (e.g. a fallback path). */
  "all_failed",
  /** Every upstream task finished, whatever its state (e.g. clean-up). */
  "all_done",
  /** At least one upstream task succeeded; runs as soon as one does. */
  "one_success",
  /** At least one upstream task failed; runs as soon as one does (e.g. an alert). */
  "one_failed",
  /** Every upstream task finished and none failed: succeeded or skipped. */
  "none_failed",
] as const;
export type TriggerRule = (typeof TRIGGER_RULES)[number];

/**
 * A schedule as stored in a spec: a cron expression or preset as written (`"0 *\/4 * * *"`, `"@weekly"`),
 * a fixed interval as written (`"28d"`, anchored at the start date), or null for manual runs only.
 */
export type ScheduleSpec = { readonly cron: string } | { readonly every: string } | null;

/** Task options a DAG gives all its tasks unless a task overrides them. */
export interface TaskDefaults {
  /** Tries after the first one when a try fails. */
  readonly retries: number;
  /** Wait between a failed try and the next, in ms. */
  readonly retryDelayMs: number;
  /** A try running longer is killed and counts as failed; null: no limit. */
  readonly executionTimeoutMs: number | null;
}

/** One task of a DAG spec. Absent options inherit the DAG's `defaults`. */
export interface TaskSpec {
  /** Unique in the DAG; letters, digits, `_`, `-`, `.`. */
  readonly id: string;
  /** Ids of the tasks this one depends on, in the order they were declared. */
  readonly upstream: readonly string[];
  readonly triggerRule: TriggerRule;
  /** What the task does (markdown), shown by `dags show` and the UI. */
  readonly description?: string;
  readonly retries?: number;
  readonly retryDelayMs?: number;
  readonly executionTimeoutMs?: number | null;
}

/** The serialisable description of a DAG: data only, no functions (see the glossary). */
export interface DagSpec {
  /** Unique among the DAGs; letters, digits, `_`, `-`, `.`. */
  readonly id: string;
  /** What the DAG does, in markdown. */
  readonly description: string;
  readonly schedule: ScheduleSpec;
  /** ISO 8601 instant in UTC (`2026-01-01T00:00:00.000Z`): no scheduled run has a logical date before it. */
  readonly startDate: string;
  readonly catchup: boolean;
  /** Runs of this DAG that may be running at once. */
  readonly maxActiveRuns: number;
  readonly defaults: TaskDefaults;
  readonly tags: readonly string[];
  /** Params and their default values; a manual trigger's conf overrides them. */
  readonly params: JsonObject;
  /**
   * The dated files a run writes, `{stamp}` standing for its `YYYYmmdd-HHMMSS` stamp (e.g.
   * `data/predictions/{stamp}.csv`): shown before a trigger, so that "which file will my run write?" has an
   * answer. Documentation only: tasks write what they write.
   */
  readonly outputs: readonly string[];
  /** In declaration order. */
  readonly tasks: readonly TaskSpec[];
  /** The DAG file it was loaded from (absolute path), null when defined elsewhere (a test, a notebook). */
  readonly fileloc: string | null;
}

/** The data interval `[start, end)` of a run. Manual runs have `start = end = logical date`. */
export interface DataInterval {
  readonly start: Date;
  readonly end: Date;
}

/** What a task function receives. `P` is the type of the DAG's params. */
export interface TaskContext<P extends JsonObject = JsonObject> {
  readonly dagId: string;
  readonly taskId: string;
  readonly runId: string;
  /** See the glossary. A UTC instant. */
  readonly logicalDate: Date;
  /** `YYYYmmdd-HHMMSS` of the logical date (UTC): the stamp the run's dated files use. */
  readonly stamp: string;
  readonly dataInterval: DataInterval;
  /** The DAG's params, overridden by the trigger's conf. */
  readonly params: P;
  /** The trigger's conf as given (`{}` for scheduled runs). */
  readonly conf: JsonObject;
  /** 1 for the first try. */
  readonly tryNumber: number;
  /** 1 + retries. */
  readonly maxTries: number;
  /** Aborted when the try times out: long tasks may listen and stop early. */
  readonly signal: AbortSignal;
  /**
   * The return value of an upstream task (direct or not). Throws an `XComError` naming the task when it
   * returned nothing (or did not succeed), unless a `fallback` is given.
   */
  xcom<T extends Json | undefined = Json>(
    task: string | TaskRef<T>,
    fallback?: Exclude<T, undefined>,
  ): Exclude<T, undefined>;
  /** Writes a line to this try's log. */
  log(line: string): void;
  /** Ends the task in state `skipped` (not a failure). */
  skip(reason: string): never;
}

/** What a task runs: a function of the run context returning small JSON, or nothing. */
export type TaskFn<P extends JsonObject = JsonObject, R extends Json | undefined = Json | undefined> = (
  ctx: TaskContext<P>,
) => TaskReturn<R>;

/** `void` (not `undefined`) so that a task may be a function without a return statement. */
// biome-ignore lint/suspicious/noConfusingVoidType: see above; `undefined` refuses `() => {}`.
type TaskReturn<R> = R | void | Promise<R | void>;

/** A handle on a declared task, used to declare dependencies and to read its return value in a typed way. */
export interface TaskRef<R extends Json | undefined = Json | undefined> {
  readonly id: string;
  /** Phantom: the type of the task's return value, for `ctx.xcom(ref)`. Never set. */
  readonly __returns?: R;
  /** `a.before(b)`: b runs after a. Returns `b`, so that `a.before(b).before(c)` reads as a chain. */
  before<N extends TaskRef | readonly TaskRef[]>(next: N): N;
  /** `b.after(a)`: b runs after a. Returns `b`. */
  after(...previous: readonly (TaskRef | readonly TaskRef[])[]): this;
}
