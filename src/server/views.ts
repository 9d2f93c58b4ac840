/**
 * What the REST API answers, shaped from the store: plain JSON objects, dates as ISO 8601 text. Pure
 * functions of the store's records (and the clock), so that the pages, the API and the tests see one shape.
 * Server paths (log files, pids) stay out of them: the API may be exposed to trainees on a shared server.
 */
import { relative } from "node:path";
import MarkdownIt from "markdown-it";
import { tryLogState } from "../orchestration/executor/log-reader.js";
import { topologicalOrder } from "../orchestration/graph.js";
import { describeSchedule, manualRunNow } from "../orchestration/schedule.js";
import { outputsFor, runsAhead } from "../orchestration/scheduler/trigger.js";
import type {
  DagRecord,
  DagRunRecord,
  MetadataStore,
  SchedulerJobRecord,
  TaskInstanceRecord,
  TaskTryRecord,
} from "../orchestration/store/store.js";
import { taskOptions } from "../orchestration/task-options.js";
import type { Json, JsonObject } from "../orchestration/types.js";
import { timestamp } from "../util/timestamp.js";

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

/** Markdown of DAG descriptions: raw HTML is escaped, `javascript:` links refused (markdown-it's defaults). */
const markdown = new MarkdownIt({ html: false, linkify: false, typographer: false });

/** A DAG description as safe HTML (raw HTML in it is shown as text). */
export function descriptionHtml(description: string): string {
  return markdown.render(description);
}

export interface RunJson {
  dagId: string;
  runId: string;
  runType: string;
  state: string;
  logicalDate: string;
  /** `YYYYmmdd-HHMMSS`: the stamp of the run's dated files. */
  stamp: string;
  dataIntervalStart: string;
  dataIntervalEnd: string;
  conf: JsonObject;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  /** The dated files the run writes (the DAG's outputs). */
  outputs: string[];
}

export function runJson(run: DagRunRecord, outputs: readonly string[] = []): RunJson {
  const stamp = timestamp(run.logicalDate);
  return {
    dagId: run.dagId,
    runId: run.runId,
    runType: run.runType,
    state: run.state,
    logicalDate: run.logicalDate.toISOString(),
    stamp,
    dataIntervalStart: run.dataInterval.start.toISOString(),
    dataIntervalEnd: run.dataInterval.end.toISOString(),
    conf: run.conf,
    createdAt: run.createdAt.toISOString(),
    startedAt: iso(run.startedAt),
    endedAt: iso(run.endedAt),
    outputs: outputsFor(outputs, stamp),
  };
}

export interface TaskInstanceJson {
  taskId: string;
  state: string;
  tryNumber: number;
  maxTries: number;
  queuedAt: string | null;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  nextRetryAt: string | null;
  returnValue?: Json;
  error: string | null;
  /** Who set the current state by hand (clear, mark, stop); null: the engine did. */
  setBy: string | null;
}

export function taskInstanceJson(ti: TaskInstanceRecord): TaskInstanceJson {
  return {
    taskId: ti.taskId,
    state: ti.state,
    tryNumber: ti.tryNumber,
    maxTries: ti.maxTries,
    queuedAt: iso(ti.queuedAt),
    startedAt: iso(ti.startedAt),
    endedAt: iso(ti.endedAt),
    durationMs: ti.startedAt && ti.endedAt ? ti.endedAt.getTime() - ti.startedAt.getTime() : null,
    nextRetryAt: iso(ti.nextRetryAt),
    ...(ti.returnValue === undefined ? {} : { returnValue: ti.returnValue }),
    error: ti.error,
    setBy: ti.setBy,
  };
}

export interface TryJson {
  tryNumber: number;
  state: string;
  hostname: string | null;
  startedAt: string;
  endedAt: string | null;
  error: string | null;
}

export function tryJson(t: TaskTryRecord): TryJson {
  return {
    tryNumber: t.tryNumber,
    state: t.state,
    hostname: t.hostname,
    startedAt: t.startedAt.toISOString(),
    endedAt: iso(t.endedAt),
    error: t.error,
  };
}

export interface DagJson {
  dagId: string;
  description: string;
  descriptionHtml: string;
  schedule: string;
  tags: string[];
  isPaused: boolean;
  /** Relative to the project root. */
  file: string;
  tasks: { taskId: string; upstream: string[]; triggerRule: string; retries: number }[];
  params: JsonObject;
  outputs: string[];
  catchup: boolean;
  maxActiveRuns: number;
  lastRun: RunJson | null;
  /** The next scheduled run, when the scheduler computed it. */
  nextRun: { logicalDate: string | null; dueAt: string | null } | null;
  /** Runs queued or running now. */
  activeRuns: number;
}

export function dagJson(store: MetadataStore, dag: DagRecord, root: string): DagJson {
  const spec = dag.spec;
  const last = store.listRuns({ dagId: dag.dagId, limit: 1 })[0];
  return {
    dagId: dag.dagId,
    description: spec.description,
    descriptionHtml: descriptionHtml(spec.description),
    schedule: describeSchedule(spec.schedule),
    tags: [...spec.tags],
    isPaused: dag.isPaused,
    file: relative(root, dag.fileloc),
    tasks: topologicalOrder(spec).map((t) => ({
      taskId: t.id,
      upstream: [...t.upstream],
      triggerRule: t.triggerRule,
      retries: taskOptions(spec, t.id).retries,
    })),
    params: spec.params,
    outputs: [...spec.outputs],
    catchup: spec.catchup,
    maxActiveRuns: spec.maxActiveRuns,
    lastRun: last ? runJson(last, spec.outputs) : null,
    nextRun:
      spec.schedule === null || dag.isPaused
        ? null
        : { logicalDate: iso(dag.nextLogicalDate), dueAt: iso(dag.nextRunAt) },
    activeRuns: store.listRuns({ dagId: dag.dagId, states: ["queued", "running"] }).length,
  };
}

/** One column of the grid: a run, how long it ran, and the state of each of its task instances. */
export interface GridRun {
  run: RunJson;
  /**
   * How long the run took (start to end), or has been running so far (start to `now`, for a running run); null
   * while it has not started (queued). The grid draws it as the height of the run's bar, as Airflow's does.
   */
  durationMs: number | null;
  tasks: Record<string, { state: string; tryNumber: number; durationMs: number | null }>;
}

/** How long a run took, or has been running at `now`; null before it starts. */
export function runDurationMs(run: Pick<DagRunRecord, "startedAt" | "endedAt">, now: Date): number | null {
  if (run.startedAt === null) return null;
  return Math.max(0, (run.endedAt ?? now).getTime() - run.startedAt.getTime());
}

/**
 * The grid of a DAG: its tasks in dependency order, its latest `limit` runs, oldest first (left to right), each
 * with its duration at `now`.
 */
export function gridJson(
  store: MetadataStore,
  dag: DagRecord,
  limit: number,
  now: Date,
): { dagId: string; taskIds: string[]; runs: GridRun[] } {
  const runs = store.listRuns({ dagId: dag.dagId, limit }).reverse();
  // The task instances of all these runs in one query.
  const byRun = new Map<string, GridRun["tasks"]>(runs.map((r) => [r.runId, {}]));
  for (const ti of store.listTaskInstances({ dagId: dag.dagId, runIds: runs.map((r) => r.runId) })) {
    const cells = byRun.get(ti.runId);
    if (cells)
      cells[ti.taskId] = {
        state: ti.state,
        tryNumber: ti.tryNumber,
        durationMs: ti.startedAt && ti.endedAt ? ti.endedAt.getTime() - ti.startedAt.getTime() : null,
      };
  }
  return {
    dagId: dag.dagId,
    taskIds: topologicalOrder(dag.spec).map((t) => t.id),
    runs: runs.map((run) => ({
      run: runJson(run, dag.spec.outputs),
      durationMs: runDurationMs(run, now),
      tasks: byRun.get(run.runId) ?? {},
    })),
  };
}

/** What a manual trigger at `at` (or for `logicalDate`) would create: shown by the trigger form. */
/** A run a new run waits for (see `runsAhead`). */
export interface WaitJson {
  runId: string;
  runType: string;
  state: string;
  logicalDate: string;
}

export const waitJson = (r: Pick<DagRunRecord, "runId" | "runType" | "state" | "logicalDate">): WaitJson => ({
  runId: r.runId,
  runType: r.runType,
  state: r.state,
  logicalDate: r.logicalDate.toISOString(),
});

export function triggerPreview(
  dag: DagRecord,
  options: { at: Date; logicalDate?: string; store?: MetadataStore },
): {
  dagId: string;
  runId: string;
  logicalDate: string;
  stamp: string;
  outputs: string[];
  paused: boolean;
  waitsFor: WaitJson[];
  maxActiveRuns: number;
} {
  const run = manualRunNow(options.at, options.logicalDate);
  return {
    dagId: dag.dagId,
    runId: run.runId,
    logicalDate: run.logicalDate.toISOString(),
    stamp: run.stamp,
    outputs: outputsFor(dag.spec.outputs, run.stamp),
    paused: dag.isPaused,
    waitsFor: options.store ? runsAhead(options.store, dag.dagId, dag.spec.maxActiveRuns).map(waitJson) : [],
    maxActiveRuns: dag.spec.maxActiveRuns,
  };
}

/** Whether a scheduler is running, from the heartbeats of the store. */
export interface SchedulerStatus {
  status: "running" | "down" | "never";
  /** What to tell the user (in English; the page scripts word it from the fields below in the user's language). */
  message: string;
  latestHeartbeat: string | null;
  hostname: string | null;
  /** The latest scheduler said it stopped (else it went quiet, or runs). */
  stopped: boolean;
  /** How long ago its latest heartbeat was, on the server's clock; null when none ever ran. */
  ageMs: number | null;
}

/**
 * A scheduler is `running` when its latest heartbeat is recent (within `staleMs`) and it did not stop;
 * `down` when it stopped or went quiet; `never` when none ever ran on this store.
 */
export function schedulerStatus(
  jobs: readonly SchedulerJobRecord[],
  now: Date,
  staleMs: number,
): SchedulerStatus {
  const latest = jobs[0];
  if (!latest)
    return {
      status: "never",
      message:
        "No scheduler has run yet: DAGs you turn on or trigger wait until one starts (`windflow scheduler`).",
      latestHeartbeat: null,
      hostname: null,
      stopped: false,
      ageMs: null,
    };
  const age = now.getTime() - latest.latestHeartbeat.getTime();
  const running = latest.endedAt === null && age <= staleMs;
  const ago = age < 90_000 ? `${Math.round(age / 1000)} s` : `${Math.round(age / 60_000)} min`;
  return {
    status: running ? "running" : "down",
    message: running
      ? `The scheduler is running on ${latest.hostname}.`
      : `The scheduler is not running (${latest.endedAt ? "stopped" : "last heartbeat"} ${ago} ago): runs wait until it is started (\`windflow scheduler\`).`,
    latestHeartbeat: latest.latestHeartbeat.toISOString(),
    hostname: latest.hostname,
    stopped: latest.endedAt !== null,
    ageMs: age,
  };
}

/** A try's log from byte `offset` on, and whether more may come (the try goes on). */
export interface LogChunk {
  tryNumber: number;
  content: string;
  offset: number;
  nextOffset: number;
  /** The try has ended: nothing more will be written. */
  finished: boolean;
}

/** Whether try `tryNumber` has stopped writing its log (`tryLogState`, the one answer of the CLI, the API and the page). */
export function tryFinished(ti: TaskInstanceRecord, tryNumber: number): boolean {
  return tryLogState(ti, tryNumber) !== "writing";
}
