/**
 * The executor seam: what the scheduler asks of whatever runs task code (docs/adr/0007-executor-seam.md).
 *
 * Glossary. A **try** is one attempt at a task instance (try n + 1 of a queued task instance whose
 * `tryNumber` is n). An **executor** starts tries somewhere (a process on this machine, a warm process, a
 * worker behind a queue), reports when each ends, kills them on request, and, after a restart, takes over
 * (**adopts**) the tries a dead scheduler left running. It never decides what to run and never records a
 * try's state: the try records its own claim (`queued -> running`, a compare-and-set) and its end; the
 * scheduler reads those from the store and uses the executor's events only to learn that a try's runner is
 * gone (so that a try that ended without recording its end is failed or retried: `finishLostTry`).
 *
 * Implementations: `LocalExecutor` (one process per try, started cold), `WarmExecutor` (the same, handed to a
 * process loaded ahead of need). Both pass `tests/executor-contract.test.ts`; a distributed executor (a queue
 * on Redis) must pass it too.
 *
 * ## The contract
 * - **One runner per start.** `start` starts exactly one runner for the try, or throws (nothing started) if
 *   the executor already watches a runner of that task instance (`has`). Whether the try *runs* is decided by
 *   the runner's claim in the store: a runner that finds its task instance no longer `queued` runs nothing,
 *   so a start repeated after a crash can never run a try twice.
 * - **Events.** Every runner started or adopted ends in exactly one `ExecutorEvent`, returned by exactly one
 *   `poll` (oldest first); `has(key)` is true from `start`/`adopt` until the `poll` that returns its event
 *   (never false while the runner may still record something), and `running` counts those. `close` drops the
 *   watch: no event after it. A listener given to `subscribe` is called (synchronously, any number of times)
 *   when something may be ready for `poll`: the scheduler's hand-off is that call, not a polling interval.
 * - **Kill.** `kill(key)` returns false if no runner of it is watched; else the runner is asked to stop (the
 *   task's `ctx.signal` aborts, `[core] killed_task_cleanup_time` to clean up), then ended by force, and its
 *   event says `killedBy: "kill"`. The scheduler records a timeout *before* killing; the executor records
 *   nothing.
 * - **Adoption.** `adopt(ti)` is asked about a `running` task instance that this executor does not watch
 *   (its scheduler died): `adopted` (watched from now on: its end comes as an event with `adopted: true`),
 *   `lost` (its runner is gone without recording the end: the scheduler ends the try), or `elsewhere` (this
 *   executor cannot tell: left alone). Only tries of schedulers whose heartbeat stopped are offered.
 */
import type { TaskInstanceKey, TaskInstanceRecord } from "../store/store.js";

/** A try to start: the queued task instance (its next try is `tryNumber + 1`). */
export type TryToStart = Pick<TaskInstanceRecord, "dagId" | "runId" | "taskId" | "tryNumber">;

/** A running try offered for adoption: where its runner was recorded (pid and host, for local runners). */
export type TryToAdopt = Pick<TaskInstanceRecord, "dagId" | "runId" | "taskId" | "pid" | "hostname">;

/** What `adopt` made of a running try it does not watch (see the module comment). */
export type AdoptVerdict = "adopted" | "lost" | "elsewhere";

/** A runner started for a try. */
export interface StartedTask extends TaskInstanceKey {
  /** Its process id, when it is a process of this machine; null if it could not be started (reported by `poll` with `spawnError`) or is not a local process. */
  readonly pid: number | null;
  /** The try's log file, where the runner's stdout and stderr go. */
  readonly logPath: string;
}

/** A runner that ended. */
export interface ExecutorEvent extends TaskInstanceKey {
  readonly pid: number | null;
  /** Its exit code (`EXIT_CODES`); null if a signal ended it, if it was adopted (not our child), or never started. */
  readonly exitCode: number | null;
  /** The signal that ended it, if any. */
  readonly signal: NodeJS.Signals | null;
  /** It was started by an earlier scheduler and adopted: only its end is known, not its exit code. */
  readonly adopted: boolean;
  /** Whether the executor killed it (`kill`). */
  readonly killedBy: "kill" | null;
  /** The runner could not be started (spawn error). */
  readonly spawnError?: string;
  readonly durationMs: number;
}

/** What the scheduler needs of an executor (see the module comment for the promises behind each member). */
export interface TaskExecutor {
  /** For the scheduler's log: "local", "warm (2 processes)"... */
  readonly description: string;
  /** Runners watched (started or adopted, their event not yet returned by `poll`). */
  readonly running: number;
  /** Whether a runner of this task instance is watched. */
  has(key: TaskInstanceKey): boolean;
  /** Starts one runner for the try; throws if one of this task instance is watched already. */
  start(ti: TryToStart): StartedTask;
  /** The runners that ended since the last call, oldest first, each once. */
  poll(): ExecutorEvent[];
  /** Calls `listener` when an event may be ready for `poll`; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
  /** Asks the runner to stop, then ends it by force; false if none of it is watched. */
  kill(key: TaskInstanceKey): boolean;
  /** Takes over a running try that a dead scheduler started (see the module comment). */
  adopt(ti: TryToAdopt): AdoptVerdict;
  /** Stops watching (tries go on and record their own end), or kills every runner first with `kill: true`. */
  close(options?: { kill?: boolean }): void;
}

/** Subscribers of an executor, called in turn; a throwing listener does not stop the others. */
export class Listeners {
  private readonly listeners = new Set<() => void>();
  add(listener: () => void): () => void {
    const own = () => listener();
    this.listeners.add(own);
    return () => {
      this.listeners.delete(own);
    };
  }
  call(): void {
    for (const listener of [...this.listeners])
      try {
        listener();
      } catch {
        // A listener's failure is its own.
      }
  }
}
