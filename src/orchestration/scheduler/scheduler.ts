/**
 * The scheduler: one effectful loop around the pure decisions of `decide.ts`. It reads the store, decides,
 * writes the decisions (compare-and-set), and hands task instances to the executor. It never imports a DAG
 * file: the DAG processor's children parse them, and task processes run them.
 *
 * ## One pass, in this order
 * 1. **DAG files**: record what the DAG processor reported since the last pass (new, changed, broken and
 *    deleted files: `applyProcessorResults`).
 * 2. **Watch**: task processes that ended (executor events): a process that ended without recording the
 *    end of its try is a lost try (`finishLostTry`: retried if tries remain); a process that ended before
 *    claiming its task instance is started again (3 attempts, then `failed`). Then every `running` task
 *    instance: watched by this executor, or offered to its `adopt` (a scheduler restarted after a crash): on
 *    this machine and alive (adopted), dead (a zombie: its try is lost), or on another machine (left alone). A try running past its
 *    execution timeout (+ clean-up time + grace: the task process enforces its timeout itself first) is ended
 *    (`finishLostTry(..., "timed out")`) *before* its process is killed, so that the scheduler's verdict
 *    stands whatever the dying process tries to record. A `queued` task instance whose process has not
 *    claimed it within `[scheduler] task_queued_timeout` is killed and started again. The process of a try a
 *    person stopped, cleared or marked (`actions.ts`: the store holds the new state) is killed
 *    (`killedByHand`). The tries whose process is alive get a heartbeat in the store every few seconds; a try
 *    on another machine without one for `[scheduler] zombie_threshold` is lost.
 * 3. **Runs**: for each active, unpaused DAG, the scheduled runs due (`runsDue`: catch-up semantics), as
 *    many as its free `maxActiveRuns` slots allow; then queued runs move to running, oldest first, within
 *    `maxActiveRuns`. A scheduled run for a logical date that exists already (a scheduler restarted
 *    mid-pass) is refused by the store's unique index (`DuplicateRunError`) and skipped quietly.
 * 4. **Task instances** of each running run (`decideRun`): retries whose delay has passed, trigger rules
 *    and `upstream_failed` propagation (`evaluate`), tasks added to or removed from the DAG; then the run's
 *    state (`runState`): success or failed once every task has finished.
 * 5. **Dispatch**: `scheduled -> queued`, then the executor's `start` (`TaskExecutor`), while fewer than
 *    `[core] parallelism` tries run (queued task instances without a process first, then by run logical date).
 *
 * Between passes the loop sleeps until a task process ends (the executor wakes it: the hand-off), the DAG
 * processor reports, the next retry or run is due, a kill deadline comes, a trigger or an unpause writes the
 * home's wake-up file (`wakeScheduler`), or `[scheduler] heartbeat_interval` passes.
 *
 * ## Modes (`run({ mode })`, `windflow scheduler [--once | --until-idle]`)
 * - `forever` (the default): until `stop()` (SIGTERM / SIGINT in the CLI).
 * - `once`: parse the DAG files, make one pass (create runs, schedule, dispatch), then wait for the task
 *   processes it started (watching their timeouts and deaths) and make a last pass without dispatching, to
 *   record what they changed (run states, tasks now ready). Each `--once` thus advances every run by one
 *   step and leaves no process behind: a way to watch a DAG progress step by step.
 * - `until-idle`: loop until nothing is left to do: no task process running, no parse pending, and no queued
 *   or running run of an active, unpaused DAG (runs of paused DAGs wait for their DAG, so they do not count).
 *   For tests, scripts and `make demo`.
 *
 * ## Stopping
 * `stop()` finishes the current pass and starts nothing more; task processes are left running (they are
 * detached and record their own end); a later scheduler adopts those still running.
 */
import { type FSWatcher, mkdirSync, watch } from "node:fs";
import { hostname as osHostname } from "node:os";
import type { WindflowConfig } from "../../config.js";
import { WindflowError } from "../../errors.js";
import type { ExecutorEvent, TaskExecutor } from "../executor/executor.js";
import { isProcessAlive, LocalExecutor } from "../executor/local.js";
import { finishLostTry } from "../executor/run-task.js";
import { WarmExecutor } from "../executor/warm-executor.js";
import { dagFolders } from "../loader.js";
import { nextDueAt, runIdFor, runsDue } from "../schedule.js";
import { DuplicateRunError } from "../store/errors.js";
import { openStore } from "../store/index.js";
import { runKeyText, runTasksOf, taskKeyText } from "../store/records.js";
import {
  type DagRecord,
  type DagRunRecord,
  type MetadataStore,
  type SchedulerKind,
  schedulerJobKey,
  type TaskInstanceKey,
  type TaskInstanceRecord,
} from "../store/store.js";
import { applyProcessorResults, DagProcessor } from "./dag-processor.js";
import {
  type DispatchCandidate,
  decideRun,
  dispatchOrder,
  effectiveTimeoutMs,
  heartbeatDue,
  killDeadline,
  killedByHand,
  runningVerdict,
  runsToStart,
  scheduledRunsToCreate,
  schedulerAlive,
  type TimeoutSettings,
} from "./decide.js";
import { createLogger, type LogLevel, type SchedulerLogger } from "./log.js";
import { WAKEUP_FILE } from "./trigger.js";

/** `[core] executor = bullmq`: loaded only then (BullMQ and ioredis are not needed otherwise). */
function bullmqExecutor(config: WindflowConfig, store: MetadataStore, log: SchedulerLogger): TaskExecutor {
  const { BullmqExecutor } = require("../executor/bullmq.js") as typeof import("../executor/bullmq.js");
  // The scheduler's own store: store-free tries are claimed and recorded where the scheduler reads them (an
  // in-memory store too), not through a second connection.
  return new BullmqExecutor({
    config,
    store,
    onError: (error) => log.warn(`bullmq: ${error.message}`),
    onNotice: (line) => log.warn(`bullmq: ${line}`),
  });
}

/** How long the scheduler runs (see the module comment). */
export type SchedulerMode = "forever" | "once" | "until-idle";

/** Options of `Scheduler`. */
export interface SchedulerOptions {
  config: WindflowConfig;
  /** @default openStore(config), closed when the scheduler stops */
  store?: MetadataStore;
  /** @default stderr, at `[logging] logging_level` */
  log?: SchedulerLogger;
  /** The clock. @default () => new Date() */
  now?: () => Date;
  /** This machine's name, compared with the one task processes record. @default os.hostname() */
  hostname?: string;
  /** The task process program (see `LocalExecutor`). @default `defaultTaskCommand()` */
  taskCommand?: readonly string[];
  /** The DAG file processor program. @default `defaultParseCommand()` */
  parseCommand?: readonly string[];
  /** DAG files parsed at once. @default 2 */
  parsingProcesses?: number;
  /**
   * Warm task processes kept ready (`WarmExecutor`): a try handed to one starts in tens of ms instead of
   * hundreds. 0: every try starts its own process cold (`LocalExecutor`).
   * @default `[scheduler] warm_task_processes`
   */
  warmWorkers?: number;
  /**
   * What runs the tries (the seam of `executor/executor.ts`). Given, it is the caller's: the scheduler
   * subscribes to its events while it runs and never closes it (`taskCommand` and `warmWorkers` then do not
   * apply). @default a `WarmExecutor` of `warmWorkers` processes, or a `LocalExecutor` when that is 0
   */
  executor?: TaskExecutor;
  /**
   * Run this one run and nothing else (`windflow dags trigger --wait`): no scheduled run is created, no other
   * run is touched, and the run goes on even if its DAG is paused (as Airflow's backfill does). In
   * `until-idle` mode the scheduler stops once the run has finished.
   */
  only?: { readonly dagId: string; readonly runId: string };
  /**
   * Parse the DAG files (in child processes) while running. False: use the DAGs as the store has them, for a
   * caller that has just parsed them (`runInEngine`): a run of one DAG then starts without parsing every file
   * of the folder again. @default true
   */
  parseDagFiles?: boolean;
}

/** Options of `Scheduler.run`. */
export interface SchedulerRunOptions {
  /** @default "forever" */
  mode?: SchedulerMode;
  /** Stop after this long (ms) even if not idle; the report says `timeout`. @default no limit */
  timeoutMs?: number;
}

/** What a scheduler did, when it stops. */
export interface SchedulerReport {
  /** Why it stopped: `once` done, `idle` (until-idle), `stopped` (stop()), `timeout`. */
  readonly stoppedBy: "once" | "idle" | "stopped" | "timeout";
  readonly passes: number;
  readonly runsCreated: number;
  readonly tasksStarted: number;
  /** Tries ended by the scheduler because their process died without recording their end. */
  readonly lostTries: number;
  /** Tries killed past their execution timeout. */
  readonly timeouts: number;
  /** Task processes still running when it stopped (they go on and record their own end). */
  readonly leftRunning: number;
  readonly durationMs: number;
}

/** What one pass found, for the loop. */
interface PassOutcome {
  /** When the next pass is needed at the latest (epoch ms). */
  readonly wakeAt: number;
  /** Nothing left to do (see `until-idle`). */
  readonly idle: boolean;
}

/** A task instance whose process never claimed it is started again this many times, then failed. */
export const MAX_START_ATTEMPTS = 3;
/**
 * After a restart, a task instance left `queued` by the previous scheduler may still be claimed by the
 * process that scheduler started just before it died: give it this long before starting another one.
 */
export const ORPHAN_QUEUED_GRACE_MS = 3000;
/** After its timeout and clean-up time, what a task process gets to record its own end and exit. */
export const TIMEOUT_GRACE_MS = 2000;
/** Wait between passes while adopted processes (not our children: no exit event) are watched. */
const ADOPTED_POLL_MS = 250;

const keyOf = (k: TaskInstanceKey) => `${k.dagId}\0${k.runId}\0${k.taskId}`;
const keyFields = (k: TaskInstanceKey): TaskInstanceKey => ({
  dagId: k.dagId,
  runId: k.runId,
  taskId: k.taskId,
});

/** Why the loop was woken before its time. */
export type WakeReason = "task ended" | "DAG file parsed" | "wake-up file" | "stop";

/** Resolves sleepers when woken, or when their time is up. */
class Waker {
  private pending = false;
  private sleepers: (() => void)[] = [];
  /** When the current sleep ends by itself (epoch ms), while the loop sleeps. */
  sleepingUntil: number | undefined;
  /** The wake-ups of sleeps cut short, by reason (what tests and `SchedulerReport` see). */
  readonly wokenBy = new Map<WakeReason, number>();
  wake(reason: WakeReason): void {
    this.pending = true;
    if (this.sleepers.length > 0) this.wokenBy.set(reason, (this.wokenBy.get(reason) ?? 0) + 1);
    for (const wake of this.sleepers.splice(0)) wake();
  }
  sleep(ms: number): Promise<void> {
    if (this.pending || ms <= 0) {
      this.pending = false;
      return Promise.resolve();
    }
    this.sleepingUntil = Date.now() + ms;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers = this.sleepers.filter((s) => s !== done);
        this.pending = false;
        this.sleepingUntil = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.push(done);
    });
  }
}

/** The scheduler (see the module comment). One per machine and store. */
export class Scheduler {
  private readonly config: WindflowConfig;
  private readonly store: MetadataStore;
  private readonly ownsStore: boolean;
  private readonly log: SchedulerLogger;
  private readonly now: () => Date;
  private readonly hostname: string;
  private readonly executor: TaskExecutor;
  /** Whether the scheduler made its executor (then it closes it when it stops). */
  private readonly ownsExecutor: boolean;
  private readonly processor: DagProcessor;
  private readonly waker = new Waker();
  private readonly timeouts: TimeoutSettings;
  private readonly warmWorkers: number;
  private readonly only: SchedulerOptions["only"];
  private readonly parseDagFiles: boolean;
  private job: { hostname: string; pid: number; startedAt: Date; kind: SchedulerKind } | undefined;
  /** This scheduler's `schedulerJobKey`: what it writes into the task instances it queues. */
  private jobKey = "";
  /** Other schedulers of this home alive at this pass (their job keys): their work is theirs to watch. */
  private liveOthers = new Set<string>();
  private lastHeartbeat = 0;
  /** Start attempts of task instances whose process ended before claiming them. */
  private readonly startFailures = new Map<string, number>();
  /** Log files of the processes we started, for messages. */
  private readonly logPaths = new Map<string, string>();
  /** Task instances whose process we adopted (their end is only seen by polling). */
  private readonly adopted = new Set<string>();
  /** The task instances whose process the executor watches (started or adopted), until their end is seen. */
  private readonly tracked = new Map<string, TaskInstanceKey>();
  /** Of those, the ones killed because a person stopped, cleared or marked their try (killed once). */
  private readonly killedByHand = new Set<string>();
  /** Task instances on other machines we said we leave alone (said once). */
  private readonly elsewhere = new Set<string>();
  private startedAt: Date;
  private stopRequested = false;
  private running = false;
  private stats = { passes: 0, runsCreated: 0, tasksStarted: 0, lostTries: 0, timeouts: 0 };

  constructor(options: SchedulerOptions) {
    this.config = options.config;
    this.ownsStore = options.store === undefined;
    this.store = options.store ?? openStore(options.config);
    this.log = options.log ?? createLogger(options.config.logging.logging_level as LogLevel);
    this.now = options.now ?? (() => new Date());
    this.hostname = options.hostname ?? osHostname();
    this.startedAt = this.now();
    this.warmWorkers = options.warmWorkers ?? options.config.scheduler.warm_task_processes;
    this.only = options.only;
    this.parseDagFiles = options.parseDagFiles ?? true;
    this.timeouts = {
      defaultTimeoutMs: options.config.core.default_task_execution_timeout,
      cleanupMs: options.config.core.killed_task_cleanup_time,
      graceMs: TIMEOUT_GRACE_MS,
    };
    this.ownsExecutor = options.executor === undefined;
    this.executor =
      options.executor ??
      (options.config.core.executor === "bullmq"
        ? bullmqExecutor(options.config, this.store, this.log)
        : this.warmWorkers > 0
          ? new WarmExecutor({
              config: options.config,
              size: this.warmWorkers,
              ...(options.taskCommand ? { coldCommand: options.taskCommand } : {}),
              log: this.log,
              hostname: this.hostname,
            })
          : new LocalExecutor({
              config: options.config,
              ...(options.taskCommand ? { command: options.taskCommand } : {}),
              hostname: this.hostname,
            }));
    this.processor = new DagProcessor({
      folder: options.config.core.dags_folder,
      extraFolders: dagFolders(options.config).slice(1),
      timeoutMs: options.config.scheduler.dag_file_processor_timeout,
      listIntervalMs: options.config.scheduler.dag_dir_list_interval,
      concurrency: options.parsingProcesses ?? 2,
      env: { ...options.config.env, WINDFLOW_HOME: options.config.home },
      cwd: options.config.root,
      log: this.log,
      onResult: () => this.waker.wake("DAG file parsed"),
      ...(options.parseCommand ? { command: options.parseCommand } : {}),
    });
  }

  /** While the loop sleeps between passes: when that sleep ends by itself (epoch ms); else undefined. */
  get sleepingUntil(): number | undefined {
    return this.waker.sleepingUntil;
  }

  /** How many sleeps were cut short for `reason` (a trigger's wake-up file, a task's end, ...). */
  wakeups(reason: WakeReason): number {
    return this.waker.wokenBy.get(reason) ?? 0;
  }

  /** Asks the loop to stop after the current pass (see the module comment). */
  stop(reason = "asked to stop"): void {
    if (this.stopRequested) return;
    this.stopRequested = true;
    this.log.info(`scheduler stopping: ${reason}`);
    this.waker.wake("stop");
  }

  /** Runs the loop in the given mode until it ends; then releases everything (the store if it opened it). */
  async run(options: SchedulerRunOptions = {}): Promise<SchedulerReport> {
    if (this.running) throw new Error("Scheduler.run: already running");
    this.running = true;
    const mode = options.mode ?? "forever";
    const began = performance.now();
    const deadline =
      options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
    this.startedAt = this.now();
    const c = this.config;
    this.log.info(
      `scheduler started (${mode}): pid ${process.pid} on ${this.hostname}, DAGs folder ${c.core.dags_folder}, ` +
        `parallelism ${c.core.parallelism}, executor ${this.executor.description}, store ${c.database.path}`,
    );
    let stoppedBy: SchedulerReport["stoppedBy"] = "stopped";
    const wakeups = this.watchWakeups();
    const unsubscribe = this.executor.subscribe(() => this.waker.wake("task ended"));
    this.job = {
      hostname: this.hostname,
      pid: process.pid,
      startedAt: new Date(),
      kind: this.only ? "run" : "home",
    };
    this.jobKey = schedulerJobKey(this.job);
    this.heartbeat(true);
    try {
      if (this.parseDagFiles) this.processor.start();
      // `once`: its single pass sees every DAG file parsed (each bounded by dag_file_processor_timeout). The other
      // modes start at once and record each file as soon as it is parsed (the processor wakes the loop), so one
      // file that loops at import does not hold the good ones back until its timeout (issue 13 §5).
      if (mode === "once") await this.until(() => !this.processor.busy, deadline);
      for (;;) {
        if (this.stopRequested) break;
        const outcome = this.safePass({ schedule: true, dispatch: true });
        if (mode === "once") {
          while (this.executor.running > 0 && !this.stopRequested && Date.now() < deadline) {
            await this.waker.sleep(Math.min(ADOPTED_POLL_MS, deadline - Date.now()));
            this.safePass({ schedule: false, dispatch: false });
          }
          this.safePass({ schedule: true, dispatch: false });
          stoppedBy = Date.now() >= deadline ? "timeout" : this.stopRequested ? "stopped" : "once";
          break;
        }
        if (mode === "until-idle" && outcome.idle) {
          stoppedBy = "idle";
          break;
        }
        if (Date.now() >= deadline) {
          stoppedBy = "timeout";
          break;
        }
        await this.waker.sleep(Math.min(outcome.wakeAt, deadline) - Date.now());
      }
    } finally {
      unsubscribe();
      wakeups?.close();
      this.processor.close();
      this.heartbeat(true, true);
    }
    const leftRunning = this.executor.running;
    if (this.ownsExecutor) this.executor.close();
    if (this.ownsStore) this.store.close();
    this.running = false;
    const report: SchedulerReport = {
      stoppedBy,
      ...this.stats,
      leftRunning,
      durationMs: performance.now() - began,
    };
    this.log.info(
      `scheduler stopped (${stoppedBy}) after ${report.passes} passes: ${report.runsCreated} runs created, ` +
        `${report.tasksStarted} task processes started` +
        (leftRunning > 0 ? `, ${leftRunning} left running (they record their own end)` : ""),
    );
    return report;
  }

  /**
   * Records that this scheduler is alive (at most once a second, or now with `force`): other schedulers of the
   * home leave its queued and running task instances alone while its heartbeat is fresh, and the web UI says
   * whether a scheduler of the home runs (a scheduler for one run, `only`, records itself as kind `run`).
   */
  private heartbeat(force = false, ended = false): void {
    if (!this.job) return;
    const now = Date.now();
    if (!force && now - this.lastHeartbeat < HEARTBEAT_RECORD_MS) return;
    this.lastHeartbeat = now;
    try {
      this.store.recordSchedulerHeartbeat(this.job, new Date(now), ended);
    } catch (error) {
      this.log.warn(`could not record the scheduler's heartbeat: ${(error as Error).message}`);
    }
  }

  /**
   * The other schedulers of this home that are alive: a heartbeat within `[scheduler]
   * scheduler_health_check_threshold`, not stopped, and, on this machine, a process that exists.
   */
  private otherLiveSchedulers(now: Date): Set<string> {
    const threshold = this.config.scheduler.scheduler_health_check_threshold;
    const live = new Set<string>();
    try {
      for (const job of this.store.listSchedulerJobs(100)) {
        const key = schedulerJobKey(job);
        if (key !== this.jobKey && schedulerAlive(job, now, threshold, this.hostname, isProcessAlive))
          live.add(key);
      }
    } catch (error) {
      this.log.warn(`could not read the schedulers' heartbeats: ${(error as Error).message}`);
    }
    return live;
  }

  /** Wakes the loop when `wakeScheduler` writes the wake-up file of this home (a trigger, an unpause). */
  private watchWakeups(): FSWatcher | undefined {
    try {
      mkdirSync(this.config.home, { recursive: true });
      const watcher = watch(this.config.home, { persistent: false }, (_event, name) => {
        if (name === WAKEUP_FILE) this.waker.wake("wake-up file");
      });
      watcher.on("error", () => watcher.close());
      return watcher;
    } catch (error) {
      this.log.debug(`cannot watch ${this.config.home} (${(error as Error).message}): heartbeats only`);
      return undefined;
    }
  }

  /** Waits (woken by the processor, the executor or stop) until `done()` or the deadline. */
  private async until(done: () => boolean, deadline: number): Promise<void> {
    while (!done() && !this.stopRequested && Date.now() < deadline)
      await this.waker.sleep(Math.min(1000, deadline - Date.now()));
  }

  /** A pass whose failure (the store locked past its busy timeout...) is logged, not fatal. */
  private safePass(options: { schedule: boolean; dispatch: boolean }): PassOutcome {
    try {
      return this.pass(options);
    } catch (error) {
      const e = error as Error;
      this.log.error(
        `pass failed: ${e instanceof WindflowError ? e.message : (e.stack ?? e.message)}; trying again`,
      );
      return { wakeAt: Date.now() + this.config.scheduler.heartbeat_interval, idle: false };
    }
  }

  private pass(options: { schedule: boolean; dispatch: boolean }): PassOutcome {
    this.stats.passes++;
    this.heartbeat();
    const now = this.now();
    const wake = new WakeAt(Date.now() + this.config.scheduler.heartbeat_interval);
    if (this.adopted.size > 0) wake.at(Date.now() + ADOPTED_POLL_MS);

    // 1. DAG files.
    applyProcessorResults(this.store, this.processor.take(), now, this.log);
    const dags = new Map(this.store.listDags({ includeInactive: true }).map((d) => [d.dagId, d]));

    // 2. Watch.
    this.liveOthers = this.otherLiveSchedulers(now);
    const mine = (key: { dagId: string; runId: string }) =>
      !this.only || (key.dagId === this.only.dagId && key.runId === this.only.runId);
    for (const event of this.executor.poll()) this.onProcessEnd(event, now);
    this.killStoppedByHand();
    for (const ti of this.store.listTaskInstances({ states: ["running"] }))
      if (mine(ti)) this.watchRunning(ti, dags.get(ti.dagId), now, wake);
    for (const ti of this.store.listTaskInstances({ states: ["queued"] }))
      if (mine(ti)) this.watchQueued(ti, now);

    if (!options.schedule) return { wakeAt: wake.time, idle: false };
    if (this.only) return this.passOnly(this.only, dags, now, wake, options.dispatch);

    // 3. Runs.
    const schedulable = (dag: DagRecord | undefined): dag is DagRecord =>
      dag?.isActive === true && !dag.isPaused;
    const activeRuns = this.store.listRuns({ states: ["queued", "running"], order: "oldest" });
    for (const dag of dags.values()) {
      if (!schedulable(dag) || dag.spec.schedule === null) continue;
      const mine = activeRuns.filter((r) => r.dagId === dag.dagId);
      this.createScheduledRuns(dag, mine, now, wake);
      for (const runId of runsToStart(
        dag.spec,
        dag,
        this.store.listRuns({ dagId: dag.dagId, states: ["queued", "running"] }),
      ))
        this.startRun(dag.dagId, runId, now);
    }
    // Manual runs of DAGs without a schedule (the loop above covered the others).
    for (const dag of dags.values()) {
      if (!schedulable(dag) || dag.spec.schedule !== null) continue;
      if (!activeRuns.some((r) => r.dagId === dag.dagId)) continue;
      for (const runId of runsToStart(
        dag.spec,
        dag,
        this.store.listRuns({ dagId: dag.dagId, states: ["queued", "running"] }),
      ))
        this.startRun(dag.dagId, runId, now);
    }

    // 4. Task instances of running runs.
    const running = this.store
      .listRuns({ states: ["running"], order: "oldest" })
      .filter((r) => schedulable(dags.get(r.dagId)));
    for (const run of running) this.advanceRun(run, dags.get(run.dagId) as DagRecord, now, wake);

    // 5. Dispatch.
    if (options.dispatch && !this.stopRequested) this.dispatch(dags, now, wake);

    const stillActive = this.store
      .listRuns({ states: ["queued", "running"] })
      .some((r) => schedulable(dags.get(r.dagId)));
    return {
      wakeAt: wake.time,
      idle: !stillActive && this.executor.running === 0 && !this.processor.busy,
    };
  }

  /** Steps 3 to 5 for the one run of `only`, whether its DAG is paused or not. */
  private passOnly(
    only: NonNullable<SchedulerOptions["only"]>,
    dags: ReadonlyMap<string, DagRecord>,
    now: Date,
    wake: WakeAt,
    dispatch: boolean,
  ): PassOutcome {
    const dag = dags.get(only.dagId);
    let run = this.store.getRun(only);
    if (dag?.isActive && run?.state === "queued") {
      this.startRun(only.dagId, only.runId, now);
      run = this.store.getRun(only);
    }
    if (dag?.isActive && run?.state === "running") this.advanceRun(run, dag, now, wake);
    if (dispatch && !this.stopRequested && dag?.isActive) {
      // The run's DAG counts as unpaused here: it is the one run this scheduler was asked to run.
      const one = new Map([[dag.dagId, { ...dag, isPaused: false }]]);
      this.dispatch(one, now, wake, only);
    }
    run = this.store.getRun(only);
    const finished = run === undefined || run.state === "success" || run.state === "failed" || !dag?.isActive;
    return { wakeAt: wake.time, idle: finished && this.executor.running === 0 && !this.processor.busy };
  }

  private createScheduledRuns(
    dag: DagRecord,
    active: readonly DagRunRecord[],
    now: Date,
    wake: WakeAt,
  ): void {
    const spec = dag.spec;
    let last = this.store.lastLogicalDate(dag.dagId, "scheduled");
    const intervals = scheduledRunsToCreate(spec, dag, now, last, active.length);
    for (const interval of intervals) {
      const runId = runIdFor("scheduled", interval.start);
      try {
        this.store.createRun(
          {
            dagId: dag.dagId,
            runId,
            runType: "scheduled",
            logicalDate: interval.start,
            dataInterval: interval,
            tasks: runTasksOf(spec),
          },
          now,
        );
        this.stats.runsCreated++;
        this.log.info(
          `run ${dag.dagId}/${runId} created (data interval ${interval.start.toISOString()} - ${interval.end.toISOString()})`,
        );
      } catch (error) {
        // Created by an earlier scheduler (a restart): the unique index refused a second one.
        if (!(error instanceof DuplicateRunError)) throw error;
        this.log.debug(`run ${dag.dagId}/${runId} exists already`);
      }
      last = interval.start;
    }
    const due = nextDueAt(spec, now, last);
    if (due !== null) {
      if (due.getTime() > now.getTime()) wake.at(Date.now() + (due.getTime() - now.getTime()));
      if (dag.nextRunAt?.getTime() !== due.getTime()) {
        // The run that becomes due then: at `due`, it is the one runsDue gives first.
        const logicalDate = runsDue(spec, due, last, { limit: 1 })[0]?.start ?? null;
        this.store.setNextRun(dag.dagId, { logicalDate, dueAt: due });
      }
    }
  }

  private startRun(dagId: string, runId: string, now: Date): void {
    if (this.store.setRunState({ dagId, runId }, "queued", "running", now))
      this.log.info(`run ${dagId}/${runId} running`);
  }

  private advanceRun(run: DagRunRecord, dag: DagRecord, now: Date, wake: WakeAt): void {
    const tis = this.store.listTaskInstances({ dagId: run.dagId, runId: run.runId });
    const decision = decideRun(dag.spec, tis, now);
    if (decision.missing.length > 0) {
      const missing = new Set(decision.missing);
      this.store.addTaskInstances(
        run,
        runTasksOf({ ...dag.spec, tasks: dag.spec.tasks.filter((t) => missing.has(t.id)) }),
      );
      this.log.info(`run ${runKeyText(run)}: tasks added to the DAG since: ${decision.missing.join(", ")}`);
    }
    let stale = false;
    for (const move of decision.moves) {
      const key = { dagId: run.dagId, runId: run.runId, taskId: move.taskId };
      if (!this.store.setTaskState(key, move.from, move.to, {}, now)) {
        stale = true; // changed meanwhile by a task process: the next pass decides again
        continue;
      }
      if (move.to !== "scheduled") this.log.info(`task ${taskKeyText(key)} ${move.to}`);
    }
    if (decision.nextRetryAt) wake.at(Date.now() + (decision.nextRetryAt.getTime() - now.getTime()));
    if (!stale && decision.state !== "running" && this.store.setRunState(run, "running", decision.state, now))
      this.log.info(`run ${runKeyText(run)} ${decision.state}`);
  }

  private dispatch(
    dags: ReadonlyMap<string, DagRecord>,
    now: Date,
    wake: WakeAt,
    only?: { readonly dagId: string; readonly runId: string },
  ): void {
    const slots = this.config.core.parallelism - this.executor.running;
    if (slots <= 0) return;
    const runs = new Map(
      this.store.listRuns({ states: ["running"] }).map((r) => [runKeyText(r), r] as const),
    );
    const candidates: (DispatchCandidate & { ti: TaskInstanceRecord })[] = [];
    let order = 0;
    for (const ti of this.store.listTaskInstances({ states: ["scheduled", "queued"] })) {
      order++;
      if (only && (ti.dagId !== only.dagId || ti.runId !== only.runId)) continue;
      const run = runs.get(runKeyText(ti));
      const dag = dags.get(ti.dagId);
      if (!run || !dag?.isActive || this.executor.has(ti)) continue;
      if (ti.state === "scheduled" && dag.isPaused) continue;
      if (ti.state === "queued" && ti.queuedBy !== this.jobKey) {
        // Queued by another scheduler: while it lives, its process is that scheduler's to start and watch.
        if (ti.queuedBy !== null && this.liveOthers.has(ti.queuedBy)) continue;
        // Left by a scheduler that died (or queued by hand): its process may still be starting.
        const free = (ti.queuedAt?.getTime() ?? 0) + ORPHAN_QUEUED_GRACE_MS;
        if (now.getTime() < free) {
          wake.at(Date.now() + (free - now.getTime()));
          continue;
        }
      }
      candidates.push({ ti, logicalDate: run.logicalDate, order });
    }
    for (const { ti } of dispatchOrder(candidates, slots)) {
      if (ti.state === "scheduled") {
        if (!this.store.setTaskState(ti, "scheduled", "queued", { queuedBy: this.jobKey }, now)) continue;
      } else if (ti.queuedBy !== this.jobKey) {
        // An orphan: of two schedulers adopting it, one wins the claim and starts its process.
        if (!this.store.claimQueued(ti, ti.queuedBy, this.jobKey)) continue;
        this.log.info(
          `task ${taskKeyText(ti)}: adopted from ${ti.queuedBy ?? "no scheduler"} (queued, not started)`,
        );
      }
      this.startProcess(ti);
    }
  }

  private startProcess(ti: TaskInstanceRecord): void {
    const k = keyOf(ti);
    try {
      const started = this.executor.start(ti);
      this.tracked.set(k, keyFields(ti));
      this.logPaths.set(k, started.logPath);
      this.stats.tasksStarted++;
      this.log.info(
        `task ${taskKeyText(ti)} queued: try ${ti.tryNumber + 1} of ${ti.maxTries}` +
          (started.pid === null ? "" : `, process ${started.pid}`),
      );
    } catch (error) {
      // The log folder cannot be written...: counts as a start that failed.
      this.startFailed(ti, (error as Error).message);
    }
  }

  /** A task process ended (or could not start): see step 2 of the module comment. */
  private onProcessEnd(event: ExecutorEvent, now: Date): void {
    const k = keyOf(event);
    this.adopted.delete(k);
    this.tracked.delete(k);
    this.killedByHand.delete(k);
    const ti = this.store.getTaskInstance(event);
    if (!ti) return;
    const how = event.spawnError
      ? `could not start (${event.spawnError})`
      : event.signal
        ? `was killed by ${event.signal}`
        : event.exitCode === null
          ? "ended"
          : `exited with code ${event.exitCode}`;
    if (ti.state === "running" && event.pid !== null && ti.pid === event.pid) {
      // A store-free try is claimed by its worker (event.pid, alive): what could not start is the try's process.
      const which = event.spawnError ? "the try's process" : `process ${event.pid}`;
      const to = finishLostTry(
        this.store,
        keyFields(ti),
        `its ${which} ${how} without recording the end of the try`,
        {
          now,
        },
      );
      if (to) {
        this.stats.lostTries++;
        this.log.warn(`task ${taskKeyText(ti)}: ${which} ${how} without recording its end: ${to}`);
      }
    } else if (ti.state === "queued" && !this.executor.has(ti)) {
      this.startFailed(ti, `the task process ${how} before starting the try`);
    } else {
      this.startFailures.delete(k);
      this.log.info(
        `task ${taskKeyText(ti)} ${ti.state} (try ${ti.tryNumber} of ${ti.maxTries}, ${Math.round(event.durationMs)} ms)`,
      );
    }
  }

  private startFailed(ti: TaskInstanceRecord, why: string): void {
    const k = keyOf(ti);
    const attempts = (this.startFailures.get(k) ?? 0) + 1;
    const log = this.logPaths.get(k);
    const where = log ? ` (see ${log})` : "";
    if (attempts < MAX_START_ATTEMPTS) {
      this.startFailures.set(k, attempts);
      this.log.warn(`task ${taskKeyText(ti)}: ${why}${where}: starting it again (attempt ${attempts + 1})`);
      return; // still queued: the next dispatch starts it again
    }
    this.startFailures.delete(k);
    const error =
      `TaskStartError: ${why}, ${attempts} times${where}\n` +
      "hint: check that `windflow tasks run` works on this machine (Node, tsx, the store), and the try's log";
    if (this.store.setTaskState(keyFields(ti), "queued", "failed", { error }))
      this.log.error(`task ${taskKeyText(ti)} failed: ${why}, ${attempts} times${where}`);
  }

  private watchRunning(ti: TaskInstanceRecord, dag: DagRecord | undefined, now: Date, wake: WakeAt): void {
    const k = keyOf(ti);
    // Started by another scheduler that lives: it watches the process, its end and its timeout.
    if (!this.executor.has(ti) && ti.queuedBy !== null && this.liveOthers.has(ti.queuedBy)) return;
    // A try on another machine whose heartbeat stopped for [scheduler] zombie_threshold is lost (a zombie);
    // on this machine the executor decides from the process itself.
    const zombie =
      !this.executor.has(ti) &&
      ti.hostname !== null &&
      ti.hostname !== this.hostname &&
      runningVerdict(ti, {
        hostname: this.hostname,
        watched: false,
        alive: isProcessAlive,
        now,
        zombieThresholdMs: this.config.scheduler.zombie_threshold,
      }) === "lost";
    const verdict = this.executor.has(ti) ? "watched" : zombie ? "lost" : this.executor.adopt(ti);
    if (verdict === "elsewhere") {
      if (!this.elsewhere.has(k)) {
        this.elsewhere.add(k);
        // Another host's process (the local executors), or one the executor cannot tell about yet (BullMQ's
        // before its first look at the queue's live jobs): asked again at the next pass.
        this.log.warn(
          ti.hostname !== null && ti.hostname !== this.hostname
            ? `task ${taskKeyText(ti)} runs on ${ti.hostname}, not here: left alone`
            : `task ${taskKeyText(ti)}: the executor cannot tell yet whether its process ${ti.pid} lives: left alone for now`,
        );
      }
      return;
    }
    if (verdict === "lost") {
      const why =
        ti.hostname !== null && ti.hostname !== this.hostname
          ? `no heartbeat of its process ${ti.pid} on ${ti.hostname} for more than the zombie threshold of ` +
            `${this.config.scheduler.zombie_threshold} ms`
          : `its process ${ti.pid} is gone without recording the end of the try (killed, or crashed)`;
      const to = finishLostTry(this.store, keyFields(ti), why, { now });
      if (to) {
        this.stats.lostTries++;
        this.log.warn(`task ${taskKeyText(ti)}: process ${ti.pid} is gone (a zombie): ${to}`);
      }
      return;
    }
    if (verdict === "adopted") {
      this.tracked.set(k, keyFields(ti));
      this.adopted.add(k);
      wake.at(Date.now() + ADOPTED_POLL_MS);
      this.log.info(`task ${taskKeyText(ti)}: adopted its running process ${ti.pid}`);
    }
    // Its process is alive (watched or just adopted): say so for schedulers on other machines.
    if (heartbeatDue(ti, now, TASK_HEARTBEAT_MS)) this.store.recordTaskHeartbeat(ti, ti.tryNumber, now);
    if (!dag) return;
    const deadline = killDeadline(dag.spec, ti, this.timeouts);
    if (deadline === null) return;
    if (now.getTime() < deadline.getTime()) {
      wake.at(Date.now() + (deadline.getTime() - now.getTime()));
      return;
    }
    const timeout = effectiveTimeoutMs(dag.spec, ti.taskId, this.timeouts.defaultTimeoutMs);
    // End the try first, then kill: whatever the dying process records, the timeout stands.
    const to = finishLostTry(
      this.store,
      keyFields(ti),
      `timed out: still running ${now.getTime() - (ti.startedAt as Date).getTime()} ms after its start, ` +
        `past its execution timeout of ${timeout} ms; killed by the scheduler`,
      { now },
    );
    this.executor.kill(ti);
    if (to) {
      this.stats.timeouts++;
      this.log.warn(`task ${taskKeyText(ti)}: past its execution timeout of ${timeout} ms: killed, ${to}`);
    }
  }

  /**
   * Kills the processes of tries a person stopped, cleared or marked (`killedByHand`): the store already holds
   * the new state (`setTaskStateByHand`), so what the dying process tries to record changes nothing.
   */
  private killStoppedByHand(): void {
    for (const [k, key] of this.tracked) {
      if (this.killedByHand.has(k) || !this.executor.has(key)) continue;
      const ti = this.store.getTaskInstance(key);
      if (!ti || !killedByHand(ti)) continue;
      this.killedByHand.add(k);
      this.executor.kill(key);
      this.log.warn(
        `task ${taskKeyText(key)}: ${ti.state === "none" ? "cleared" : ti.state} by ${ti.setBy ?? "hand"}: ` +
          "killing its process",
      );
    }
  }

  private watchQueued(ti: TaskInstanceRecord, now: Date): void {
    if (!this.executor.has(ti) || ti.queuedAt === null) return;
    if (now.getTime() - ti.queuedAt.getTime() < this.config.scheduler.task_queued_timeout) return;
    // Its process has not claimed it in all that time: stop it; its end counts as a failed start.
    this.log.warn(
      `task ${taskKeyText(ti)}: queued for ${this.config.scheduler.task_queued_timeout} ms without starting: killing its process`,
    );
    this.executor.kill(ti);
  }
}

/** Least time between two heartbeats recorded in the store. */
const HEARTBEAT_RECORD_MS = 1000;
/** Least time between two heartbeats of a running try's process recorded in the store (`recordTaskHeartbeat`). */
export const TASK_HEARTBEAT_MS = 5000;

/** The earliest of several wake-up times. */
class WakeAt {
  constructor(public time: number) {}
  at(time: number): void {
    if (time < this.time) this.time = time;
  }
}
