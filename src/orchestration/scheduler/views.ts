/**
 * What the CLI prints about DAGs, runs and task instances in the store: plain rows (the `--json` output) and
 * their text tables. Read-only: nothing here writes to the store.
 */
import { existsSync } from "node:fs";
import { relative } from "node:path";
import { timestamp } from "../../util/timestamp.js";
import { followLog, LogFollower, tryLogState } from "../executor/log-reader.js";
import { taskLogPath } from "../executor/task-log.js";
import { topologicalOrder } from "../graph.js";
import { describeSchedule } from "../schedule.js";
import { RecordNotFoundError } from "../store/errors.js";
import { runKeyText } from "../store/records.js";
import type {
  DagRecord,
  DagRunRecord,
  ImportErrorRecord,
  MetadataStore,
  RunKey,
  TaskInstanceKey,
  TaskInstanceRecord,
} from "../store/store.js";
import { taskOptions } from "../task-options.js";
import type { DagSpec, Json } from "../types.js";

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

/** A DAG as `dags list` shows it. */
export interface DagRow {
  readonly dagId: string;
  /** Null when read from the files (no store yet). */
  readonly paused: boolean | null;
  readonly schedule: string;
  readonly tasks: number;
  readonly tags: readonly string[];
  /** Relative to the project root. */
  readonly file: string;
  /** When the next scheduled run is due, if the scheduler computed it. */
  readonly nextRunAt: string | null;
}

/** A DAG spec as a row. */
export function dagRow(spec: DagSpec, root: string, record?: DagRecord): DagRow {
  return {
    dagId: spec.id,
    paused: record ? record.isPaused : null,
    schedule: describeSchedule(spec.schedule),
    tasks: spec.tasks.length,
    tags: [...spec.tags],
    file: spec.fileloc === null ? "" : relative(root, spec.fileloc),
    nextRunAt: record ? iso(record.nextRunAt) : null,
  };
}

/** The active DAGs of the store as rows, and its import errors. */
export function storedDagList(
  store: MetadataStore,
  root: string,
): { dags: DagRow[]; importErrors: { file: string; error: string; at: string }[] } {
  return {
    dags: store.listDags().map((d) => dagRow(d.spec, root, d)),
    importErrors: store.listImportErrors().map((e: ImportErrorRecord) => ({
      file: relative(root, e.file),
      error: e.message,
      at: e.at.toISOString(),
    })),
  };
}

/** The text of `dags list`. */
export function formatDagList(
  dags: readonly DagRow[],
  importErrors: readonly { file: string; error: string }[],
): string {
  const lines: string[] = [];
  const withStore = dags.some((d) => d.paused !== null);
  for (const r of dags) {
    const paused = withStore ? `${r.paused ? "paused" : "active"}  ` : "";
    lines.push(
      `${r.dagId.padEnd(26)} ${paused}${r.schedule.padEnd(22)} ${String(r.tasks).padStart(2)} tasks  ${r.file}`,
    );
  }
  for (const e of importErrors) lines.push(`BROKEN ${e.file}: ${e.error.split("\n")[0]}`);
  return lines.join("\n");
}

/** A run as `dags list-runs` shows it. */
export interface RunRow {
  readonly dagId: string;
  readonly runId: string;
  readonly state: string;
  readonly runType: string;
  readonly logicalDate: string;
  /** The stamp of the run's dated files. */
  readonly stamp: string;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
}

export function runRow(run: DagRunRecord): RunRow {
  return {
    dagId: run.dagId,
    runId: run.runId,
    state: run.state,
    runType: run.runType,
    logicalDate: run.logicalDate.toISOString(),
    stamp: timestamp(run.logicalDate),
    startedAt: iso(run.startedAt),
    endedAt: iso(run.endedAt),
  };
}

/** The text of `dags list-runs`. */
export function formatRuns(rows: readonly RunRow[]): string {
  if (rows.length === 0) return "no runs";
  const w = Math.max(...rows.map((r) => `${r.dagId}/${r.runId}`.length));
  return rows
    .map(
      (r) =>
        `${`${r.dagId}/${r.runId}`.padEnd(w)}  ${r.state.padEnd(8)} ${r.runType.padEnd(9)} logical ${r.logicalDate}` +
        (r.endedAt ? `  ended ${r.endedAt}` : r.startedAt ? `  started ${r.startedAt}` : ""),
    )
    .join("\n");
}

/** A task instance as `dags state` shows it. */
export interface TaskInstanceRow {
  readonly taskId: string;
  readonly state: string;
  readonly tryNumber: number;
  readonly maxTries: number;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  readonly durationMs: number | null;
  readonly returnValue?: Json;
  readonly error: string | null;
  readonly logPath: string | null;
}

export function taskInstanceRow(ti: TaskInstanceRecord): TaskInstanceRow {
  return {
    taskId: ti.taskId,
    state: ti.state,
    tryNumber: ti.tryNumber,
    maxTries: ti.maxTries,
    startedAt: iso(ti.startedAt),
    endedAt: iso(ti.endedAt),
    durationMs: ti.startedAt && ti.endedAt ? ti.endedAt.getTime() - ti.startedAt.getTime() : null,
    ...(ti.returnValue === undefined ? {} : { returnValue: ti.returnValue }),
    error: ti.error,
    logPath: ti.logPath,
  };
}

/** A run and its task instances (`dags state`); a `RecordNotFoundError` if there is no such run. */
export function runStateView(store: MetadataStore, key: RunKey): { run: RunRow; tasks: TaskInstanceRow[] } {
  const run = store.getRun(key);
  if (!run) throw new RecordNotFoundError("run", runKeyText(key));
  return {
    run: runRow(run),
    tasks: store.listTaskInstances({ dagId: key.dagId, runId: key.runId }).map(taskInstanceRow),
  };
}

/** The text of `dags state`: the run's state, then a line per task instance. */
export function formatRunState(view: { run: RunRow; tasks: readonly TaskInstanceRow[] }): string {
  const r = view.run;
  const w = Math.max(0, ...view.tasks.map((t) => t.taskId.length));
  const lines = view.tasks.map((t) => {
    const tries = t.tryNumber > 1 || t.maxTries > 1 ? ` try ${t.tryNumber}/${t.maxTries}` : "";
    const time = t.durationMs === null ? "" : ` ${(t.durationMs / 1000).toFixed(1)}s`;
    let detail = "";
    if (t.returnValue !== undefined) detail = `-> ${JSON.stringify(t.returnValue)}`;
    else if (t.error) detail = t.error.split("\n")[0] ?? "";
    if (detail.length > 140) detail = `${detail.slice(0, 137)}...`;
    return `  ${t.taskId.padEnd(w)}  ${(t.state + tries).padEnd(24)}${time.padStart(8)}  ${detail}`.trimEnd();
  });
  return [
    `${r.dagId}/${r.runId}: ${r.state} (${r.runType}, logical date ${r.logicalDate}, files stamped ${r.stamp})`,
    ...lines,
  ].join("\n");
}

/** A task as `tasks list` shows it. */
export interface TaskRow {
  readonly taskId: string;
  readonly upstream: readonly string[];
  readonly triggerRule: string;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly executionTimeoutMs: number | null;
}

/** The tasks of a DAG in topological order. */
export function taskRows(spec: DagSpec): TaskRow[] {
  return topologicalOrder(spec).map((t) => {
    const o = taskOptions(spec, t.id);
    return {
      taskId: t.id,
      upstream: [...t.upstream],
      triggerRule: t.triggerRule,
      retries: o.retries,
      retryDelayMs: o.retryDelayMs,
      executionTimeoutMs: o.executionTimeoutMs,
    };
  });
}

/**
 * The log file of a try of a task instance: try `tryNumber`, else the task instance's current (or last) try
 * from the store, else the highest try with a log file. Undefined if there is none.
 */
export function logPathOf(
  baseLogFolder: string,
  key: TaskInstanceKey,
  options: { tryNumber?: number; store?: MetadataStore } = {},
): { path: string; tryNumber: number } | undefined {
  if (options.tryNumber !== undefined)
    return { path: taskLogPath(baseLogFolder, key, options.tryNumber), tryNumber: options.tryNumber };
  const ti = options.store?.getTaskInstance(key);
  if (ti && ti.tryNumber > 0)
    return { path: taskLogPath(baseLogFolder, key, ti.tryNumber), tryNumber: ti.tryNumber };
  for (let n = 100; n >= 1; n--) {
    const path = taskLogPath(baseLogFolder, key, n);
    if (existsSync(path)) return { path, tryNumber: n };
  }
  return undefined;
}

/**
 * Writes a try's log, then what is appended while the try goes on (`tasks logs --follow`): the one log reader's
 * `followLog` (executor/log-reader.ts).
 */
export const followFile = followLog;

/**
 * Whether `tasks logs --follow` keeps following try `tryNumber`: while it writes its log, or waits to start
 * (`tryLogState`, the answer the API and the log page use too).
 */
export function tryGoesOn(store: MetadataStore, key: TaskInstanceKey, tryNumber: number): boolean {
  return tryLogState(store.getTaskInstance(key), tryNumber) !== "ended";
}

/**
 * Follows the logs of every try of a run while it goes on (`windflow dags trigger --wait`): each call of
 * `poll()` writes what was appended to each try's log since the last call, line by line, prefixed with the
 * task id (a partial last line waits for its end, or for `flush()`).
 */
export class RunLogTail {
  private readonly followers = new Map<string, LogFollower>();
  private readonly partial = new Map<string, string>();

  constructor(
    private readonly store: MetadataStore,
    private readonly baseLogFolder: string,
    private readonly run: RunKey,
    private readonly write: (taskId: string, line: string) => void,
  ) {}

  poll(): void {
    for (const ti of this.store.listTaskInstances({ dagId: this.run.dagId, runId: this.run.runId })) {
      for (let n = 1; n <= ti.tryNumber; n++) this.drain(ti.taskId, n);
    }
  }

  /** Reads what is left and writes the partial last lines too. */
  flush(): void {
    this.poll();
    for (const [k, rest] of this.partial) if (rest) this.write(k.split("\u0000")[0] as string, rest);
    this.partial.clear();
  }

  private drain(taskId: string, tryNumber: number): void {
    const k = `${taskId}\u0000${tryNumber}`;
    let follower = this.followers.get(k);
    if (!follower) {
      follower = new LogFollower(taskLogPath(this.baseLogFolder, { ...this.run, taskId }, tryNumber));
      this.followers.set(k, follower);
    }
    const text = follower.read();
    if (!text) return;
    const lines = ((this.partial.get(k) ?? "") + text).split("\n");
    this.partial.set(k, lines.pop() ?? "");
    for (const line of lines) this.write(taskId, line);
  }
}
