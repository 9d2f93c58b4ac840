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
 *   A try stuck in synchronous code cannot see its stdin close: a watchdog thread kills its process once the
 *   worker has been gone for `[core] killed_task_cleanup_time` + 1 s (stop-with-parent.ts).
 * - **Kill.** The scheduler sets the try's cancel flag in Redis; the worker polls it every
 *   `cancelPollMs`: SIGTERM to the try's process group, SIGKILL after `[core] killed_task_cleanup_time` + 1 s.
 * - **SIGTERM / SIGINT** (`stop`): takes no new job and waits for the running tries to end (BullMQ's
 *   `Worker.close`); the job returns how its process ended, which the scheduler's executor reports.
 * - **Store-free** (`[bullmq] shared_home = false`: the job carries `external`): the worker needs only the
 *   data root, never the home. It writes a `start` entry to the try's stream and waits for the executor's
 *   answer (the claim in the scheduler's store: a job delivered again after its try was claimed is refused
 *   and runs nothing), then runs the try with `windflow tasks external`'s program (`external-try.ts`: no
 *   store; the inputs as arguments), relays its output to the stream line by line (stdout, stderr, and the
 *   `ctx.log` lines and outcome on a pipe of their own, fd 3), and returns the outcome it reported.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { hostname as osHostname } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { type Job, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { WindflowConfig } from "../../config.js";
import { WindflowError } from "../../errors.js";
import { makeSpillDir } from "../../util/atomic.js";
import { nodeEntryCommand } from "../../util/node-entry.js";
import { MAX_INLINE_JSON_ARG } from "../external-contract.js";
import {
  cancelKey,
  claimAnswerKey,
  connectionOptions,
  type ExternalTryInput,
  redactUrl,
  redisConnection,
  setupKey,
  sharedPaths,
  TRY_STREAM_MAXLEN,
  type TryJobData,
  type TryJobResult,
  type TryStreamEntry,
  tryStreamKey,
} from "./bullmq.js";
import { TaskKilledError } from "./errors.js";
import { defaultTaskCommand } from "./local.js";
import type { LogSource } from "./task-log.js";
import { taskLogPath } from "./task-log.js";
import { errorInfo, type TryReport } from "./try-runner.js";

/** The worker cannot run tries here (paths differ from the scheduler's, the store is missing). */
export class WorkerSetupError extends WindflowError {}

/** Options of `startWorker`. */
export interface WorkerOptions {
  config: WindflowConfig;
  /** @default config.bullmq.concurrency */
  concurrency?: number;
  /** The program that runs one try, before its `DAG TASK RUN_ID` arguments. @default `defaultTaskCommand()` */
  command?: readonly string[];
  /** Store-free tries: the program, before its `DAG TASK --run-id ...` arguments. @default `externalTryCommand()` */
  externalCommand?: readonly string[];
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

/** The program of a store-free try: this Node on `external-try` (through tsx when running from the sources). */
export function externalTryCommand(): string[] {
  return nodeEntryCommand(__filename, "external-try");
}

/**
 * The arguments of `windflow tasks external` for a store-free try's job. A conf or upstream return values
 * larger than `MAX_INLINE_JSON_ARG` are written into the folder `spillDir()` gives (made on first call, by the
 * caller, which removes it after the try) and
 * passed as `@FILE`: as arguments they could pass the kernel's limit and the try would not start (E2BIG).
 */
export function externalTryArgs(
  data: TryJobData & { external: ExternalTryInput },
  spillDir?: () => string,
): string[] {
  const x = data.external;
  const json = (name: string, value: unknown) => {
    const text = JSON.stringify(value);
    if (spillDir === undefined || Buffer.byteLength(text) <= MAX_INLINE_JSON_ARG) return text;
    const file = join(spillDir(), `${name}.json`);
    writeFileSync(file, text, { mode: 0o600 });
    return `@${file}`;
  };
  return [
    data.dagId,
    data.taskId,
    "--run-id",
    data.runId,
    "--logical-date",
    x.logicalDate,
    "--data-interval-start",
    x.dataIntervalStart,
    "--data-interval-end",
    x.dataIntervalEnd,
    "--try",
    String(data.tryNumber),
    "--max-tries",
    String(x.maxTries),
    "--conf",
    json("conf", x.conf),
    "--xcom",
    json("xcom", x.xcoms),
    "--file",
    x.file,
  ];
}

/**
 * Compares this worker's shared settings with those the scheduler published, and checks that the shared paths
 * exist here (with a shared home, the store too): the worker runs tries against the same files, or not at all.
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
          hint: config.bullmq.shared_home
            ? "workers need the same files at the same paths (a shared file system mounted at the same place): set [bullmq] data_root and WINDFLOW_HOME as the scheduler does, or [bullmq] shared_home = false on both to share only the data root"
            : "workers need the data root and the DAG folder at the scheduler's paths: set [bullmq] data_root and [core] dags_folder (and [bullmq] shared_home) as the scheduler does",
        },
      );
  }
  for (const [k, path] of Object.entries(mine))
    if (k !== "[logging] base_log_folder" && k !== "[bullmq] shared_home" && !existsSync(path))
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
  const externalCommand = options.externalCommand ?? externalTryCommand();
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
    if (job.data.external)
      return runStoreFree(job as Job<TryJobData & { external: ExternalTryInput }>, {
        config,
        connection,
        host,
        command: externalCommand,
        pollMs,
        say,
        children,
      });
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
          WINDFLOW_PARENT_GONE_KILL_MS: String(config.core.killed_task_cleanup_time + 1000),
          WINDFLOW_PARENT_PID: String(process.pid),
        },
        detached: true,
        stdio: ["pipe", fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    children.add(child);
    say(`try ${tryNumber} of ${dagId}/${taskId} (run ${runId}): process ${child.pid ?? "?"}`);
    const cancel = watchCancel(child, {
      connection,
      flag,
      pollMs,
      graceMs: config.core.killed_task_cleanup_time + 1000,
      onCancel: () => say(`try ${tryNumber} of ${dagId}/${taskId}: cancelled by the scheduler: stopping it`),
    });
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
      cancel.stop();
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
      `${options.concurrency ?? config.bullmq.concurrency} at once, data root ${config.bullmq.data_root}` +
      (config.bullmq.shared_home ? "" : " (store-free: the home is not shared)"),
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

/**
 * Reads the try's cancel flag every `pollMs` while its process runs; once set: `onCancel`, SIGTERM to the
 * process group, SIGKILL `graceMs` later. `stop()` when the process has ended.
 */
function watchCancel(
  child: ChildProcess,
  o: { connection: Redis; flag: string; pollMs: number; graceMs: number; onCancel: () => void },
): { cancelled(): boolean; stop(): void } {
  let killTimer: NodeJS.Timeout | undefined;
  const poller = setInterval(() => {
    o.connection.exists(o.flag).then(
      (n) => {
        if (n > 0 && killTimer === undefined) {
          o.onCancel();
          signalGroup(child, "SIGTERM");
          killTimer = setTimeout(() => signalGroup(child, "SIGKILL"), o.graceMs);
        }
      },
      () => {}, // Redis away: read again at the next tick.
    );
  }, o.pollMs);
  return {
    cancelled: () => killTimer !== undefined,
    stop() {
      clearInterval(poller);
      if (killTimer) clearTimeout(killTimer);
    },
  };
}

/** The process group of `child`: signalled, if it still runs. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Gone.
  }
}

/**
 * A store-free try (see the module comment): the claim asked of the executor through the try's stream, then
 * the try in a process of its own running `external-try`, its output relayed line by line.
 */
async function runStoreFree(
  job: Job<TryJobData & { external: ExternalTryInput }>,
  ctx: {
    config: WindflowConfig;
    connection: Redis;
    host: string;
    command: readonly string[];
    pollMs: number;
    say: (line: string) => void;
    children: Set<ChildProcess>;
  },
): Promise<TryJobResult> {
  const { config, connection, host, say } = ctx;
  const { dagId, runId, taskId, tryNumber } = job.data;
  const queue = config.bullmq.queue;
  const jobId = job.id ?? "";
  const flag = cancelKey(queue, jobId);
  const stream = tryStreamKey(queue, jobId);
  const notStarted = (why: string): TryJobResult => ({
    pid: null,
    hostname: host,
    exitCode: null,
    signal: null,
    notStarted: why,
  });
  const xadd = (entry: TryStreamEntry) =>
    connection.xadd(stream, "MAXLEN", "~", String(TRY_STREAM_MAXLEN), "*", "data", JSON.stringify(entry));

  // 1. The claim: the executor answers on a list of this delivery's own.
  const token = randomUUID();
  await xadd({ type: "start", token, pid: process.pid, hostname: host });
  const answers = connection.duplicate();
  answers.on("error", () => {}); // the main connection reports Redis's errors
  let answer: string;
  try {
    for (;;) {
      const got = await answers.blpop(claimAnswerKey(queue, jobId, token), 1);
      if (got) {
        answer = got[1];
        break;
      }
      if ((await connection.exists(flag)) > 0) return notStarted("cancelled before it started");
    }
  } finally {
    answers.disconnect();
  }
  if (answer !== "ok") {
    say(`try ${tryNumber} of ${dagId}/${taskId} (run ${runId}): not run: ${answer}`);
    return notStarted(`not claimed: ${answer}`);
  }

  // 2. The try, its output relayed to the stream (in order, each line once).
  const [program, ...args] = ctx.command;
  // Made only for a try whose conf or upstream values are too large to pass as arguments (most never are).
  let spillDir: string | undefined;
  const spill = () => {
    spillDir ??= makeSpillDir();
    return spillDir;
  };
  const removeSpill = () => {
    if (spillDir !== undefined) rmSync(spillDir, { recursive: true, force: true });
  };
  let child: ChildProcess;
  try {
    child = spawn(program as string, [...args, ...externalTryArgs(job.data, spill)], {
      cwd: config.bullmq.data_root,
      env: {
        ...config.env,
        WINDFLOW_HOME: config.home,
        WINDFLOW_TRY_EVENTS_FD: "3",
        WINDFLOW_STOP_WITH_PARENT: "1",
        WINDFLOW_PARENT_GONE_KILL_MS: String(config.core.killed_task_cleanup_time + 1000),
        WINDFLOW_PARENT_PID: String(process.pid),
      },
      detached: true,
      stdio: ["pipe", "pipe", "pipe", "pipe"],
    });
  } catch (error) {
    removeSpill();
    return notStarted((error as Error).message);
  }
  const began = performance.now();
  ctx.children.add(child);
  say(`try ${tryNumber} of ${dagId}/${taskId} (run ${runId}): process ${child.pid ?? "?"} (store-free)`);
  const sent: Promise<unknown>[] = [];
  const relay = (source: LogSource, text: string) =>
    sent.push(xadd({ type: "log", at: new Date().toISOString(), source, text }).catch(() => {}));
  let report: TryReport | undefined;
  // stdout's last line is the return value (JSON): held back until the next line shows it was not the last.
  let heldOut: string | undefined;
  const lines = (stream: Readable | null | undefined, onLine: (line: string) => void) =>
    new Promise<void>((resolve) => {
      if (!stream) return resolve();
      const rl = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
      rl.on("line", onLine);
      rl.once("close", () => resolve());
    });
  const read = Promise.all([
    lines(child.stdout, (line) => {
      if (heldOut !== undefined) relay("stdout", heldOut);
      heldOut = line;
    }),
    lines(child.stderr, (line) => relay("stderr", line)),
    lines(child.stdio[3] as Readable | null, (line) => {
      try {
        const event = JSON.parse(line) as { log?: string; end?: TryReport };
        if (typeof event.log === "string") relay("task", event.log);
        else if (event.end) report = event.end;
      } catch {
        relay("stderr", line);
      }
    }),
  ]);
  const cancel = watchCancel(child, {
    connection,
    flag,
    pollMs: ctx.pollMs,
    graceMs: config.core.killed_task_cleanup_time + 1000,
    onCancel: () => say(`try ${tryNumber} of ${dagId}/${taskId}: cancelled by the scheduler: stopping it`),
  });
  try {
    const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | Error>(
      (resolve) => {
        child.once("error", (error) => {
          if (child.pid === undefined) resolve(error);
        });
        child.once("exit", (code, signal) => resolve({ code, signal }));
      },
    );
    if (ended instanceof Error) return notStarted(ended.message);
    await read;
    // Stopped on the scheduler's request before it could report (SIGTERM during its start): the try was
    // stopped, as a local try stopped by SIGTERM records it.
    if (!report && cancel.cancelled())
      report = {
        outcome: "failed",
        error: errorInfo(new TaskKilledError(dagId, taskId, "cancelled by the scheduler")),
        retryable: true,
        durationMs: performance.now() - began,
      };
    // The held-back line: the return value if the try succeeded, else output like any other.
    if (heldOut !== undefined && report?.outcome !== "success") relay("stdout", heldOut);
    await Promise.all(sent);
    return {
      pid: child.pid ?? null,
      hostname: host,
      exitCode: ended.code,
      signal: ended.signal,
      ...(report ? { report } : {}),
    };
  } finally {
    removeSpill();
    cancel.stop();
    ctx.children.delete(child);
    say(
      `try ${tryNumber} of ${dagId}/${taskId}: process ${child.pid ?? "?"} ended (exit ${child.exitCode ?? child.signalCode})`,
    );
  }
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
