/**
 * `BullmqExecutor`: the scheduler's side of the distributed executor (docs/adr/0013-bullmq-executor.md). Each
 * try is one BullMQ job on `[bullmq] queue`, whose id is the try's id (`tryJobId`: task instance and try
 * number), so a start repeated after a crash adds nothing (BullMQ keeps the job that has the id). A
 * `windflow worker` (`bullmq-worker.ts`) takes the job and runs the try as the local executor does, in a
 * process of its own running `windflow tasks run` (the claim in the store makes the run exactly-once), and the
 * job's return value says how that process ended.
 *
 * - **Events**: the queue's `completed`/`failed` events (`QueueEvents`), and, for what a lost connection
 *   hid, a check every `checkIntervalMs` of the state of each watched job. Each watched try ends in one event.
 * - **Kill**: a cancel flag in Redis (`cancelKey`), which the worker polls for each try it runs: SIGTERM to
 *   the try's process group, SIGKILL after `[core] killed_task_cleanup_time`; a job not taken yet is not run.
 * - **Adopt**: answered from the live jobs (waiting, active, delayed) read at the last check: a live job of
 *   the task instance is adopted, none is `lost`, and before the first check `elsewhere` (asked again later).
 *
 * The executor never records a try's state: the worker's try process records it in the store, which is
 * shared (the same SQLite file through `[bullmq] data_root`: one host or a shared file system, see the ADR).
 */
import { type Job, Queue, QueueEvents } from "bullmq";
import { Redis, type RedisOptions } from "ioredis";
import type { WindflowConfig } from "../../config.js";
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

/** A try's job: what the worker needs to run it. */
export interface TryJobData extends TaskInstanceKey {
  /** The try to run (the task instance's `tryNumber + 1` when it was queued). */
  readonly tryNumber: number;
}

/** A try's job's return value: how its process ended on the worker. */
export interface TryJobResult {
  readonly pid: number | null;
  readonly hostname: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Why nothing was started (cancelled before it was taken, the process could not start). */
  readonly notStarted?: string;
}

/** The job id of a try: its task instance and try number (BullMQ ids may not hold ":": encoded). */
export function tryJobId(key: TaskInstanceKey, tryNumber: number): string {
  const enc = (s: string) => encodeURIComponent(s).replaceAll("%", "~");
  return `try~${enc(key.dagId)}~~${enc(key.runId)}~~${enc(key.taskId)}~~${tryNumber}`;
}

/** The Redis key of a try's cancel flag (set by `kill`, polled by the worker). */
export function cancelKey(queue: string, jobId: string): string {
  return `windflow:${queue}:cancel:${jobId}`;
}

/** The Redis key where the scheduler publishes its shared paths for workers to compare (`checkSharedPaths`). */
export function setupKey(queue: string): string {
  return `windflow:${queue}:setup`;
}

/** The paths a worker must share with the scheduler. */
export function sharedPaths(config: WindflowConfig): Record<string, string> {
  return {
    "[bullmq] data_root": config.bullmq.data_root,
    "[core] dags_folder": config.core.dags_folder,
    "[database] path": config.database.path,
    "[logging] base_log_folder": config.logging.base_log_folder,
  };
}

/** How long finished jobs are kept (bounded, as BullMQ's production guide says). */
export const KEEP_COMPLETED = { age: 24 * 3600, count: 1000 } as const;
export const KEEP_FAILED = { age: 7 * 24 * 3600, count: 5000 } as const;

/**
 * ioredis options from a redis:// or rediss:// URL (host, port, user, password, database number). Given as
 * options, not as a client, BullMQ owns its connections and closes them with its queue, worker or events.
 * Blocking commands need `maxRetriesPerRequest: null`.
 */
export function connectionOptions(url: string): RedisOptions {
  const u = new URL(url);
  const db = u.pathname.replace(/^\//, "");
  return {
    host: u.hostname,
    port: u.port === "" ? 6379 : Number(u.port),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db === "" ? {} : { db: Number(db) }),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

/** A Redis client of our own (cancel flags, the published paths), closed by its owner. */
export function redisConnection(url: string): Redis {
  return new Redis(connectionOptions(url));
}

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  return url.replace(
    /\/\/([^@/]*)@/,
    (_m, auth: string) => `//${auth.includes(":") ? `${auth.split(":")[0]}:***` : "***"}@`,
  );
}

/** Options of `BullmqExecutor`. */
export interface BullmqExecutorOptions {
  config: WindflowConfig;
  /** How often watched jobs are checked (events missed while disconnected) and live jobs listed. @default 2000 */
  checkIntervalMs?: number;
  /** Errors of the connection (logged by the scheduler). @default ignored */
  onError?: (error: Error) => void;
}

interface Watched {
  readonly key: TaskInstanceKey;
  readonly jobId: string;
  readonly started: number;
  readonly adopted: boolean;
  killedBy: "kill" | null;
  /** The job's add (a kill's cancel flag is set after it: the add may clear an old flag of the same id). */
  enqueued?: Promise<unknown>;
}

const keyOf = (k: TaskInstanceKey) => `${k.dagId}\0${k.runId}\0${k.taskId}`;

/** Runs tries on `windflow worker`s through a BullMQ queue (see the module comment). */
export class BullmqExecutor implements TaskExecutor {
  readonly description: string;
  private readonly config: WindflowConfig;
  private readonly queueName: string;
  private readonly connection: Redis;
  private readonly queue: Queue;
  private readonly queueEvents: QueueEvents;
  private readonly listeners = new Listeners();
  private readonly watched = new Map<string, Watched>();
  private readonly byJob = new Map<string, Watched>();
  private readonly events: ExecutorEvent[] = [];
  /** Live jobs (waiting, active, delayed) by task instance, from the last check; null before the first. */
  private live: Map<string, string> | null = null;
  private readonly timer: NodeJS.Timeout;
  private checking = false;
  private checked: (() => void)[] = [];
  private recheck = false;
  /** The scheduler's shared paths, written for workers to compare (`checkSharedPaths`). */
  private readonly published: Promise<unknown>;
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly onError: (error: Error) => void;

  constructor(options: BullmqExecutorOptions) {
    this.config = options.config;
    const { redis_url: url, queue } = options.config.bullmq;
    this.queueName = queue;
    this.description = `bullmq (queue ${queue} on ${redactUrl(url)})`;
    this.onError = options.onError ?? (() => {});
    this.connection = redisConnection(url);
    this.connection.on("error", (e) => this.onError(e));
    this.queue = new Queue(queue, { connection: connectionOptions(url) });
    this.queue.on("error", (e) => this.onError(e));
    this.queueEvents = new QueueEvents(queue, { connection: connectionOptions(url) });
    this.queueEvents.on("error", (e) => this.onError(e));
    this.queueEvents.on("completed", ({ jobId, returnvalue }) => this.jobEnded(jobId, returnvalue, null));
    this.queueEvents.on("failed", ({ jobId, failedReason }) => this.jobEnded(jobId, undefined, failedReason));
    this.published = this.connection
      .set(setupKey(queue), JSON.stringify(sharedPaths(options.config)))
      .catch((e) => this.onError(e));
    this.track(this.published);
    this.timer = setInterval(() => void this.check(), options.checkIntervalMs ?? 2000);
    this.timer.unref();
    void this.check();
  }

  subscribe(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  get running(): number {
    return this.watched.size;
  }

  has(key: TaskInstanceKey): boolean {
    return this.watched.has(keyOf(key));
  }

  /** Adds the try's job (idempotent on its id); its end comes as an event. */
  start(ti: TryToStart): StartedTask {
    const key: TaskInstanceKey = { dagId: ti.dagId, runId: ti.runId, taskId: ti.taskId };
    if (this.closed) throw new Error("BullmqExecutor: closed");
    if (this.watched.has(keyOf(key)))
      throw new Error(`BullmqExecutor: ${ti.dagId}/${ti.runId}/${ti.taskId} has a process already`);
    const tryNumber = ti.tryNumber + 1;
    const jobId = tryJobId(key, tryNumber);
    const w: Watched = { key, jobId, started: performance.now(), adopted: false, killedBy: null };
    this.watch(w);
    const data: TryJobData = { ...key, tryNumber };
    w.enqueued = this.enqueue(jobId, data).catch((error: Error) =>
      this.ended(w, { spawnError: `could not queue the try's job: ${error.message}` }),
    );
    this.track(w.enqueued);
    return { ...key, pid: null, logPath: taskLogPath(this.config.logging.base_log_folder, key, tryNumber) };
  }

  /**
   * Adds the try's job. A live job of that id is kept (a start repeated after a crash adds nothing); a
   * finished one (the same try started again: its first job was cancelled, or ran nothing because the claim
   * failed) is replaced, and the try's cancel flag cleared, so that the new start runs.
   */
  private async enqueue(jobId: string, data: TryJobData): Promise<void> {
    const existing = await this.queue.getJob(jobId);
    if (existing) {
      const state = await existing.getState();
      if (state !== "completed" && state !== "failed") return;
      await existing.remove();
      await this.connection.del(cancelKey(this.queueName, jobId));
    }
    await this.queue.add("try", data, {
      jobId,
      attempts: 1,
      removeOnComplete: KEEP_COMPLETED,
      removeOnFail: KEEP_FAILED,
    });
  }

  /** A running try of a dead scheduler: adopted if a live job of it is in the queue (see the module comment). */
  adopt(ti: TryToAdopt): AdoptVerdict {
    if (this.has(ti)) return "adopted";
    if (this.live === null) return "elsewhere";
    const jobId = this.live.get(keyOf(ti));
    if (jobId === undefined) return "lost";
    this.watch({
      key: { dagId: ti.dagId, runId: ti.runId, taskId: ti.taskId },
      jobId,
      started: performance.now(),
      adopted: true,
      killedBy: null,
    });
    return "adopted";
  }

  poll(): ExecutorEvent[] {
    return this.events.splice(0);
  }

  /** Sets the try's cancel flag: the worker stops it (or does not start it); false if none is watched. */
  kill(key: TaskInstanceKey): boolean {
    const w = this.watched.get(keyOf(key));
    if (!w) return false;
    w.killedBy = "kill";
    this.track((w.enqueued ?? Promise.resolve()).then(() => this.cancel(w.jobId)));
    return true;
  }

  /** Stops watching (the workers go on), or cancels every watched try first with `kill: true`. */
  close(options: { kill?: boolean } = {}): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    const cancels = options.kill
      ? [...this.watched.values()].map((w) =>
          (w.enqueued ?? Promise.resolve()).then(() => this.cancel(w.jobId)),
        )
      : [];
    this.watched.clear();
    this.byJob.clear();
    this.events.length = 0;
    this.closing = Promise.allSettled([...cancels, ...this.pending]).then(async () => {
      await Promise.allSettled([this.queueEvents.close(), this.queue.close()]);
      this.connection.disconnect();
    });
  }

  /** Resolves after the next complete check (watched jobs and the live jobs `adopt` answers from). */
  nextCheck(): Promise<void> {
    return new Promise((resolve) => {
      this.checked.push(resolve);
      void this.check();
    });
  }

  /** Resolves when `close` has cancelled what it had to and closed the connections. */
  async whenClosed(): Promise<void> {
    await this.closing;
  }

  private cancel(jobId: string): Promise<unknown> {
    return this.connection
      .set(cancelKey(this.queueName, jobId), "1", "EX", 24 * 3600)
      .catch((e) => this.onError(e));
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private watch(w: Watched): void {
    this.watched.set(keyOf(w.key), w);
    this.byJob.set(w.jobId, w);
  }

  private jobEnded(jobId: string, returnvalue: unknown, failedReason: string | null): void {
    const w = this.byJob.get(jobId);
    if (!w) return;
    let result: Partial<TryJobResult> = {};
    try {
      result = (typeof returnvalue === "string" ? JSON.parse(returnvalue) : returnvalue) ?? {};
    } catch {
      // Not ours: ended, how unknown.
    }
    this.ended(w, {
      pid: result.pid ?? null,
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      ...(failedReason !== null ? { failed: failedReason } : {}),
    });
  }

  /** Reads the state of each watched job (ends those whose event a lost connection hid) and the live jobs. */
  private async check(): Promise<void> {
    if (this.closed) return;
    if (this.checking) {
      this.recheck = true;
      return;
    }
    this.checking = true;
    const waiting = this.checked.splice(0);
    try {
      await this.published;
      for (const w of [...this.byJob.values()]) {
        const state = await this.queue.getJobState(w.jobId);
        if (state === "completed" || state === "failed") {
          const job = await this.queue.getJob(w.jobId);
          this.jobEnded(
            w.jobId,
            job?.returnvalue,
            state === "failed" ? (job?.failedReason ?? "failed") : null,
          );
        } else if (state === "unknown" && this.byJob.get(w.jobId) === w) {
          // Removed (by hand, or by a bound on kept jobs): its end is not known. Checked again: the add
          // may not have reached Redis yet at the first look.
          const again = await this.queue.getJobState(w.jobId);
          if (again === "unknown" && performance.now() - w.started > 5000)
            this.ended(w, { failed: "its job is gone from the queue" });
        }
      }
      const jobs: Job[] = await this.queue.getJobs(["active", "waiting", "delayed", "prioritized"], 0, -1);
      const live = new Map<string, string>();
      for (const job of jobs) {
        const d = job.data as Partial<TryJobData>;
        if (job.id && d.dagId && d.runId && d.taskId)
          live.set(keyOf({ dagId: d.dagId, runId: d.runId, taskId: d.taskId }), job.id);
      }
      if (!this.closed) this.live = live;
      for (const resolve of waiting) resolve();
    } catch (error) {
      this.checked.unshift(...waiting); // answered by the next check that completes
      this.onError(error as Error);
    } finally {
      this.checking = false;
      if (this.recheck) {
        this.recheck = false;
        void this.check();
      }
    }
  }

  private ended(
    w: Watched,
    how: {
      pid?: number | null;
      exitCode?: number | null;
      signal?: NodeJS.Signals | null;
      spawnError?: string;
      failed?: string;
    },
  ): void {
    if (this.closed || this.watched.get(keyOf(w.key)) !== w) return;
    this.watched.delete(keyOf(w.key));
    this.byJob.delete(w.jobId);
    const event: ExecutorEvent = {
      ...w.key,
      pid: how.pid ?? null,
      exitCode: how.exitCode ?? null,
      signal: how.signal ?? null,
      adopted: w.adopted,
      killedBy: w.killedBy,
      durationMs: performance.now() - w.started,
      ...(how.spawnError === undefined ? {} : { spawnError: how.spawnError }),
    };
    this.events.push(event);
    this.listeners.call();
  }
}

/** One finding of `redisDoctor` (the shape of `windflow doctor`'s checks). */
export interface RedisFinding {
  name: string;
  status: "ok" | "warn" | "fail";
  detail: string;
  fix?: string;
}

/**
 * `windflow doctor` with `[core] executor = bullmq`: Redis answers, and is set up as BullMQ's production guide
 * asks (AOF on, so that queued tries survive a restart; `maxmemory-policy noeviction`, so that Redis never
 * drops a job's keys). Never throws.
 */
export async function redisDoctor(url: string, timeoutMs = 5000): Promise<RedisFinding[]> {
  const client = new Redis({
    ...connectionOptions(url),
    maxRetriesPerRequest: 0,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
  });
  let lastError: Error | undefined;
  client.on("error", (e: Error) => {
    lastError = e;
  });
  const where = redactUrl(url);
  try {
    await client.connect();
    const setting = async (name: string) => ((await client.config("GET", name)) as string[])[1] ?? "";
    const aof = await setting("appendonly");
    const policy = await setting("maxmemory-policy");
    return [
      { name: "Redis", status: "ok", detail: `${where} answers` },
      aof === "yes"
        ? { name: "Redis appendonly", status: "ok", detail: "yes" }
        : {
            name: "Redis appendonly",
            status: "warn",
            detail: `${aof || "unknown"}: queued tries are lost if Redis restarts`,
            fix: "set `appendonly yes` in redis.conf (or `redis-cli CONFIG SET appendonly yes` and `CONFIG REWRITE`)",
          },
      policy === "noeviction"
        ? { name: "Redis maxmemory-policy", status: "ok", detail: "noeviction" }
        : {
            name: "Redis maxmemory-policy",
            status: "warn",
            detail: `${policy || "unknown"}: Redis may evict the queue's keys when memory is full`,
            fix: "set `maxmemory-policy noeviction` in redis.conf (BullMQ's production guide)",
          },
    ];
  } catch (error) {
    return [
      {
        name: "Redis",
        status: "fail",
        detail: `${where}: ${(lastError ?? (error as Error)).message}`,
        fix: "start Redis there, or set [bullmq] redis_url; `windflow worker` and the scheduler need it",
      },
    ];
  } finally {
    client.disconnect();
  }
}
