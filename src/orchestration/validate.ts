/**
 * Validation of DAG specs, and their JSON form. `assertDagSpec` checks a value of unknown origin (a spec
 * built by `dag()`, or read back from the store) field by field and throws the first problem as a
 * `DagValidationError` naming the DAG and the field (a `DagCycleError` naming the cycle). Inside the
 * orchestrator, a `DagSpec` is then trusted.
 *
 * `toJSON` / `fromJSON` are lossless: `fromJSON(toJSON(spec))` deep-equals `spec`. The JSON carries a
 * `format` tag so that a future change of shape is detected rather than misread.
 */
import { jsonProblem } from "./context.js";
import { parseCron } from "./cron.js";
import { parseDuration } from "./duration.js";
import { DagCycleError, DagValidationError } from "./errors.js";
import { findCycle } from "./graph.js";
import { MIN_INTERVAL_MS } from "./schedule.js";
import { type DagSpec, type TaskSpec, TRIGGER_RULES } from "./types.js";

/** Ids of DAGs and tasks: they name log folders and run ids, so a safe charset. Airflow's rule. */
export const ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
export const ID_MAX_LENGTH = 250;
/** The `format` tag of the JSON form. */
export const SPEC_FORMAT = "windflow.dag-spec/1";

const DAG_KEYS = [
  "id",
  "description",
  "schedule",
  "startDate",
  "catchup",
  "maxActiveRuns",
  "defaults",
  "tags",
  "params",
  "outputs",
  "tasks",
  "fileloc",
] as const;
const TASK_KEYS = [
  "id",
  "upstream",
  "triggerRule",
  "description",
  "retries",
  "retryDelayMs",
  "executionTimeoutMs",
] as const;

/** Why an id is not valid, or undefined. */
export function idProblem(id: unknown): string | undefined {
  if (typeof id !== "string") return `must be a string, got ${JSON.stringify(id) ?? typeof id}`;
  if (id.length === 0) return "is empty";
  if (id.length > ID_MAX_LENGTH) return `is longer than ${ID_MAX_LENGTH} characters`;
  if (!ID_PATTERN.test(id))
    return `${JSON.stringify(id)} may only hold letters, digits, "_", "-", "." and not start with "-" or "."`;
  return undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown, min: number): v is number => Number.isInteger(v) && (v as number) >= min;

type Fail = (field: string, detail: string, hint?: string) => never;

/** Checks a DAG spec of unknown origin; throws the first problem found (see the module comment). */
export function assertDagSpec(value: unknown): asserts value is DagSpec {
  if (!isObject(value)) throw new DagValidationError("?", "spec", "is not an object");
  const bad = idProblem(value.id);
  const dagId = bad === undefined ? (value.id as string) : String(JSON.stringify(value.id));
  const fail: Fail = (field, detail, hint) => {
    throw new DagValidationError(dagId, field, detail, hint);
  };
  if (bad) fail("id", bad);
  for (const key of Object.keys(value))
    if (!(DAG_KEYS as readonly string[]).includes(key)) fail(key, "is not a field of a DAG spec");
  if (typeof value.description !== "string") fail("description", "must be a string");
  checkSchedule(value.schedule, fail);
  if (typeof value.startDate !== "string" || Number.isNaN(Date.parse(value.startDate)))
    fail(
      "startDate",
      `${JSON.stringify(value.startDate)} is not a date`,
      'write an ISO 8601 instant, e.g. "2026-01-01T00:00:00Z"',
    );
  if (typeof value.catchup !== "boolean") fail("catchup", "must be true or false");
  if (!isCount(value.maxActiveRuns, 1))
    fail("maxActiveRuns", `must be a whole number >= 1, got ${JSON.stringify(value.maxActiveRuns)}`);
  const defaults = value.defaults;
  if (!isObject(defaults)) fail("defaults", "must be an object");
  for (const key of Object.keys(defaults))
    if (!["retries", "retryDelayMs", "executionTimeoutMs"].includes(key))
      fail(`defaults.${key}`, "is not a task option (retries, retryDelayMs, executionTimeoutMs)");
  checkTaskOptions(defaults, "defaults", true, fail);
  if (!Array.isArray(value.tags) || value.tags.some((t) => typeof t !== "string" || t === ""))
    fail("tags", "must be a list of non-empty strings");
  if (!isObject(value.params)) fail("params", "must be an object of JSON values");
  const problem = jsonProblem(value.params);
  if (problem) fail("params", problem.replace(/^\$/, "params"));
  if (!Array.isArray(value.outputs) || value.outputs.some((o) => typeof o !== "string" || o === ""))
    fail("outputs", 'must be a list of file names, e.g. ["data/predictions/{stamp}.csv"]');
  if (value.fileloc !== null && typeof value.fileloc !== "string") fail("fileloc", "must be a path or null");
  checkTasks(dagId, value.tasks, fail);
}

function checkSchedule(schedule: unknown, fail: Fail): void {
  if (schedule === null) return;
  if (!isObject(schedule) || Object.keys(schedule).length !== 1)
    fail("schedule", 'must be null, { cron: "..." } or { every: "..." }');
  try {
    if (typeof schedule.cron === "string") parseCron(schedule.cron);
    else if (typeof schedule.every === "string") {
      if (parseDuration(schedule.every) < MIN_INTERVAL_MS)
        fail("schedule", `every ${schedule.every}: an interval must be at least ${MIN_INTERVAL_MS} ms`);
    } else fail("schedule", 'must be null, { cron: "..." } or { every: "..." }');
  } catch (error) {
    if (error instanceof DagValidationError) throw error;
    const e = error as Error & { hint?: string };
    fail("schedule", e.message, e.hint);
  }
}

function checkTaskOptions(options: Record<string, unknown>, at: string, required: boolean, fail: Fail): void {
  const present = (key: string) => required || options[key] !== undefined;
  if (present("retries") && !isCount(options.retries, 0))
    fail(`${at}.retries`, `must be a whole number >= 0, got ${JSON.stringify(options.retries)}`);
  if (present("retryDelayMs") && !isCount(options.retryDelayMs, 0))
    fail(
      `${at}.retryDelayMs`,
      `must be a whole number of ms >= 0, got ${JSON.stringify(options.retryDelayMs)}`,
    );
  if (
    present("executionTimeoutMs") &&
    options.executionTimeoutMs !== null &&
    !isCount(options.executionTimeoutMs, 1)
  )
    fail(
      `${at}.executionTimeoutMs`,
      `must be null (no limit) or a whole number of ms >= 1, got ${JSON.stringify(options.executionTimeoutMs)}`,
    );
}

function checkTasks(dagId: string, tasks: unknown, fail: Fail): void {
  if (!Array.isArray(tasks)) fail("tasks", "must be a list");
  if (tasks.length === 0) fail("tasks", "a DAG needs at least one task", "declare tasks with d.task(id, fn)");
  const seen = new Set<string>();
  for (const [i, task] of tasks.entries()) {
    if (!isObject(task)) fail(`tasks[${i}]`, "is not an object");
    const bad = idProblem(task.id);
    if (bad) fail(`tasks[${i}].id`, bad);
    const id = task.id as string;
    if (seen.has(id)) fail(`tasks.${id}`, `duplicate task id "${id}"`, "give each task of a DAG its own id");
    seen.add(id);
    for (const key of Object.keys(task))
      if (!(TASK_KEYS as readonly string[]).includes(key))
        fail(`tasks.${id}.${key}`, "is not a field of a task spec");
    if (!(TRIGGER_RULES as readonly unknown[]).includes(task.triggerRule))
      fail(
        `tasks.${id}.triggerRule`,
        `${JSON.stringify(task.triggerRule)} is not one of ${TRIGGER_RULES.join(", ")}`,
      );
    if (task.description !== undefined && typeof task.description !== "string")
      fail(`tasks.${id}.description`, "must be a string");
    checkTaskOptions(task, `tasks.${id}`, false, fail);
    if (!Array.isArray(task.upstream) || task.upstream.some((u) => typeof u !== "string"))
      fail(`tasks.${id}.upstream`, "must be a list of task ids");
    const upstream = task.upstream as string[];
    if (new Set(upstream).size !== upstream.length)
      fail(`tasks.${id}.upstream`, `lists a task twice: ${upstream.join(", ")}`);
  }
  const specTasks = tasks as TaskSpec[];
  for (const task of specTasks)
    for (const u of task.upstream)
      if (!seen.has(u))
        fail(
          `tasks.${task.id}.upstream`,
          `unknown task "${u}"`,
          `declare a task "${u}" in this DAG, or remove the dependency (known: ${[...seen].join(", ")})`,
        );
  const cycle = findCycle({ tasks: specTasks });
  if (cycle) throw new DagCycleError(dagId, cycle);
}

/** The spec as JSON text, with a `format` tag. */
export function toJSON(spec: DagSpec): string {
  return JSON.stringify({ format: SPEC_FORMAT, ...spec });
}

/** A spec back from `toJSON`'s text (or the parsed object), validated: a `DagValidationError` if not valid. */
export function fromJSON(json: string | unknown): DagSpec {
  let value: unknown = json;
  if (typeof json === "string") {
    try {
      value = JSON.parse(json);
    } catch (error) {
      throw new DagValidationError("?", "json", `not JSON: ${(error as Error).message}`);
    }
  }
  if (!isObject(value)) throw new DagValidationError("?", "json", "is not a JSON object");
  const { format, ...spec } = value;
  const id = typeof spec.id === "string" ? spec.id : "?";
  if (format !== SPEC_FORMAT)
    throw new DagValidationError(
      id,
      "format",
      `is ${JSON.stringify(format)}, expected "${SPEC_FORMAT}"`,
      "the spec was stored by another version of windflow: re-parse the DAG file",
    );
  // Specs stored before `outputs` existed have none.
  if (spec.outputs === undefined) spec.outputs = [];
  assertDagSpec(spec);
  return spec;
}
