/**
 * The authoring API of DAG files (`dags/*.ts`): `dag(options, build)` declares a DAG and its tasks.
 *
 * ```ts
 * export default dag(
 *   { id: "train", schedule: { every: "28d" }, startDate: "2026-01-01T00:00:00Z", params: { dataPath: "data/x.csv" } },
 *   (d) => {
 *     const features = d.task("prepare_features", async (ctx) => (await prepare(ctx.params.dataPath)).path);
 *     const train = d.task("train_model", (ctx) => trainModelWithIO(ctx.xcom(features), "models"));
 *     features.before(train); // or chain(features, train)
 *   },
 * );
 * ```
 *
 * A DAG object has two faces: `spec`, the serialisable data that the scheduler, the store and the UI see,
 * and `callable(taskId)`, the function that only an executor (or `testDag`) calls, after re-importing the
 * DAG file. The declaration is validated when `dag()` returns: a bad DAG never exists.
 *
 * Dependencies are declared by chaining, `a.before(b)` / `b.after(a)` / `chain(a, [b, c], d)`, rather than
 * Airflow's `>>`, which TypeScript cannot overload. (Not `a.then(b)`: an object with a `then` method is
 * taken for a promise by `await`.)
 */
import { type Duration, parseDuration } from "./duration.js";
import { DagValidationError } from "./errors.js";
import { normalizeSchedule, type ScheduleInput } from "./schedule.js";
import type { DagSpec, Json, JsonObject, TaskFn, TaskRef, TaskSpec, TriggerRule } from "./types.js";
import { assertDagSpec } from "./validate.js";

/** Options of one task; each overrides the DAG's `defaults`. */
export interface TaskOptions {
  /** Tries after the first one when a try fails. @default the DAG's, 0 */
  retries?: number;
  /** Wait between a failed try and the next (ms or `"30s"`). @default the DAG's, "30s" */
  retryDelay?: Duration;
  /** A longer try is killed and counts as failed; null for no limit. @default the DAG's, null */
  executionTimeout?: Duration | null;
  /** When the task may run given its upstream tasks' states (`readiness.ts`). @default "all_success" */
  triggerRule?: TriggerRule;
  /** What the task does (markdown). */
  description?: string;
}

/** Options of `dag()`. `P` is the type of the params, inferred from `params`. */
export interface DagOptions<P extends JsonObject> {
  /** Unique among DAGs: letters, digits, `_`, `-`, `.`. */
  id: string;
  /** What the DAG does, markdown. @default "" */
  description?: string;
  /** `"@daily"`, `"0 *\/4 * * *"`, `{ every: "2m" }` or `"2m"`, or null for manual runs only. @default null */
  schedule?: ScheduleInput;
  /** No scheduled run has an earlier logical date. A Date or an ISO 8601 text; stored in UTC. */
  startDate: string | Date;
  /** Create a run for every interval missed (true) or only for the latest one (false). @default false */
  catchup?: boolean;
  /**
   * Runs of this DAG running at once. The default keeps runs of a DAG from overlapping, which a pipeline
   * writing `latest.csv` needs (Airflow's default is 16).
   * @default `[core] max_active_runs_per_dag` (1)
   */
  maxActiveRuns?: number;
  /** Options every task gets unless it overrides them. */
  defaults?: Omit<TaskOptions, "triggerRule" | "description">;
  /** @default [] */
  tags?: string[];
  /** Named settings with default values, overridden by a trigger's conf; `ctx.params` in tasks. @default {} */
  params?: P;
  /**
   * The dated files a run writes, with `{stamp}` for the run's stamp, e.g. `"data/predictions/{stamp}.csv"`:
   * the UI's trigger form and `dags trigger` show them. @default []
   */
  outputs?: string[];
}

/** What the build function of `dag()` receives. */
export interface DagBuilder<P extends JsonObject> {
  /** Declares a task running `fn`; returns a handle to chain it and to read its return value. */
  task<R extends Json | undefined = undefined>(
    id: string,
    fn: TaskFn<P, R>,
    options?: TaskOptions,
  ): TaskRef<R>;
}

/** A declared, valid DAG (see the module comment). */
export interface Dag<P extends JsonObject = JsonObject> {
  readonly id: string;
  readonly spec: DagSpec;
  /** The function of a task; a `DagValidationError` if the DAG has no such task. */
  callable(taskId: string): TaskFn<JsonObject>;
  /** This DAG with `spec.fileloc` set to `file` (the loader calls it). */
  locatedAt(file: string): Dag<P>;
}

/** Defaults of task options when neither the task nor the DAG gives them. */
export const TASK_DEFAULTS = {
  retries: 0,
  /** Airflow's is 300 s; shorter here, where DAGs run every 2 minutes. */
  retryDelay: "30s",
  executionTimeout: null,
} as const;

/**
 * What a DAG file leaves unset comes from `[core] max_active_runs_per_dag`, `default_task_retries` and
 * `default_task_retry_delay`, read when the DAG is defined, as Airflow reads them when a DAG object is built:
 * the spec then holds the values that apply, for the scheduler, the UI and `dags show` alike. Without a windflow
 * project around (a DAG built outside one), the built-in defaults.
 */
function coreDefaults(): { maxActiveRuns: number; retries: number; retryDelayMs: number } {
  const builtIn = {
    maxActiveRuns: 1,
    retries: TASK_DEFAULTS.retries,
    retryDelayMs: parseDuration(TASK_DEFAULTS.retryDelay),
  };
  // Lazy, and only the config module: a DAG file's start stays light.
  const { loadConfig } = require("../config.js") as typeof import("../config.js");
  let core: ReturnType<typeof loadConfig>["core"];
  try {
    core = loadConfig().core;
  } catch (error) {
    if (
      (error as { name?: string }).name === "ConfigError" ||
      (error as { name?: string }).name === "ConfigFileError"
    )
      throw error; // a setting that is wrong is said, not replaced by a default
    return builtIn;
  }
  return {
    maxActiveRuns: core.max_active_runs_per_dag,
    retries: core.default_task_retries,
    retryDelayMs: core.default_task_retry_delay,
  };
}

// A registered symbol, not a class: a DAG file importing `windflow` (the built package) and a loader running
// from the sources hold two copies of this module, and `instanceof` would fail across them.
const DAG_BRAND = Symbol.for("windflow.dag");

/** Whether a value is a DAG made by `dag()` (from any copy of this module). */
export function isDag(value: unknown): value is Dag {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<symbol, unknown>)[DAG_BRAND] === true &&
    typeof (value as Dag).callable === "function"
  );
}

interface Draft {
  id: string;
  upstream: string[];
  fn: TaskFn<JsonObject>;
  options: TaskOptions;
}

const TASK_OWNER = Symbol("windflow.task-owner");

/** Declares a DAG; throws a `DagValidationError` (or `DagCycleError`) if it is not valid. */
export function dag<P extends JsonObject = JsonObject>(
  options: DagOptions<P>,
  build: (d: DagBuilder<P>) => void,
): Dag<P> {
  const dagId = typeof options.id === "string" ? options.id : String(options.id);
  const fail = (field: string, detail: string, hint?: string): never => {
    throw new DagValidationError(dagId, field, detail, hint);
  };
  const drafts = new Map<string, Draft>();
  const order: Draft[] = [];
  let open = true;
  const owner = {};

  const draftOf = (ref: TaskRef, at: string): Draft => {
    const draft = drafts.get(ref?.id);
    if (!draft || (ref as unknown as Record<symbol, unknown>)[TASK_OWNER] !== owner)
      fail(
        `tasks.${at}`,
        `${ref?.id ?? String(ref)} is not a task of this DAG`,
        "chain tasks declared with d.task",
      );
    return draft as Draft;
  };
  const link = (from: TaskRef, to: TaskRef) => {
    const target = draftOf(to, to.id);
    draftOf(from, to.id);
    if (!target.upstream.includes(from.id)) target.upstream.push(from.id);
  };

  const builder: DagBuilder<P> = {
    task<R extends Json | undefined>(
      id: string,
      fn: TaskFn<P, R>,
      taskOptions: TaskOptions = {},
    ): TaskRef<R> {
      if (!open)
        fail(`tasks.${id}`, "declared after dag() returned", "declare every task inside the build function");
      if (typeof fn !== "function") fail(`tasks.${id}`, "needs a function: d.task(id, (ctx) => ...)");
      if (drafts.has(id))
        fail(`tasks.${id}`, `duplicate task id "${id}"`, "give each task of a DAG its own id");
      const draft: Draft = {
        id,
        upstream: [],
        fn: fn as unknown as TaskFn<JsonObject>,
        options: taskOptions,
      };
      drafts.set(id, draft);
      order.push(draft);
      const ref: TaskRef<R> = {
        id,
        before(next) {
          for (const n of (Array.isArray(next) ? next : [next]) as TaskRef[]) link(ref, n);
          return next;
        },
        after(...previous) {
          for (const p of previous.flat()) link(p, ref);
          return this;
        },
      };
      Object.defineProperty(ref, TASK_OWNER, { value: owner });
      return ref;
    },
  };

  const result: unknown = build(builder);
  open = false;
  if (result instanceof Promise)
    fail(
      "build",
      "the build function returned a promise",
      "declare tasks synchronously; do async work inside tasks",
    );

  const ms = (field: string, d: Duration | null | undefined): number | null | undefined => {
    if (d === undefined || d === null) return d;
    try {
      return parseDuration(d);
    } catch (error) {
      const e = error as Error & { hint?: string };
      return fail(field, e.message, e.hint);
    }
  };
  const taskSpec = (draft: Draft): TaskSpec => {
    const o = draft.options;
    const spec: Record<string, unknown> = {
      id: draft.id,
      upstream: draft.upstream,
      triggerRule: o.triggerRule ?? "all_success",
    };
    // Only the options given, so that the spec equals its JSON round trip (no `undefined` fields).
    if (o.description !== undefined) spec.description = o.description;
    if (o.retries !== undefined) spec.retries = o.retries;
    if (o.retryDelay !== undefined) spec.retryDelayMs = ms(`tasks.${draft.id}.retryDelay`, o.retryDelay);
    if (o.executionTimeout !== undefined)
      spec.executionTimeoutMs = ms(`tasks.${draft.id}.executionTimeout`, o.executionTimeout);
    return spec as unknown as TaskSpec;
  };

  let schedule: DagSpec["schedule"] = null;
  try {
    schedule = normalizeSchedule(options.schedule ?? null);
  } catch (error) {
    const e = error as Error & { hint?: string };
    fail("schedule", e.message, e.hint);
  }
  const start = options.startDate instanceof Date ? options.startDate : new Date(options.startDate);
  if (Number.isNaN(start.getTime()))
    fail(
      "startDate",
      `${JSON.stringify(options.startDate)} is not a date`,
      'write e.g. "2026-01-01T00:00:00Z"',
    );
  const defaults = options.defaults ?? {};
  const core = coreDefaults();
  const spec = {
    id: options.id,
    description: options.description ?? "",
    schedule,
    startDate: start.toISOString(),
    catchup: options.catchup ?? false,
    maxActiveRuns: options.maxActiveRuns ?? core.maxActiveRuns,
    defaults: {
      retries: defaults.retries ?? core.retries,
      retryDelayMs:
        defaults.retryDelay === undefined
          ? core.retryDelayMs
          : (ms("defaults.retryDelay", defaults.retryDelay) as number),
      executionTimeoutMs:
        ms("defaults.executionTimeout", defaults.executionTimeout ?? TASK_DEFAULTS.executionTimeout) ?? null,
    },
    tags: [...(options.tags ?? [])],
    params: { ...(options.params ?? {}) },
    outputs: [...(options.outputs ?? [])],
    tasks: order.map(taskSpec),
    fileloc: null,
  };
  assertDagSpec(spec);
  const callables = new Map(order.map((d) => [d.id, d.fn]));
  return makeDag<P>(spec, callables);
}

function makeDag<P extends JsonObject>(
  spec: DagSpec,
  callables: ReadonlyMap<string, TaskFn<JsonObject>>,
): Dag<P> {
  const made: Dag<P> = {
    id: spec.id,
    spec,
    callable(taskId) {
      const fn = callables.get(taskId);
      if (!fn)
        throw new DagValidationError(
          spec.id,
          "tasks",
          `no task "${taskId}"`,
          `tasks of ${spec.id}: ${[...callables.keys()].join(", ")}`,
        );
      return fn;
    },
    locatedAt(file) {
      return makeDag<P>({ ...spec, fileloc: file }, callables);
    },
  };
  Object.defineProperty(made, DAG_BRAND, { value: true });
  return made;
}

/**
 * Declares dependencies along a chain, Airflow's `chain()`: `chain(a, [b, c], d)` makes b and c run after
 * a, and d after both. Two lists in a row are joined pairwise and must have the same length.
 */
export function chain(...items: readonly (TaskRef | readonly TaskRef[])[]): void {
  for (let i = 1; i < items.length; i++) {
    const prev = items[i - 1] as TaskRef | readonly TaskRef[];
    const next = items[i] as TaskRef | readonly TaskRef[];
    if (Array.isArray(prev) && Array.isArray(next)) {
      const p = prev as readonly TaskRef[];
      const n = next as readonly TaskRef[];
      if (p.length !== n.length)
        throw new DagValidationError(
          "?",
          "chain",
          `cannot join lists of ${p.length} and ${n.length} tasks pairwise`,
          "chain two lists of the same length, or put a single task between them",
        );
      p.forEach((t, j) => {
        t.before(n[j] as TaskRef);
      });
    } else if (Array.isArray(prev)) for (const t of prev as readonly TaskRef[]) t.before(next as TaskRef);
    else (prev as TaskRef).before(next);
  }
}
