/**
 * What both store implementations share, so that they cannot drift apart: the checks on what is written,
 * and the effect of a state change on a task instance or run record (the fields the store sets itself).
 */
import { jsonProblem } from "../context.js";
import {
  manualRunTransition,
  manualTransition,
  type RunState,
  runTransition,
  TASK_TERMINAL,
  type TaskState,
  transition,
} from "../state.js";
import { taskOptions } from "../task-options.js";
import type { DagSpec, Json, JsonObject } from "../types.js";
import { idProblem, toJSON } from "../validate.js";
import { StoreInputError } from "./errors.js";
import {
  type DagRunRecord,
  type ManualChange,
  type NewTaskInstance,
  type RunKey,
  type TaskInstanceKey,
  type TaskInstanceRecord,
  type TaskStateFields,
  type TaskTryRecord,
  USER_ROLES,
  type UserRole,
} from "./store.js";

/** sha256 (hex) of the spec's JSON form: equal specs, equal hashes. */
export function specHash(spec: DagSpec): string {
  // node:crypto on first use (the scheduler's DAG processor): a task process loads the store and never hashes.
  const { createHash } = require("node:crypto") as typeof import("node:crypto");
  return createHash("sha256").update(toJSON(spec)).digest("hex");
}

/** The task instances of a new run of this DAG: every task, with 1 + its effective retries as max tries. */
export function runTasksOf(spec: Pick<DagSpec, "id" | "tasks" | "defaults">): NewTaskInstance[] {
  return spec.tasks.map((t) => ({ taskId: t.id, maxTries: taskOptions(spec, t.id).retries + 1 }));
}

/** `train/manual__20260101-000000`. */
export function runKeyText(key: RunKey): string {
  return `${key.dagId}/${key.runId}`;
}

/** `train/manual__20260101-000000/prepare_features`. */
export function taskKeyText(key: TaskInstanceKey): string {
  return `${key.dagId}/${key.runId}/${key.taskId}`;
}

/** Refuses a value that is not plain JSON (a Date, undefined inside, NaN...), naming where. */
export function checkJson(what: string, value: unknown): asserts value is Json {
  const bad = jsonProblem(value);
  if (bad) throw new StoreInputError(what, `not plain JSON: ${bad}`);
}

/** Refuses a conf that is not a JSON object. */
export function checkConf(what: string, conf: unknown): asserts conf is JsonObject {
  if (typeof conf !== "object" || conf === null || Array.isArray(conf))
    throw new StoreInputError(what, "the conf must be a JSON object");
  checkJson(what, conf);
}

export function checkRole(role: unknown): asserts role is UserRole {
  if (!(USER_ROLES as readonly unknown[]).includes(role))
    throw new StoreInputError("user role", `${JSON.stringify(role)} is not one of ${USER_ROLES.join(", ")}`);
}

/** Run ids name log folders: the charset of DAG and task ids. */
export function checkRunId(runId: string): void {
  const bad = idProblem(runId);
  if (bad)
    throw new StoreInputError(
      `run id ${JSON.stringify(runId)}`,
      bad,
      "run ids look like manual__20260101-000000 (see runIdFor)",
    );
}

export function checkMaxTries(what: string, maxTries: number): void {
  if (!Number.isInteger(maxTries) || maxTries < 1)
    throw new StoreInputError(what, `max tries must be a whole number >= 1, got ${maxTries}`);
}

/** A date that is a valid instant, or a `StoreInputError`. */
export function checkDate(what: string, date: Date): void {
  if (!(date instanceof Date) || Number.isNaN(date.getTime()))
    throw new StoreInputError(what, `${String(date)} is not a valid date`);
}

/** A fresh task instance record in state `none`. */
export function newTaskInstance(run: RunKey, task: NewTaskInstance, now: Date): TaskInstanceRecord {
  checkMaxTries(`task instance ${run.dagId}/${run.runId}/${task.taskId}`, task.maxTries);
  return {
    dagId: run.dagId,
    runId: run.runId,
    taskId: task.taskId,
    state: "none",
    tryNumber: 0,
    maxTries: task.maxTries,
    pid: null,
    hostname: null,
    queuedAt: null,
    queuedBy: null,
    startedAt: null,
    endedAt: null,
    nextRetryAt: null,
    returnValue: undefined,
    error: null,
    logPath: null,
    setBy: null,
    heartbeatAt: null,
    updatedAt: now,
  };
}

/** What a task state change writes. */
export interface TaskChange {
  readonly record: TaskInstanceRecord;
  /** A try started: add this record. */
  readonly startedTry?: TaskTryRecord;
  /** The running try ended: update its record with these. */
  readonly endedTry?: Pick<TaskTryRecord, "tryNumber" | "state" | "endedAt" | "error">;
}

/**
 * The record after moving `current` to `to` with `fields` at `now` (see `TaskStateFields` for what is set
 * on each move). Throws an `IllegalTransitionError` for a move the state machine refuses.
 */
export function applyTaskTransition(
  current: TaskInstanceRecord,
  to: TaskState,
  fields: TaskStateFields,
  now: Date,
): TaskChange {
  const from = current.state;
  transition(from, to);
  if (fields.returnValue !== undefined)
    checkJson(`return value of ${taskKeyText(current)}`, fields.returnValue);
  const next: { -readonly [K in keyof TaskInstanceRecord]: TaskInstanceRecord[K] } = {
    ...current,
    state: to,
    updatedAt: now,
    // The engine moved it: no longer a state set by hand.
    setBy: null,
  };
  if (to === "queued") next.queuedAt = now;
  if (to === "running") {
    next.tryNumber = current.tryNumber + 1;
    next.startedAt = now;
    next.endedAt = null;
    next.nextRetryAt = null;
    next.error = null;
    next.returnValue = undefined;
    // The previous try's process and log are not this try's.
    next.pid = null;
    next.hostname = null;
    next.logPath = null;
    next.heartbeatAt = null;
  }
  if (from === "running" || TASK_TERMINAL.has(to)) next.endedAt = now;
  if (from === "up_for_retry") next.nextRetryAt = null;
  for (const [k, v] of Object.entries(fields))
    if (v !== undefined) (next as Record<string, unknown>)[k] = v instanceof Date ? new Date(v) : v;
  const change: { -readonly [K in keyof TaskChange]: TaskChange[K] } = { record: next };
  if (to === "running")
    change.startedTry = {
      dagId: next.dagId,
      runId: next.runId,
      taskId: next.taskId,
      tryNumber: next.tryNumber,
      state: "running",
      pid: next.pid,
      hostname: next.hostname,
      startedAt: next.startedAt ?? now,
      endedAt: null,
      error: null,
      logPath: next.logPath,
    };
  if (from === "running")
    change.endedTry = { tryNumber: next.tryNumber, state: to, endedAt: next.endedAt, error: next.error };
  return change;
}

/** What a move by hand is called in messages and try records. */
const MANUAL_VERB: Partial<Record<TaskState, string>> = {
  none: "cleared",
  success: "marked success",
  failed: "marked failed",
};

/**
 * The record after a person's move of `current` to `to` (`setTaskStateByHand`: see there for what is set).
 * Throws an `IllegalTransitionError` for a move `TASK_MANUAL_TRANSITIONS` refuses.
 */
export function applyManualTransition(
  current: TaskInstanceRecord,
  to: TaskState,
  change: ManualChange,
  now: Date,
): TaskChange {
  const from = current.state;
  manualTransition(from, to);
  if (change.maxTries !== undefined) checkMaxTries(`task instance ${taskKeyText(current)}`, change.maxTries);
  const reason = change.reason ?? `${MANUAL_VERB[to] ?? to} by ${change.by}`;
  const next: { -readonly [K in keyof TaskInstanceRecord]: TaskInstanceRecord[K] } = {
    ...current,
    state: to,
    updatedAt: now,
    setBy: change.by,
    nextRetryAt: null,
  };
  if (to === "none") {
    Object.assign(next, {
      maxTries: change.maxTries ?? current.maxTries,
      pid: null,
      hostname: null,
      queuedAt: null,
      queuedBy: null,
      startedAt: null,
      endedAt: null,
      returnValue: undefined,
      error: null,
      logPath: null,
      heartbeatAt: null,
    });
  } else {
    next.endedAt = from === "running" || current.endedAt === null ? now : current.endedAt;
    next.error = to === "failed" ? reason : null;
  }
  const out: { -readonly [K in keyof TaskChange]: TaskChange[K] } = { record: next };
  if (from === "running")
    out.endedTry = {
      tryNumber: current.tryNumber,
      state: to === "none" ? "failed" : to,
      endedAt: now,
      error: to === "success" ? null : reason,
    };
  return out;
}

/** The run after a move by hand (a finished run queued again); an `IllegalTransitionError` if refused. */
export function applyManualRunTransition(current: DagRunRecord, to: RunState): DagRunRecord {
  manualRunTransition(current.state, to);
  return { ...current, state: to, endedAt: null };
}

/** The run after moving to `to` at `now`; an `IllegalTransitionError` if the move is refused. */
export function applyRunTransition(current: DagRunRecord, to: RunState, now: Date): DagRunRecord {
  runTransition(current.state, to);
  return {
    ...current,
    state: to,
    startedAt: to === "running" ? now : current.startedAt,
    endedAt: to === "success" || to === "failed" ? now : current.endedAt,
  };
}
