/**
 * `LocalExecutor`: runs each try in its own process on this machine (`task-process.ts`, what
 * `windflow tasks run DAG TASK RUN_ID` does). The caller (the scheduler) decides what to start and honours
 * `[core] parallelism`; the executor starts, watches and kills processes, and never touches the store: a
 * task process records its own try.
 *
 * Task processes outlive a crash of the scheduler. Each is started detached, in its own process group, with
 * no pipe to the scheduler (stdin ignored, stdout and stderr appended to the try's log file): a scheduler
 * killed with SIGKILL takes no task with it, and a task never dies of a broken pipe when it prints. The task
 * process finishes and records its state; the restarted scheduler `adopt`s the task instances still running,
 * by the pid and host recorded in the store, and watches them with `isProcessAlive` until they end. A task
 * instance that is `running` in the store while its process is not alive is a zombie: the scheduler ends its
 * try with `finishLostTry` (which retries it if tries remain).
 *
 * `kill` stops a try: SIGTERM to its process group (the task process records a `TaskKilledError` and may
 * clean up for `[core] killed_task_cleanup_time`), then SIGKILL once that time is over, for code that does
 * not yield to the event loop. Execution timeouts are the scheduler's: it counts them from the try's start as
 * recorded by the task process (not from the spawn, which a busy machine can delay by seconds), then `kill`s.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { hostname as osHostname } from "node:os";
import { dirname } from "node:path";
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
import { taskLogPath } from "./task-log.js";
import { runningVerdict } from "./verdict.js";

/** Options of `LocalExecutor`. */
export interface LocalExecutorOptions {
  config: WindflowConfig;
  /**
   * The program that runs one try, before its `DAG TASK RUN_ID` arguments.
   * @default `defaultTaskCommand()`: this Node on `task-process.js` (with tsx when running from sources)
   */
  command?: readonly string[];
  /** The task processes' environment. @default config.env with WINDFLOW_HOME = config.home */
  env?: Environment;
  /** Called as soon as a process ends: lets the scheduler wake up at once (the hand-off time). */
  onExit?: (event: ExecutorEvent) => void;
  /** This machine's name, compared with the one a running try recorded (`adopt`). @default os.hostname() */
  hostname?: string;
}

export type { ExecutorEvent, StartedTask } from "./executor.js";

interface Watched {
  readonly key: TaskInstanceKey;
  readonly pid: number | null;
  readonly child: ChildProcess | null;
  readonly started: number;
  killedBy: "kill" | null;
  timers: NodeJS.Timeout[];
}

const keyOf = (k: TaskInstanceKey) => `${k.dagId}\0${k.runId}\0${k.taskId}`;

/** The program that runs a try: this Node on `task-process`, through tsx when running from the sources. */
export function defaultTaskCommand(): string[] {
  return nodeEntryCommand(__filename, "task-process");
}

/**
 * Whether process `pid` exists and has not ended. `process.kill(pid, 0)` tests existence (EPERM: it exists
 * but belongs to another user); on Linux a dead process not yet reaped by its parent (a "zombie" in the
 * kernel's sense, state Z in `/proc/<pid>/stat`) also counts as ended. This can only see processes of this
 * machine: compare the recorded hostname first.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) S ...": the state follows the last ")" (comm may hold spaces and parentheses).
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return true; // no /proc (not Linux): kill(0) is the answer
  }
}

/** Runs tries in local processes (see the module comment). */
export class LocalExecutor implements TaskExecutor {
  readonly description: string = "local processes";
  private readonly config: WindflowConfig;
  private readonly hostname: string;
  private readonly listeners = new Listeners();
  private readonly command: readonly string[];
  private readonly env: Environment;
  private readonly onExit: ((event: ExecutorEvent) => void) | undefined;
  private readonly watched = new Map<string, Watched>();
  private readonly events: ExecutorEvent[] = [];
  private waiters: (() => void)[] = [];

  constructor(options: LocalExecutorOptions) {
    this.config = options.config;
    this.command = options.command ?? defaultTaskCommand();
    this.env = options.env ?? { ...options.config.env, WINDFLOW_HOME: options.config.home };
    this.onExit = options.onExit;
    this.hostname = options.hostname ?? osHostname();
  }

  subscribe(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  /** Task instances whose process runs (started or adopted, not yet reported ended). */
  get running(): number {
    return this.watched.size;
  }

  /** Whether a process of this task instance is being watched. */
  has(key: TaskInstanceKey): boolean {
    return this.watched.has(keyOf(key));
  }

  /**
   * Starts the process of the next try of a queued task instance (try `tryNumber + 1`: its log file gets
   * the process's output).
   */
  start(ti: TryToStart): StartedTask {
    const key: TaskInstanceKey = { dagId: ti.dagId, runId: ti.runId, taskId: ti.taskId };
    if (this.watched.has(keyOf(key)))
      throw new Error(`LocalExecutor: ${ti.dagId}/${ti.runId}/${ti.taskId} has a process already`);
    const logPath = taskLogPath(this.config.logging.base_log_folder, key, ti.tryNumber + 1);
    mkdirSync(dirname(logPath), { recursive: true });
    const fd = openSync(logPath, "a");
    let child: ChildProcess;
    try {
      const [program, ...args] = this.command;
      child = spawn(program as string, [...args, ti.dagId, ti.taskId, ti.runId], {
        cwd: this.config.root,
        env: this.env,
        detached: true,
        stdio: ["ignore", fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    const w: Watched = {
      key,
      pid: child.pid ?? null,
      child,
      started: performance.now(),
      killedBy: null,
      timers: [],
    };
    this.watched.set(keyOf(key), w);
    child.once("error", (error) => {
      if (w.pid === null) this.ended(w, null, null, error.message);
    });
    child.once("exit", (code, signal) => this.ended(w, code, signal));
    // The scheduler's event loop need not wait for task processes: they outlive it by design.
    child.unref();
    return { ...key, pid: w.pid, logPath };
  }

  /**
   * A running try this executor does not watch: adopted if its recorded process runs on this machine and is
   * alive (watched by pid from now on), lost if it is gone, elsewhere if it was recorded on another machine.
   */
  adopt(ti: TryToAdopt): AdoptVerdict {
    const verdict = runningVerdict(ti, { hostname: this.hostname, watched: false, alive: isProcessAlive });
    if (verdict !== "adopt") return verdict === "elsewhere" ? "elsewhere" : "lost";
    this.watchPid(ti, ti.pid as number);
    return "adopted";
  }

  /**
   * Watches a process by its pid (not our child: its end is seen by `poll`). If it is not alive, its end is
   * reported by the next `poll`.
   */
  watchPid(key: TaskInstanceKey, pid: number): void {
    if (this.watched.has(keyOf(key))) return;
    this.watched.set(keyOf(key), {
      key: { dagId: key.dagId, runId: key.runId, taskId: key.taskId },
      pid,
      child: null,
      started: performance.now(),
      killedBy: null,
      timers: [],
    });
  }

  /** The processes that ended since the last call (adopted ones are checked now), oldest first. */
  poll(): ExecutorEvent[] {
    for (const w of [...this.watched.values()])
      if (w.child === null && (w.pid === null || !isProcessAlive(w.pid))) this.ended(w, null, null);
    return this.events.splice(0);
  }

  /**
   * Resolves when a process ends (an event is ready for `poll`) or after `timeoutMs`, whichever is first;
   * true if an event is ready. Adopted processes are not our children: their end is only seen by `poll`.
   */
  waitForEvent(timeoutMs: number): Promise<boolean> {
    if (this.events.length > 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(this.events.length > 0);
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.push(done);
    });
  }

  /**
   * Stops the process of a task instance: SIGTERM to its process group, SIGKILL after
   * `killed_task_cleanup_time` and a second. Returns false if no process of it is watched.
   */
  kill(key: TaskInstanceKey): boolean {
    const w = this.watched.get(keyOf(key));
    if (!w) return false;
    this.stop(w);
    return true;
  }

  /** Stops watching every process (they go on running), or kills them all first with `kill: true`. */
  close(options: { kill?: boolean } = {}): void {
    for (const w of this.watched.values()) {
      if (options.kill) this.signal(w, "SIGKILL");
      for (const t of w.timers) clearTimeout(t);
    }
    this.watched.clear();
  }

  private stop(w: Watched): void {
    w.killedBy = "kill";
    this.signal(w, "SIGTERM");
    w.timers.push(
      setTimeout(() => {
        if (this.watched.get(keyOf(w.key)) === w) this.signal(w, "SIGKILL");
      }, this.config.core.killed_task_cleanup_time + 1000).unref(),
    );
  }

  private signal(w: Watched, signal: NodeJS.Signals): void {
    if (w.pid === null) return;
    try {
      // The whole group: the task process and whatever it started. It leads its group (detached).
      process.kill(-w.pid, signal);
    } catch {
      try {
        process.kill(w.pid, signal);
      } catch {
        // Already gone.
      }
    }
  }

  private ended(w: Watched, code: number | null, signal: NodeJS.Signals | null, spawnError?: string): void {
    if (this.watched.get(keyOf(w.key)) !== w) return;
    this.watched.delete(keyOf(w.key));
    for (const t of w.timers) clearTimeout(t);
    const event: ExecutorEvent = {
      ...w.key,
      pid: w.pid,
      exitCode: code,
      signal,
      adopted: w.child === null,
      killedBy: w.killedBy,
      durationMs: performance.now() - w.started,
      ...(spawnError === undefined ? {} : { spawnError }),
    };
    this.events.push(event);
    this.onExit?.(event);
    this.listeners.call();
    for (const wake of [...this.waiters]) wake();
  }
}
