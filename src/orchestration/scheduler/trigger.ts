/**
 * Manual runs and the paused flag: what `windflow dags trigger / pause / unpause` and the web UI's buttons do.
 *
 * A manual run's logical date is the trigger time to the second unless one is given (`manualRun`), and the
 * trigger reports the `YYYYmmdd-HHMMSS` stamp its dated files will use, so that "which file did my run
 * write?" has an answer before the run starts.
 *
 * A manual run of a paused DAG is created `queued` and stays so until the DAG is unpaused (Airflow's
 * behaviour: pausing a DAG stops all of its work, not only its schedule); `triggerDag` says so in its result.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { WindflowError } from "../../errors.js";
import { jsonProblem, mergeParams } from "../context.js";
import { manualRunNow, runsDue } from "../schedule.js";
import { RecordNotFoundError } from "../store/errors.js";
import { runTasksOf } from "../store/records.js";
import type { DagRecord, DagRunRecord, MetadataStore } from "../store/store.js";
import type { DataInterval, JsonObject } from "../types.js";

/** The DAG is in the store but no file defines it any more. */
export class DagInactiveError extends WindflowError {
  readonly retryable = false;
  constructor(
    readonly dagId: string,
    readonly fileloc: string,
  ) {
    super(`DAG ${dagId} is inactive: ${fileloc} no longer defines it`, {
      hint: "restore its file in the DAGs folder (the scheduler reads it again), or pick another DAG",
    });
  }
}

/** A `--conf` text that is not a JSON object. */
export class ConfSyntaxError extends WindflowError {
  readonly retryable = false;
  constructor(
    readonly text: string,
    readonly detail: string,
  ) {
    super(`conf ${JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text)}: ${detail}`, {
      hint: `give a JSON object, e.g. --conf '{"seed": 7}'`,
    });
  }
}

/** Parses the text of a `--conf` option: a JSON object, or a `ConfSyntaxError`. */
export function parseConf(text: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfSyntaxError(text, `not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new ConfSyntaxError(text, "not a JSON object");
  const bad = jsonProblem(value);
  if (bad) throw new ConfSyntaxError(text, bad);
  return value as JsonObject;
}

/** The active DAG `dagId`, or a `RecordNotFoundError` / `DagInactiveError`. */
export function activeDag(store: MetadataStore, dagId: string): DagRecord {
  const dag = store.getDag(dagId);
  if (!dag) throw new RecordNotFoundError("dag", dagId);
  if (!dag.isActive) throw new DagInactiveError(dagId, dag.fileloc);
  return dag;
}

/** Options of `triggerDag`. */
export interface TriggerOptions {
  /** Overrides params of the same name (checked against their types now, not when a task runs). */
  conf?: JsonObject;
  /** @default the trigger time, to the second */
  logicalDate?: Date | string;
  /** The trigger time. @default new Date() */
  now?: Date;
}

/** What a trigger created. */
export interface TriggerResult {
  readonly run: DagRunRecord;
  /** `YYYYmmdd-HHMMSS` (UTC) of the logical date: the name its dated files will use. */
  readonly stamp: string;
  /** The DAG is paused: the run stays queued until it is unpaused. */
  readonly paused: boolean;
  /** The dated files the run will write (the DAG's `outputs` with the stamp filled in). */
  readonly outputs: readonly string[];
  /**
   * The DAG's runs this one waits for: its `maxActiveRuns` slots are taken by them (running first, then queued
   * before it). Empty: it starts as soon as a scheduler sees it (and the DAG is ON).
   */
  readonly waitsFor: readonly Pick<DagRunRecord, "runId" | "runType" | "state" | "logicalDate">[];
  /** The DAG's `maxActiveRuns`. */
  readonly maxActiveRuns: number;
}

/**
 * The runs a new run of `dagId` waits for: none while fewer than `maxActiveRuns` runs are queued or running;
 * else those runs, the running ones first (what `runsToStart` starts before it: oldest logical dates first).
 */
export function runsAhead(
  store: MetadataStore,
  dagId: string,
  maxActiveRuns: number,
  except?: string,
): DagRunRecord[] {
  const active = store
    .listRuns({ dagId, states: ["queued", "running"] })
    .filter((r) => r.runId !== except)
    .sort(
      (a, b) =>
        (a.state === "running" ? 0 : 1) - (b.state === "running" ? 0 : 1) ||
        a.logicalDate.getTime() - b.logicalDate.getTime(),
    );
  return active.length >= maxActiveRuns ? active : [];
}

/**
 * What turning a DAG ON does now: the scheduled run it creates at once, if any (catch-up off: the latest
 * complete interval, as Airflow does; catch-up on: the first missed interval, and the others after it).
 */
export function runsOnUnpause(
  store: MetadataStore,
  dag: Pick<DagRecord, "dagId" | "spec">,
  now: Date,
): { first: DataInterval | null; more: boolean } {
  const due = runsDue(dag.spec, now, store.lastLogicalDate(dag.dagId, "scheduled"), { limit: 2 });
  return { first: due[0] ?? null, more: due.length > 1 };
}

/** A DAG's `outputs` with `{stamp}` replaced: the files a run with this stamp writes. */
export function outputsFor(outputs: readonly string[], stamp: string): string[] {
  return outputs.map((o) => o.replaceAll("{stamp}", stamp));
}

/**
 * Creates a manual run of `dagId` (queued, its task instances in `none`): the scheduler starts it when the
 * DAG is unpaused and a run slot is free. A `DuplicateRunError` if a run with the same id (the same
 * second) exists, a `ConfError` if the conf does not fit the params.
 */
export function triggerDag(store: MetadataStore, dagId: string, options: TriggerOptions = {}): TriggerResult {
  const dag = activeDag(store, dagId);
  const now = options.now ?? new Date();
  const conf = options.conf ?? {};
  mergeParams(dag.spec, conf);
  const manual = manualRunNow(now, options.logicalDate);
  const run = store.createRun(
    {
      dagId,
      runId: manual.runId,
      runType: "manual",
      logicalDate: manual.logicalDate,
      dataInterval: manual.dataInterval,
      conf,
      tasks: runTasksOf(dag.spec),
    },
    now,
  );
  return {
    run,
    stamp: manual.stamp,
    paused: dag.isPaused,
    outputs: outputsFor(dag.spec.outputs, manual.stamp),
    waitsFor: runsAhead(store, dagId, dag.spec.maxActiveRuns, run.runId).map((r) => ({
      runId: r.runId,
      runType: r.runType,
      state: r.state,
      logicalDate: r.logicalDate,
    })),
    maxActiveRuns: dag.spec.maxActiveRuns,
  };
}

/** Pauses or unpauses an active DAG; returns whether the flag changed. */
export function setDagPaused(store: MetadataStore, dagId: string, paused: boolean): boolean {
  const dag = activeDag(store, dagId);
  if (dag.isPaused === paused) return false;
  store.setPaused(dagId, paused);
  return true;
}

/** The file a scheduler watches in its home: writing it wakes the scheduler at once (`wakeScheduler`). */
export const WAKEUP_FILE = "scheduler.wakeup";

/**
 * Tells the schedulers of this home to look at the store now rather than at their next heartbeat: called after
 * a trigger, an unpause or a run cleared, so that a manual run starts in tens of ms (Airflow users wait for
 * the next scheduler loop). A scheduler that misses it (another machine, a file system without change events)
 * still sees the change at its next heartbeat.
 */
export function wakeScheduler(home: string): void {
  try {
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, WAKEUP_FILE), `${new Date().toISOString()}\n`);
  } catch {
    // Only a hint: the heartbeat covers it.
  }
}
