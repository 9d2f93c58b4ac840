/**
 * The run context a task function receives, and the checks on what goes in and out of it: params merged
 * with the trigger's conf, and return values (XCom-like) that must be small JSON. Shared by `testDag` and
 * the executor, so that a task behaves the same in a test and in a real run.
 */
import { timestamp } from "../util/timestamp.js";
import { ConfError, TaskSkip, XComError } from "./errors.js";
import { ancestorsOf } from "./graph.js";
import type { DagSpec, DataInterval, Json, JsonObject, TaskContext, TaskRef } from "./types.js";

/** Largest serialised return value, in bytes (UTF-8 of its JSON): data goes through files, not XCom. */
export const XCOM_MAX_BYTES = 64 * 1024;

/** The JSON type of a value, for messages: "string", "number", "array"... */
function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/**
 * The params a run sees: the DAG's defaults, overridden by the conf's keys. A conf value for a declared
 * param must have the default's JSON type (a `ConfError` otherwise); keys without a default pass as given.
 */
export function mergeParams(spec: Pick<DagSpec, "id" | "params">, conf: JsonObject = {}): JsonObject {
  const out: JsonObject = { ...spec.params };
  for (const [key, value] of Object.entries(conf)) {
    const def = spec.params[key];
    if (def !== undefined && def !== null && value !== null && jsonType(def) !== jsonType(value))
      throw new ConfError(
        spec.id,
        key,
        `expected a ${jsonType(def)} like the default, got a ${jsonType(value)}`,
      );
    out[key] = value;
  }
  return out;
}

/** Where a non-JSON value sits, e.g. `$.model.created` is a Date; undefined if the value is plain JSON. */
/**
 * How deep plain JSON may nest (conf, params, return values): deeper is refused with a message, where it would
 * otherwise end in a stack overflow somewhere (a 500 from the API for a conf nested 10,000 levels).
 */
export const MAX_JSON_DEPTH = 64;

function notJson(value: unknown, at: string, seen: Set<unknown>, depth = 0): string | undefined {
  if (value === null || typeof value === "string" || typeof value === "boolean") return undefined;
  if (typeof value === "number") return Number.isFinite(value) ? undefined : `${at} is ${value}`;
  if (typeof value !== "object") return `${at} is a ${typeof value}`;
  if (depth >= MAX_JSON_DEPTH)
    return `${at.length > 60 ? `${at.slice(0, 57)}...` : at} is nested more than ${MAX_JSON_DEPTH} levels deep`;
  if (seen.has(value)) return `${at} is a circular reference`;
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const bad = notJson(value[i], `${at}[${i}]`, seen, depth + 1);
        if (bad) return bad;
      }
      return undefined;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null)
      return `${at} is a ${(value as object).constructor?.name ?? "non-plain object"}`;
    for (const [k, v] of Object.entries(value)) {
      const bad = notJson(v, `${at}.${k}`, seen, depth + 1);
      if (bad) return bad;
    }
    return undefined;
  } finally {
    seen.delete(value);
  }
}

/** Where `value` stops being plain JSON (`$.model.created is a Date`), or undefined if it is plain JSON. */
export function jsonProblem(value: unknown): string | undefined {
  return notJson(value, "$", new Set());
}

/**
 * Checks a task's return value and returns it as JSON, or undefined when the task returned nothing.
 * Throws a (non-retryable) `XComError` if it is not plain JSON or is larger than `maxBytes` serialised.
 */
export function checkReturnValue(
  dagId: string,
  taskId: string,
  value: unknown,
  maxBytes: number = XCOM_MAX_BYTES,
): Json | undefined {
  if (value === undefined) return undefined;
  const bad = jsonProblem(value);
  if (bad)
    throw new XComError(
      dagId,
      taskId,
      `the return value is not plain JSON: ${bad}`,
      "return strings, numbers, booleans, null, arrays and plain objects (a Date: its toISOString())",
    );
  const bytes = Buffer.byteLength(JSON.stringify(value), "utf8");
  if (bytes > maxBytes)
    throw new XComError(
      dagId,
      taskId,
      `the return value is ${bytes} bytes serialised, more than the ${maxBytes} allowed`,
      "write the data to a file and return its path: tasks exchange files, only small values pass between them",
    );
  return value as Json;
}

/** What is needed to build a task's context. */
export interface ContextInput {
  spec: Pick<DagSpec, "id" | "params" | "tasks">;
  taskId: string;
  runId: string;
  logicalDate: Date;
  dataInterval: DataInterval;
  /** The trigger's conf. @default {} */
  conf?: JsonObject;
  /** 1 for the first try. */
  tryNumber: number;
  maxTries: number;
  /** Return values of the tasks of the run that returned one, by task id. */
  xcoms: Readonly<Record<string, Json>>;
  log: (line: string) => void;
  signal: AbortSignal;
}

/**
 * The context handed to a task function. `ctx.xcom(t)` only reads tasks upstream of this one (directly or
 * not): any other task may not have finished, so reading it would be a race.
 */
export function makeContext(input: ContextInput): TaskContext {
  const { spec, taskId } = input;
  const conf = input.conf ?? {};
  const ancestors = ancestorsOf(spec, taskId);
  return {
    dagId: spec.id,
    taskId,
    runId: input.runId,
    logicalDate: input.logicalDate,
    stamp: timestamp(input.logicalDate),
    dataInterval: input.dataInterval,
    params: mergeParams(spec, conf),
    conf,
    tryNumber: input.tryNumber,
    maxTries: input.maxTries,
    signal: input.signal,
    xcom<T extends Json | undefined = Json>(
      task: string | TaskRef<T>,
      fallback?: Exclude<T, undefined>,
    ): Exclude<T, undefined> {
      const id = typeof task === "string" ? task : task.id;
      if (!ancestors.has(id))
        throw new XComError(
          spec.id,
          taskId,
          `ctx.xcom("${id}"): ${id} is not upstream of ${taskId}`,
          `declare the dependency (${id}.before(${taskId})) so that ${id} has finished when ${taskId} runs`,
        );
      const value = input.xcoms[id];
      if (value !== undefined) return value as Exclude<T, undefined>;
      if (fallback !== undefined) return fallback;
      throw new XComError(
        spec.id,
        taskId,
        `ctx.xcom("${id}"): ${id} returned no value (it returned nothing, or did not succeed)`,
        "return the value from the upstream task, or give ctx.xcom a fallback",
      );
    },
    log: input.log,
    skip(reason: string): never {
      throw new TaskSkip(reason);
    },
  };
}
