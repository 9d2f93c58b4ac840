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
 * Two modes (`[bullmq] shared_home`, see the ADR):
 * - **shared home** (true, the default): the executor never records a try's state: the worker's try process
 *   records it in the store, which is shared (the same SQLite file and log folder at the same paths on every
 *   host), and appends its log to the try's log file.
 * - **store-free** (false): workers need only the data root. The job carries what the try needs (run id,
 *   dates, conf, try number, max tries, upstream return values, the DAG file: `ExternalTryInput`); the worker
 *   runs it with `windflow tasks external`'s program and relays, through a Redis stream per job (`tryStreamKey`),
 *   a `start` entry then the log lines. The executor reads the streams (XREAD, one blocking connection):
 *   on `start` it claims the try in the store (`claimTry`, the compare-and-set `queued -> running`, with the
 *   worker's pid and host) and answers the worker (`claimAnswerKey`: only then does the try run; a job
 *   delivered again finds its try claimed and runs nothing); it appends each log line to the try's log file as
 *   it arrives (the UI follows it as for a local try); at the job's end it records the outcome the try reported
 *   (`recordTryEnd`, as `windflow tasks run` records it), then emits the event. A try claimed whose job ended
 *   without a report (its worker killed -9) is left running with the worker's pid: the event carries that pid,
 *   and the scheduler ends the try as lost (retried per the task's retries).
 */
import { randomUUID } from "node:crypto";
import { type Job, Queue, QueueEvents } from "bullmq";
import { Redis, type RedisOptions } from "ioredis";
import type { WindflowConfig } from "../../config.js";
import { openStore } from "../store/index.js";
import type { MetadataStore, TaskInstanceKey } from "../store/store.js";
import type { Json, JsonObject } from "../types.js";
import {
  type AdoptVerdict,
  type ExecutorEvent,
  Listeners,
  type StartedTask,
  type TaskExecutor,
  type TryToAdopt,
  type TryToStart,
} from "./executor.js";
import { type ClaimedTry, claimTry, recordTryEnd, storedRetryDelayMs } from "./run-task.js";
import { type LogSource, TaskLog, taskLogPath } from "./task-log.js";
import { errorInfo, type TryReport } from "./try-runner.js";

/** A try's job: what the worker needs to run it. */
export interface TryJobData extends TaskInstanceKey {
  /** The try to run (the task instance's `tryNumber + 1` when it was queued). */
  readonly tryNumber: number;
  /** Store-free (`[bullmq] shared_home = false`): what the try needs, read from the store by the executor. */
  readonly external?: ExternalTryInput;
}

/** What a store-free try needs (the arguments of `windflow tasks external`). */
export interface ExternalTryInput {
  readonly logicalDate: string;
  readonly dataIntervalStart: string;
  readonly dataIntervalEnd: string;
  readonly maxTries: number;
  readonly conf: JsonObject;
  /** Return values of the run's tasks that returned one, by task id. */
  readonly xcoms: Record<string, Json>;
  /** The DAG file, as the scheduler's DAG processor recorded it (under the shared data root). */
  readonly file: string;
}

/** An entry of a store-free try's stream (`tryStreamKey`), written by the worker. */
export type TryStreamEntry =
  | { readonly type: "start"; readonly token: string; readonly pid: number; readonly hostname: string }
  | { readonly type: "log"; readonly at: string; readonly source: LogSource; readonly text: string };

/** Entries a try's stream keeps at most (XADD MAXLEN ~): the executor reads them as they come. */
export const TRY_STREAM_MAXLEN = 10_000;

/** A try's job's return value: how its process ended on the worker. */
export interface TryJobResult {
  readonly pid: number | null;
  readonly hostname: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Why nothing was started (cancelled before it was taken, the process could not start, not claimed). */
  readonly notStarted?: string;
  /** Store-free: the outcome the try reported (absent if it ended without one: killed, crashed). */
  readonly report?: TryReport;
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

/** The Redis stream of a store-free try's job: its `start` entry, then its log lines (`TryStreamEntry`). */
export function tryStreamKey(queue: string, jobId: string): string {
  return `windflow:${queue}:try:${jobId}`;
}

/** Where the executor answers a worker's `start` (a list: `ok`, or `refused: why`); one per delivery. */
export function claimAnswerKey(queue: string, jobId: string, token: string): string {
  return `windflow:${queue}:claim:${jobId}:${token}`;
}

/** The last stream entry appended to the try's log (an adopting executor reads on from there). */
function logPosKey(queue: string, jobId: string): string {
  return `windflow:${queue}:logpos:${jobId}`;
}

/** The Redis key where the scheduler publishes its shared paths for workers to compare (`checkSharedPaths`). */
export function setupKey(queue: string): string {
  return `windflow:${queue}:setup`;
}

/**
 * The settings a worker must share with the scheduler: the data root and the DAG folder, whether the home is
 * shared, and with a shared home, the store and the log folder.
 */
export function sharedPaths(config: WindflowConfig): Record<string, string> {
  return {
    "[bullmq] data_root": config.bullmq.data_root,
    "[core] dags_folder": config.core.dags_folder,
    "[bullmq] shared_home": String(config.bullmq.shared_home),
    ...(config.bullmq.shared_home
      ? {
          "[database] path": config.database.path,
          "[logging] base_log_folder": config.logging.base_log_folder,
        }
      : {}),
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
  /**
   * What the scheduler should say about the queue: tries waiting with no `windflow worker` connected for
   * `noWorkerNoticeMs`, then a worker back. @default ignored
   */
  onNotice?: (line: string) => void;
  /** How long tries wait with no worker connected before `onNotice` says so. @default 10000 */
  noWorkerNoticeMs?: number;
  /** Store-free mode: the store where tries are claimed and recorded. @default openStore(config), closed with the executor */
  store?: MetadataStore;
  /** Store-free mode: the clock of the records. @default () => new Date() */
  now?: () => Date;
}

interface Watched {
  readonly key: TaskInstanceKey;
  readonly jobId: string;
  readonly started: number;
  readonly adopted: boolean;
  killedBy: "kill" | null;
  /** The job's add (a kill's cancel flag is set after it: the add may clear an old flag of the same id). */
  enqueued?: Promise<unknown>;
  /** Store-free: the try's stream, the last entry applied, the claim (once the worker said it started). */
  stream?: string;
  lastId?: string;
  claimed?: ClaimedTry;
  /** Store-free: the job ended; its stream is drained and its outcome recorded (once). */
  ending?: boolean;
}

/** Whether stream entry id `a` comes after `b` (`ms-seq`). */
function idAfter(a: string, b: string): boolean {
  const [am = 0, as = 0] = a.split("-").map(Number);
  const [bm = 0, bs = 0] = b.split("-").map(Number);
  return am > bm || (am === bm && as > bs);
}

/** The entries of an XREAD/XRANGE reply as `TryStreamEntry`s (those that do not parse are skipped). */
function parseEntries(raw: [string, string[]][]): [string, TryStreamEntry][] {
  const out: [string, TryStreamEntry][] = [];
  for (const [id, fields] of raw) {
    const data = fields[fields.indexOf("data") + 1];
    try {
      if (data !== undefined) out.push([id, JSON.parse(data) as TryStreamEntry]);
    } catch {
      // Not ours.
    }
  }
  return out;
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
  private readonly onNotice: (line: string) => void;
  private readonly noWorkerNoticeMs: number;
  /** Since when tries wait with no worker connected (performance.now()), and whether that was said. */
  private workerless: { since: number; said: boolean } | null = null;
  /** Store-free mode (`[bullmq] shared_home = false`): the store, the stream reader and its wake-up stream. */
  private readonly storeFree: boolean;
  private storeOf: MetadataStore | undefined;
  private readonly ownsStore: boolean;
  private readonly now: () => Date;
  private reader: Redis | undefined;
  private readonly wakeKey: string;
  private wakeId = "0-0";
  private reading: Promise<void> | undefined;
  private readonly byStream = new Map<string, Watched>();
  /** Store-free adoption: the finished job of a running try not live in the queue (looked up once). */
  private readonly finishedJobs = new Map<string, string | null>();

  constructor(options: BullmqExecutorOptions) {
    this.config = options.config;
    const { redis_url: url, queue } = options.config.bullmq;
    this.queueName = queue;
    this.description = `bullmq (queue ${queue} on ${redactUrl(url)})`;
    this.onError = options.onError ?? (() => {});
    this.onNotice = options.onNotice ?? (() => {});
    this.noWorkerNoticeMs = options.noWorkerNoticeMs ?? 10_000;
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
    this.storeFree = !options.config.bullmq.shared_home;
    this.storeOf = options.store;
    this.ownsStore = options.store === undefined;
    this.now = options.now ?? (() => new Date());
    this.wakeKey = `windflow:${queue}:wake:${randomUUID()}`;
    this.timer = setInterval(() => void this.check(), options.checkIntervalMs ?? 2000);
    this.timer.unref();
    void this.check();
  }

  /** Store-free mode: the store (opened on first use). */
  private get store(): MetadataStore {
    this.storeOf ??= openStore(this.config);
    return this.storeOf;
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
    const data: TryJobData = {
      ...key,
      tryNumber,
      ...(this.storeFree ? { external: this.externalInput(key) } : {}),
    };
    const w: Watched = { key, jobId, started: performance.now(), adopted: false, killedBy: null };
    this.watch(w);
    w.enqueued = this.enqueue(jobId, data).catch((error: Error) =>
      this.ended(w, { spawnError: `could not queue the try's job: ${error.message}` }),
    );
    this.track(w.enqueued);
    return { ...key, pid: null, logPath: taskLogPath(this.config.logging.base_log_folder, key, tryNumber) };
  }

  /** Store-free: what the try needs, from the store (the arguments of `windflow tasks external`). */
  private externalInput(key: TaskInstanceKey): ExternalTryInput {
    const where = `${key.dagId}/${key.runId}/${key.taskId}`;
    const ti = this.store.getTaskInstance(key);
    const run = this.store.getRun(key);
    const dag = this.store.getDag(key.dagId);
    if (!ti || !run || !dag) throw new Error(`BullmqExecutor: ${where}: no such task instance, run or DAG`);
    return {
      logicalDate: run.logicalDate.toISOString(),
      dataIntervalStart: run.dataInterval.start.toISOString(),
      dataIntervalEnd: run.dataInterval.end.toISOString(),
      maxTries: ti.maxTries,
      conf: run.conf,
      xcoms: this.store.xcoms(key),
      file: dag.fileloc,
    };
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
      await this.connection.del(cancelKey(this.queueName, jobId), tryStreamKey(this.queueName, jobId));
    }
    await this.queue.add("try", data, {
      jobId,
      attempts: 1,
      removeOnComplete: KEEP_COMPLETED,
      removeOnFail: KEEP_FAILED,
    });
  }

  /**
   * A running try of a dead scheduler: adopted if a live job of it is in the queue (see the module comment).
   * Store-free, a try whose job has finished meanwhile is adopted too (its outcome is in the job: recorded at
   * the next check); that lookup is a round trip: `elsewhere` until it is answered.
   */
  adopt(ti: TryToAdopt): AdoptVerdict {
    if (this.has(ti)) return "adopted";
    if (this.live === null) return "elsewhere";
    const key: TaskInstanceKey = { dagId: ti.dagId, runId: ti.runId, taskId: ti.taskId };
    let jobId = this.live.get(keyOf(ti));
    let claimed: ClaimedTry | undefined;
    if (this.storeFree) {
      const record = this.store.getTaskInstance(key);
      if (record?.state !== "running") return "lost";
      const own = tryJobId(key, record.tryNumber);
      if (jobId !== own) jobId = undefined; // a job of another try: not this one's runner
      if (jobId === undefined) {
        const found = this.finishedJobs.get(own);
        if (found === undefined) {
          this.finishedJobs.set(own, null);
          this.track(
            this.queue.getJobState(own).then(
              (state) => {
                this.finishedJobs.set(own, state === "completed" || state === "failed" ? own : "");
              },
              () => this.finishedJobs.delete(own),
            ),
          );
          return "elsewhere";
        }
        if (found === null) return "elsewhere";
        this.finishedJobs.delete(own);
        if (found === "") return "lost";
        jobId = found;
      }
      claimed = this.resumeClaim(key, record.tryNumber, record.maxTries, record);
      if (!claimed) return "lost";
    }
    if (jobId === undefined) return "lost";
    const w: Watched = { key, jobId, started: performance.now(), adopted: true, killedBy: null };
    if (claimed) w.claimed = claimed;
    this.watch(w);
    return "adopted";
  }

  /** Store-free adoption: the claim another executor made, as `claimTry` returned it (its log opened again). */
  private resumeClaim(
    key: TaskInstanceKey,
    tryNumber: number,
    maxTries: number,
    ti: { pid: number | null; hostname: string | null; logPath: string | null },
  ): ClaimedTry | undefined {
    const run = this.store.getRun(key);
    const dag = this.store.getDag(key.dagId);
    if (!run || !dag) return undefined;
    const logPath = ti.logPath ?? taskLogPath(this.config.logging.base_log_folder, key, tryNumber);
    const log = new TaskLog(logPath, this.now, { maxBytes: this.config.logging.max_bytes_per_try });
    return {
      ...key,
      tryNumber,
      maxTries,
      run,
      dag,
      logPath,
      log,
      pid: ti.pid ?? 0,
      hostname: ti.hostname ?? "",
    };
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
    for (const w of this.watched.values()) w.claimed?.log.close();
    this.watched.clear();
    this.byJob.clear();
    this.byStream.clear();
    this.events.length = 0;
    this.reader?.disconnect();
    this.closing = Promise.allSettled([...cancels, ...this.pending, this.reading]).then(async () => {
      await Promise.allSettled([this.queueEvents.close(), this.queue.close()]);
      if (this.reader) await this.connection.del(this.wakeKey).catch(() => {});
      this.connection.disconnect();
      if (this.ownsStore) this.storeOf?.close();
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
    if (!this.storeFree) return;
    w.stream = tryStreamKey(this.queueName, w.jobId);
    this.byStream.set(w.stream, w);
    if (w.adopted) {
      // Read on from where the previous executor stopped appending (else from the start).
      this.track(
        this.connection.get(logPosKey(this.queueName, w.jobId)).then(
          (pos) => {
            w.lastId ??= pos ?? "0-0";
            this.wakeReader();
          },
          (e) => this.onError(e),
        ),
      );
    } else {
      w.lastId = "0-0";
      this.wakeReader();
    }
  }

  /** Store-free: (re)starts the stream reader, and cuts its current wait short so that it reads the new stream. */
  private wakeReader(): void {
    if (this.closed) return;
    this.reading ??= this.readLoop().finally(() => {
      this.reading = undefined;
      // A stream watched after the loop's last look: read on.
      if (this.byStream.size > 0 && !this.closed) this.wakeReader();
    });
    this.track(
      this.connection
        .xadd(this.wakeKey, "MAXLEN", "~", "100", "*", "data", "wake")
        .catch((e) => this.onError(e)),
    );
  }

  /** Store-free: reads the watched tries' streams (XREAD, blocking up to 1 s) while some are watched. */
  private async readLoop(): Promise<void> {
    if (!this.reader) {
      this.reader = redisConnection(this.config.bullmq.redis_url);
      this.reader.on("error", (e) => this.onError(e));
    }
    while (!this.closed) {
      const streams = [...this.byStream.values()].filter((w) => w.lastId !== undefined);
      if (streams.length === 0 && this.byStream.size === 0) break;
      try {
        const reply = (await this.reader.xread(
          "COUNT",
          1000,
          "BLOCK",
          1000,
          "STREAMS",
          this.wakeKey,
          ...streams.map((w) => w.stream as string),
          this.wakeId,
          ...streams.map((w) => w.lastId as string),
        )) as [string, [string, string[]][]][] | null;
        for (const [stream, raw] of reply ?? []) {
          if (stream === this.wakeKey) {
            const last = raw[raw.length - 1];
            if (last) this.wakeId = last[0];
            continue;
          }
          const w = this.byStream.get(stream);
          if (w) this.apply(w, parseEntries(raw));
        }
      } catch (error) {
        if (this.closed) break;
        this.onError(error as Error);
        await new Promise((r) => setTimeout(r, 500)); // Redis away: ioredis reconnects
      }
    }
  }

  /** Store-free: applies a try's stream entries newer than the last applied (claim, log lines). */
  private apply(w: Watched, entries: [string, TryStreamEntry][]): void {
    let applied = false;
    for (const [id, entry] of entries) {
      if (w.lastId !== undefined && !idAfter(id, w.lastId)) continue;
      w.lastId = id;
      applied = true;
      if (entry.type === "start") this.claim(w, entry);
      else if (entry.type === "log" && w.claimed) {
        const at = new Date(entry.at);
        w.claimed.log.write(entry.source, entry.text, Number.isNaN(at.getTime()) ? undefined : at);
      }
    }
    if (applied && w.lastId !== undefined && this.byStream.get(w.stream as string) === w)
      this.track(
        this.connection
          .set(logPosKey(this.queueName, w.jobId), w.lastId, "EX", 24 * 3600)
          .catch((e) => this.onError(e)),
      );
  }

  /**
   * Store-free: a worker says it took the try's job: claims the try (`claimTry`, compare-and-set
   * `queued -> running`, for the job's try number) and answers it. A delivery after the claim (the job
   * handed to another worker: BullMQ's stalled-job check) is refused: it runs nothing.
   */
  private claim(w: Watched, start: Extract<TryStreamEntry, { type: "start" }>): void {
    let answer = "ok";
    if (w.claimed) answer = "refused: the try was claimed by an earlier delivery of its job";
    else
      try {
        const tryNumber = Number(w.jobId.slice(w.jobId.lastIndexOf("~") + 1));
        w.claimed = claimTry(this.store, w.key, {
          config: this.config,
          pid: start.pid,
          hostname: start.hostname,
          now: this.now,
          expectTry: tryNumber,
        });
      } catch (error) {
        answer = `refused: ${errorInfo(error).message}`;
      }
    const key = claimAnswerKey(this.queueName, w.jobId, start.token);
    this.track(
      this.connection
        .multi()
        .lpush(key, answer)
        .expire(key, 3600)
        .exec()
        .catch((e) => this.onError(e)),
    );
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
    if (this.storeFree) {
      if (w.ending) return;
      w.ending = true;
      this.track(this.finishStoreFree(w, result, failedReason));
      return;
    }
    this.ended(w, {
      pid: result.pid ?? null,
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      ...(failedReason !== null ? { failed: failedReason } : {}),
    });
  }

  /**
   * Store-free: the try's job ended: the rest of its stream is applied, the outcome it reported recorded
   * (`recordTryEnd`), its keys removed, then the event emitted. Without a report (its worker killed -9, the
   * try's process crashed) the try is left running: the event carries the claim's pid, and the scheduler ends
   * the try as lost.
   */
  private async finishStoreFree(
    w: Watched,
    result: Partial<TryJobResult>,
    failedReason: string | null,
  ): Promise<void> {
    const stream = w.stream as string;
    for (;;) {
      try {
        // Adopted: read on from where the previous executor stopped appending, as the reader does.
        if (w.lastId === undefined)
          w.lastId = (await this.connection.get(logPosKey(this.queueName, w.jobId))) ?? "0-0";
        const raw = (await this.connection.xrange(stream, "-", "+")) as [string, string[]][];
        this.apply(w, parseEntries(raw));
        break;
      } catch (error) {
        if (this.closed) return;
        this.onError(error as Error);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    if (this.closed || this.watched.get(keyOf(w.key)) !== w) return;
    const claimed = w.claimed;
    if (claimed) {
      try {
        if (result.report)
          recordTryEnd(this.store, claimed, result.report, {
            now: this.now,
            retryDelayMs: storedRetryDelayMs(claimed.dag, claimed.taskId),
          });
        else
          claimed.log.write(
            "windflow",
            `the try's worker ${claimed.hostname} (pid ${claimed.pid}) reported no outcome: ${
              result.notStarted ??
              failedReason ??
              `its process ended with ${result.signal ?? `exit code ${result.exitCode ?? "unknown"}`}`
            }`,
          );
      } catch (error) {
        this.onError(error as Error);
      } finally {
        claimed.log.close();
      }
    }
    this.byStream.delete(stream);
    this.track(this.connection.del(stream, logPosKey(this.queueName, w.jobId)).catch((e) => this.onError(e)));
    this.ended(w, {
      pid: claimed ? claimed.pid : null,
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      ...(failedReason !== null ? { failed: failedReason } : {}),
      // Claimed, but its process could not start (a program missing, E2BIG...): the scheduler's log says why.
      ...(claimed && !result.report && result.notStarted ? { spawnError: result.notStarted } : {}),
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
      // Nothing in the queue (the idle case): no try can wait for a worker, no count to ask Redis for.
      if (jobs.length > 0 || this.workerless) await this.checkWorkers();
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

  /**
   * Tries that wait while no worker is connected to the queue would wait silently forever (as Airflow's queued
   * tasks do with no Celery worker): after `noWorkerNoticeMs` of that, one line says so and what to start; one
   * more when a worker is back. Workers are counted by BullMQ (the named connections of the queue's workers).
   */
  private async checkWorkers(): Promise<void> {
    const counts = await this.queue.getJobCounts("waiting", "prioritized");
    const waiting = (counts.waiting ?? 0) + (counts.prioritized ?? 0);
    const workers = waiting > 0 || this.workerless?.said ? await this.queue.getWorkersCount() : null;
    if (waiting > 0 && workers === 0) {
      this.workerless ??= { since: performance.now(), said: false };
      if (!this.workerless.said && performance.now() - this.workerless.since >= this.noWorkerNoticeMs) {
        this.workerless.said = true;
        this.onNotice(
          `no windflow worker is connected to queue ${this.queueName} on ${redactUrl(this.config.bullmq.redis_url)}: ` +
            `${waiting} ${waiting === 1 ? "try waits" : "tries wait"} for one. Start one with \`windflow worker\` ` +
            "on a host that sees the data root (README: the distributed set-up)",
        );
      }
    } else if (this.workerless) {
      if (this.workerless.said && workers !== null && workers > 0)
        this.onNotice(
          `${workers} windflow worker${workers === 1 ? " is" : "s are"} connected to queue ${this.queueName}: the waiting tries go on`,
        );
      this.workerless = null;
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
    if (w.stream) this.byStream.delete(w.stream);
    if (!w.ending) w.claimed?.log.close();
    const event: ExecutorEvent = {
      ...w.key,
      // Store-free: the claim's pid (the worker's), which the scheduler compares with the running try's.
      pid: how.pid ?? w.claimed?.pid ?? null,
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
 * drops a job's keys); with `queue`, how many `windflow worker`s are connected to it (none: tries would wait).
 * Never throws.
 */
export async function redisDoctor(url: string, timeoutMs = 5000, queue?: string): Promise<RedisFinding[]> {
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
    const workers: RedisFinding[] = [];
    if (queue !== undefined) {
      const q = new Queue(queue, { connection: client });
      try {
        const n = await q.getWorkersCount();
        workers.push(
          n > 0
            ? { name: "windflow workers", status: "ok", detail: `${n} connected to queue ${queue}` }
            : {
                name: "windflow workers",
                status: "warn",
                detail: `none connected to queue ${queue}: triggered tries will wait`,
                fix: "start `windflow worker` on a host that sees the data root (README: the distributed set-up)",
              },
        );
      } finally {
        await q.close();
      }
    }
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
      ...workers,
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
