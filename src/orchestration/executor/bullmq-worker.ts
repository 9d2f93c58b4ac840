/**
 * `windflow worker`: takes try jobs from `[bullmq] queue` (put there by the scheduler's `BullmqExecutor`) and
 * runs each as the local executor does: a process of its own running `windflow tasks run DAG TASK RUN` (the
 * same try runner), in its own process group, its output appended to the try's log file under the shared
 * `[bullmq] data_root` (the UI follows it live as for local tries). At most `[bullmq] concurrency` at once.
 *
 * - **Exactly once.** The try process claims the task instance in the store (`queued -> running`) and only
 *   for the try the job names (`WINDFLOW_EXPECT_TRY`): a job delivered twice (BullMQ's stalled-job check
 *   hands a job whose worker stopped renewing its lock to another worker) runs nothing the second time.
 * - **A worker killed -9** leaves its try processes without their parent: each watches its stdin, a pipe
 *   from the worker, and stops its try when it closes (`WINDFLOW_STOP_WITH_PARENT`): the try records a
 *   retryable `TaskKilledError`, the scheduler retries it per the task's retries, on whichever worker is alive.
 * - **Kill.** The scheduler sets the try's cancel flag in Redis; the worker polls it every
 *   `cancelPollMs`: SIGTERM to the try's process group, SIGKILL after `[core] killed_task_cleanup_time` + 1 s.
 * - **SIGTERM / SIGINT** (`stop`): takes no new job and waits for the running tries to end (BullMQ's
 *   `Worker.close`); the job returns how its process ended, which the scheduler's executor reports.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { hostname as osHostname } from "node:os";
import { dirname } from "node:path";
import { type Job, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { WindflowConfig } from "../../config.js";
import { WindflowError } from "../../errors.js";
import {
  cancelKey,
  connectionOptions,
  redactUrl,
  redisConnection,
  setupKey,
  sharedPaths,
  type TryJobData,
  type TryJobResult,
} from "./bullmq.js";
import { defaultTaskCommand } from "./local.js";
import { taskLogPath } from "./task-log.js";

/** The worker cannot run tries here (paths differ from the scheduler's, the store is missing). */
export class WorkerSetupError extends WindflowError {}

/** Options of `startWorker`. */
export interface WorkerOptions {
  config: WindflowConfig;
  /** @default config.bullmq.concurrency */
  concurrency?: number;
  /** The program that runs one try, before its `DAG TASK RUN_ID` arguments. @default `defaultTaskCommand()` */
  command?: readonly string[];
  /** How often the cancel flags of running tries are read. @default 500 */
  cancelPollMs?: number;
  /** Where the worker says what it does. @default stderr */
  log?: (line: string) => void;
  /** @default os.hostname() */
  hostname?: string;
}

/** A running worker. */
export interface RunningWorker {
  /** Tries running now. */
  readonly running: number;
  /** Takes no new try, waits for the running ones to end, closes the connections. */
  stop(): Promise<void>;
  /** Ends the worker's connections at once (the tries' processes notice and stop): tests of a killed worker. */
  readonly worker: Worker;
}

/**
 * Compares this worker's shared paths with those the scheduler published, and checks that the store and the
 * DAG folder exist here: the worker runs tries against the same files, or not at all.
 */
export async function checkSharedPaths(config: WindflowConfig, connection: Redis): Promise<string[]> {
  const notes: string[] = [];
  const mine = sharedPaths(config);
  const published = await connection.get(setupKey(config.bullmq.queue));
  if (published === null) notes.push("no scheduler has published its paths on this queue yet: not compared");
  else {
    const theirs = JSON.parse(published) as Record<string, string>;
    const differ = Object.entries(mine).filter(([k, v]) => theirs[k] !== undefined && theirs[k] !== v);
    if (differ.length > 0)
      throw new WorkerSetupError(
        `this worker's paths differ from the scheduler's: ${differ
          .map(([k, v]) => `${k} is ${v} here, ${theirs[k]} on the scheduler`)
          .join("; ")}`,
        {
          hint: "workers need the same files at the same paths (a shared file system mounted at the same place): set [bullmq] data_root and WINDFLOW_HOME as the scheduler does",
        },
      );
  }
  for (const [k, path] of Object.entries(mine))
    if (k !== "[logging] base_log_folder" && !existsSync(path))
      throw new WorkerSetupError(`${k} ${path} does not exist on this host`, {
        hint: "mount the shared data root here at the scheduler's path, or run `windflow db init` where the scheduler runs",
      });
  return notes;
}

/** Starts a worker on `[bullmq] queue` (see the module comment). */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { config } = options;
  const say = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const host = options.hostname ?? osHostname();
  const command = options.command ?? defaultTaskCommand();
  const pollMs = options.cancelPollMs ?? 500;
  const connection = redisConnection(config.bullmq.redis_url);
  connection.on("error", (e) => say(`redis: ${e.message}`));
  try {
    for (const note of await checkSharedPaths(config, connection)) say(note);
  } catch (error) {
    connection.disconnect();
    throw error;
  }
  const children = new Set<ChildProcess>();
  const processor = async (job: Job<TryJobData>): Promise<TryJobResult> => {
    const { dagId, runId, taskId, tryNumber } = job.data;
    const flag = cancelKey(config.bullmq.queue, job.id ?? "");
    if ((await connection.exists(flag)) > 0)
      return {
        pid: null,
        hostname: host,
        exitCode: null,
        signal: null,
        notStarted: "cancelled before it started",
      };
    const logPath = taskLogPath(config.logging.base_log_folder, { dagId, runId, taskId }, tryNumber);
    mkdirSync(dirname(logPath), { recursive: true });
    const fd = openSync(logPath, "a");
    let child: ChildProcess;
    try {
      const [program, ...args] = command;
      child = spawn(program as string, [...args, dagId, taskId, runId], {
        cwd: config.bullmq.data_root,
        env: {
          ...config.env,
          WINDFLOW_HOME: config.home,
          WINDFLOW_EXPECT_TRY: String(tryNumber),
          WINDFLOW_STOP_WITH_PARENT: "1",
        },
        detached: true,
        stdio: ["pipe", fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    children.add(child);
    say(`try ${tryNumber} of ${dagId}/${taskId} (run ${runId}): process ${child.pid ?? "?"}`);
    const signalGroup = (signal: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // Gone.
      }
    };
    let killTimer: NodeJS.Timeout | undefined;
    const poller = setInterval(() => {
      connection.exists(flag).then(
        (n) => {
          if (n > 0 && killTimer === undefined) {
            say(`try ${tryNumber} of ${dagId}/${taskId}: cancelled by the scheduler: stopping it`);
            signalGroup("SIGTERM");
            killTimer = setTimeout(() => signalGroup("SIGKILL"), config.core.killed_task_cleanup_time + 1000);
          }
        },
        () => {}, // Redis away: read again at the next tick.
      );
    }, pollMs);
    try {
      return await new Promise<TryJobResult>((resolve) => {
        child.once("error", (error) => {
          if (child.pid === undefined)
            resolve({ pid: null, hostname: host, exitCode: null, signal: null, notStarted: error.message });
        });
        child.once("exit", (code, signal) =>
          resolve({ pid: child.pid ?? null, hostname: host, exitCode: code, signal }),
        );
      });
    } finally {
      clearInterval(poller);
      if (killTimer) clearTimeout(killTimer);
      children.delete(child);
      say(
        `try ${tryNumber} of ${dagId}/${taskId}: process ${child.pid ?? "?"} ended (exit ${child.exitCode ?? child.signalCode})`,
      );
    }
  };
  const worker = new Worker<TryJobData, TryJobResult>(config.bullmq.queue, processor, {
    connection: connectionOptions(config.bullmq.redis_url),
    concurrency: options.concurrency ?? config.bullmq.concurrency,
    lockDuration: config.bullmq.lock_duration,
    stalledInterval: Math.max(1000, Math.floor(config.bullmq.lock_duration / 2)),
    maxStalledCount: 1,
    removeOnComplete: { age: 24 * 3600, count: 1000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
  });
  worker.on("error", (e) => say(`worker: ${e.message}`));
  await worker.waitUntilReady();
  say(
    `windflow worker on ${host}: queue ${config.bullmq.queue} on ${redactUrl(config.bullmq.redis_url)}, ` +
      `${options.concurrency ?? config.bullmq.concurrency} at once, data root ${config.bullmq.data_root}`,
  );
  let stopping: Promise<void> | undefined;
  return {
    get running() {
      return children.size;
    },
    worker,
    stop() {
      stopping ??= (async () => {
        say(`stopping: waiting for ${children.size} running ${children.size === 1 ? "try" : "tries"} to end`);
        await worker.close();
        connection.disconnect();
      })();
      return stopping;
    },
  };
}

/** `windflow worker`: runs until SIGTERM/SIGINT, then stops gracefully; returns the exit code. */
export async function workerMain(
  config: WindflowConfig,
  options: { concurrency?: number } = {},
): Promise<number> {
  const w = await startWorker({ config, ...options });
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
  await w.stop();
  return 0;
}
