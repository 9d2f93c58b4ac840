/**
 * `WarmExecutor`: the local executor with a pool of warm task processes (`warm-worker.ts`), to cut the
 * hand-off between tasks. A cold task process spends most of the hand-off starting: Node, tsx (~0.3 s from
 * the sources), the store and loader modules; a warm one has done all that before it is needed, so handing
 * it a try is an IPC message and the claim (tens of ms).
 *
 * Still one process per try: a warm process runs one try and exits, and a new one is started to take its
 * place in the pool. Everything else is `LocalExecutor`'s: a warm process, once assigned, is detached from
 * the scheduler (IPC closed, own process group) and watched by pid like an adopted process (its exit also
 * wakes the scheduler at once), killed the same way, and it outlives a scheduler killed with SIGKILL. When no
 * warm process is ready (a burst of tasks, or warm processes that keep failing to start), a try starts cold.
 *
 * The cost: `size` idle Node processes (~60 MB each from the build), and a warm process's own stdout and
 * stderr go to `<base_log_folder>/scheduler/warm-workers.log` rather than the try's log (what the task prints
 * through `console` and `process.stdout` is captured into the try's log all the same; only output written
 * below Node, such as a native crash, lands there).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import type { Environment, WindflowConfig } from "../../config.js";
import { nodeEntryCommand } from "../../util/node-entry.js";
import type { TaskInstanceKey } from "../store/store.js";
import {
  type AdoptVerdict,
  type ExecutorEvent,
  Listeners,
  type StartedTask,
  type TaskExecutor,
  type TryToAdopt,
  type TryToStart,
} from "./executor.js";
import { LocalExecutor } from "./local.js";
import { taskLogPath } from "./task-log.js";
import type { WarmAssignment, WarmReady } from "./warm-worker.js";

/** Options of `WarmExecutor`. */
export interface WarmExecutorOptions {
  config: WindflowConfig;
  /** Warm processes kept ready. */
  size: number;
  /** The warm process program. @default `defaultWarmWorkerCommand()` */
  command?: readonly string[];
  /** The program for cold starts (see `LocalExecutor`). @default `defaultTaskCommand()` */
  coldCommand?: readonly string[];
  /** @default config.env with WINDFLOW_HOME = config.home */
  env?: Environment;
  /** Called when a task process ends (wakes the scheduler); `subscribe` does the same. */
  onExit?: () => void;
  /** Where the pool says it gave up on warm processes (the scheduler's log). */
  log?: { warn(text: string): void };
  /** This machine's name (see `LocalExecutor`). @default os.hostname() */
  hostname?: string;
}

/** This Node on `warm-worker`, through tsx when running from the sources. */
export function defaultWarmWorkerCommand(): string[] {
  return nodeEntryCommand(__filename, "warm-worker");
}

/** How long an end seen by the pid watch waits for Node's report of how a warm process ended. */
const EXIT_REPORT_WAIT_MS = 2000;

/** Warm processes that die before being ready this many times in a row: the pool gives up (cold starts). */
const MAX_BOOT_FAILURES = 3;

/** The local executor with warm task processes (see the module comment). */
export class WarmExecutor implements TaskExecutor {
  readonly description: string;
  private readonly local: LocalExecutor;
  private readonly listeners = new Listeners();
  private readonly config: WindflowConfig;
  private readonly size: number;
  private readonly command: readonly string[];
  private readonly env: Environment;
  private readonly onExit: (() => void) | undefined;
  private readonly log: { warn(text: string): void };
  private readonly ready: ChildProcess[] = [];
  /** Warm processes loading, with the try reserved for each when none was ready (null: none yet). */
  private readonly booting = new Map<ChildProcess, WarmAssignment | null>();
  /** Warm processes handed a try: no longer the pool's. */
  private readonly assigned = new WeakSet<ChildProcess>();
  /** How assigned warm processes ended, by pid, until `poll` reports them. */
  private readonly exits = new Map<number, { code: number | null; signal: NodeJS.Signals | null }>();
  /** Assigned warm processes, by pid, until their end is reported. */
  private readonly warmPids = new Set<number>();
  /** Ends seen by the pid watch before Node reported how the process ended (see `poll`). */
  private readonly pendingEvents: { event: ExecutorEvent; since: number }[] = [];
  private readonly workerLog: string;
  private bootFailures = 0;
  private closed = false;
  private warmStarts = 0;
  private coldStarts = 0;

  constructor(options: WarmExecutorOptions) {
    this.config = options.config;
    this.size = Math.max(0, Math.floor(options.size));
    this.command = options.command ?? defaultWarmWorkerCommand();
    this.env = options.env ?? { ...options.config.env, WINDFLOW_HOME: options.config.home };
    const onExit = options.onExit;
    this.onExit = () => {
      onExit?.();
      this.listeners.call();
    };
    this.description = `local processes, ${this.size} warm task processes`;
    this.log = options.log ?? { warn: () => {} };
    this.workerLog = join(options.config.logging.base_log_folder, "scheduler", "warm-workers.log");
    this.local = new LocalExecutor({
      config: options.config,
      env: this.env,
      ...(options.coldCommand ? { command: options.coldCommand } : {}),
      ...(options.hostname ? { hostname: options.hostname } : {}),
      onExit: () => this.onExit?.(),
    });
    this.refill();
  }

  /** Task processes running, counting those whose end is seen but not yet reported (see `poll`). */
  get running(): number {
    return this.local.running + this.pendingEvents.length;
  }

  /** Warm processes ready now. */
  get idle(): number {
    return this.ready.length;
  }

  /** Tries started on a warm process, and cold. */
  get starts(): { warm: number; cold: number } {
    return { warm: this.warmStarts, cold: this.coldStarts };
  }

  /**
   * Whether a process of this task instance is watched, counting one whose end is seen but not yet reported
   * (see `poll`): until its event comes out, it is still this executor's, or the scheduler would take the
   * dead process for a zombie and say "gone" where Node is about to say "killed by SIGKILL".
   */
  has(key: TaskInstanceKey): boolean {
    return (
      this.local.has(key) ||
      this.pendingEvents.some(
        ({ event: e }) => e.dagId === key.dagId && e.runId === key.runId && e.taskId === key.taskId,
      )
    );
  }

  subscribe(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  adopt(ti: TryToAdopt): AdoptVerdict {
    return this.local.adopt(ti);
  }

  /**
   * As `LocalExecutor.poll`; a warm process's exit code or signal is known (it was our child): given. The
   * watch by pid can see a warm process dead (a zombie) a moment before Node reaps it and reports how it
   * ended: such an event waits for that report (at most EXIT_REPORT_WAIT_MS), so that "killed by SIGKILL"
   * is not lost.
   */
  poll(): ExecutorEvent[] {
    const out: ExecutorEvent[] = [];
    const now = Date.now();
    const events = [
      ...this.pendingEvents.splice(0),
      ...this.local.poll().map((event) => ({ event, since: now })),
    ];
    for (const { event, since } of events) {
      const pid = event.pid;
      const exit = pid === null ? undefined : this.exits.get(pid);
      if (exit) {
        this.exits.delete(pid as number);
        this.warmPids.delete(pid as number);
        out.push({ ...event, exitCode: exit.code, signal: exit.signal, adopted: false });
      } else if (pid !== null && this.warmPids.has(pid) && now - since < EXIT_REPORT_WAIT_MS) {
        this.pendingEvents.push({ event, since });
      } else {
        if (pid !== null) this.warmPids.delete(pid);
        out.push(event);
      }
    }
    return out;
  }

  kill(key: TaskInstanceKey): boolean {
    return this.local.kill(key);
  }

  /** Hands the try to a warm process, or starts it cold when none is ready. */
  start(ti: TryToStart): StartedTask {
    const key: TaskInstanceKey = { dagId: ti.dagId, runId: ti.runId, taskId: ti.taskId };
    if (this.local.has(key))
      throw new Error(`WarmExecutor: ${ti.dagId}/${ti.runId}/${ti.taskId} has a process already`);
    let worker = this.ready.shift();
    while (worker && (worker.pid === undefined || !worker.connected || worker.exitCode !== null))
      worker = this.ready.shift();
    const assignment: WarmAssignment = { type: "run", ...key };
    if (!worker) {
      // None ready: the process that has been loading longest is closer to ready than a cold start would be.
      for (const [child, reserved] of this.booting)
        if (reserved === null && child.pid !== undefined && child.exitCode === null) {
          worker = child;
          break;
        }
      if (worker) this.booting.set(worker, assignment);
    }
    this.refill();
    if (!worker?.pid) {
      this.coldStarts++;
      return this.local.start(ti);
    }
    if (!this.booting.has(worker)) this.assign(worker, assignment);
    this.local.watchPid(key, worker.pid);
    this.warmStarts++;
    return {
      ...key,
      pid: worker.pid,
      logPath: taskLogPath(this.config.logging.base_log_folder, key, ti.tryNumber + 1),
    };
  }

  /**
   * Hands a ready warm process its try. From then on the process is the try's, not the pool's: detached from
   * us once the message is out, watched by pid (its exit wakes the scheduler).
   */
  private assign(worker: ChildProcess, assignment: WarmAssignment): void {
    this.assigned.add(worker);
    worker.send(assignment, () => {
      if (worker.connected) worker.disconnect();
    });
    const pid = worker.pid as number;
    this.warmPids.add(pid);
    worker.once("exit", (code, signal) => {
      this.exits.set(pid, { code, signal });
      this.onExit?.();
    });
  }

  /** Stops the idle warm processes; then as `LocalExecutor.close` (tries running go on, unless `kill`). */
  close(options: { kill?: boolean } = {}): void {
    this.closed = true;
    for (const [worker, reserved] of [...this.ready.map((w) => [w, null] as const), ...this.booting]) {
      if (reserved !== null) continue; // its try is reserved: it takes it when ready, like a started try
      try {
        process.kill(-(worker.pid as number), "SIGKILL");
      } catch {
        worker.kill("SIGKILL");
      }
    }
    this.ready.splice(0);
    this.local.close(options);
  }

  private refill(): void {
    const free = () => this.ready.length + [...this.booting.values()].filter((a) => a === null).length;
    while (!this.closed && this.bootFailures < MAX_BOOT_FAILURES && free() < this.size) this.spawnWorker();
  }

  private spawnWorker(): void {
    const [program, ...args] = this.command;
    mkdirSync(join(this.workerLog, ".."), { recursive: true });
    const fd = openSync(this.workerLog, "a");
    let child: ChildProcess;
    try {
      child = spawn(program as string, args, {
        cwd: this.config.root,
        env: this.env,
        detached: true,
        stdio: ["ignore", fd, fd, "ipc"],
      });
    } finally {
      closeSync(fd);
    }
    this.booting.set(child, null);
    // Idle warm processes must not keep the scheduler's process alive.
    child.unref();
    (child.channel as { unref?: () => void } | undefined)?.unref?.();
    child.on("message", (message: WarmReady) => {
      if (message?.type !== "ready" || !this.booting.has(child)) return;
      const reserved = this.booting.get(child) ?? null;
      this.booting.delete(child);
      this.bootFailures = 0;
      if (reserved) this.assign(child, reserved);
      else if (this.closed) child.kill("SIGKILL");
      else this.ready.push(child);
    });
    const lost = (why: string) => {
      // A process that dies with a try reserved: the scheduler sees the try's task instance still queued
      // and its pid dead, a start that failed (started again).
      if (this.booting.get(child)) this.onExit?.();
      const wasBooting = this.booting.delete(child);
      const at = this.ready.indexOf(child);
      if (at >= 0) this.ready.splice(at, 1);
      if (this.closed || this.assigned.has(child) || (!wasBooting && at < 0)) return;
      if (wasBooting) this.bootFailures++;
      this.log.warn(
        `warm task process ${child.pid ?? "?"} ${why} while idle (see ${this.workerLog})` +
          (this.bootFailures >= MAX_BOOT_FAILURES ? ": no more warm processes, tries start cold" : ""),
      );
      setTimeout(() => this.refill(), 200).unref();
    };
    child.once("error", (error) => lost(`could not start (${error.message})`));
    child.once("exit", (code, signal) =>
      lost(signal ? `was killed by ${signal}` : `exited with code ${code}`),
    );
  }
}
