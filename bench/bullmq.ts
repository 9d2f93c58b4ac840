/**
 * The BullMQ executor (docs/adr/0013-bullmq-executor.md) against the local one, through the real scheduler,
 * store and `windflow worker` processes, on a `redis-server` of its own (tests/helpers/redis.ts: 127.0.0.1, a
 * free port, AOF on, noeviction), every set-up in the same run so that the figures compare as ratios:
 * - **hand-off** on a chain of no-op tasks (50 by default): end of a task's try -> start of the next one's
 *   (`endedAt` -> `startedAt` in the store), on the local executor cold (a process per try), warm (the
 *   default `[scheduler] warm_task_processes`) and on BullMQ with one worker (a cold process per try, as the
 *   worker runs them), with a shared home and store-free (`[bullmq] shared_home = false`, the worker's home an empty folder of its
 *   own). Store-free, a try starts in the store when the worker asks for the claim (before its process starts)
 *   and ends when the scheduler records the outcome its job returned: its hand-off leaves the process start
 *   out and counts the relay; compare the chain's run time too;
 * - **throughput** of independent no-op tasks (200 by default) in one run, on BullMQ with 1, 2 and 4 workers
 *   (`[bullmq] concurrency` each, 2 by default; `[core] parallelism` 64): tasks per second from the trigger
 *   to the run's end, and the ratio to one worker.
 *
 *   node --import tsx bench/bullmq.ts [--tasks 50] [--independent 200] [--workers 1,2,4] [--concurrency 2]
 *                                     [--rounds 3]
 *
 * `--rounds N`: every set-up N times, interleaved (cold, warm, bullmq, cold, ...; 1, 2, 4 workers, 1, ...), so
 * that a change of the machine's load between set-ups weighs on each alike: on a loaded 2-core machine one round
 * gave a BullMQ hand-off 1.40x the cold local one and the next 0.65x. The hand-offs of all rounds are pooled
 * (median, p95); the throughput is the median of the rounds, its ratio the median of each round's ratio to that
 * round's one worker; each round's ratios are reported too.
 *
 * Runs from the build (dist/, `make build`), as `windflow scheduler` and `windflow worker` do. Prints a table on
 * stderr and one JSON line on stdout (what `bench/run.ts` reads).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../dist/config.js";
import { createLogger } from "../dist/orchestration/scheduler/log.js";
import { Scheduler } from "../dist/orchestration/scheduler/scheduler.js";
import { setDagPaused, triggerDag, wakeScheduler } from "../dist/orchestration/scheduler/trigger.js";
import { openStore } from "../dist/orchestration/store/index.js";
// The tests' redis-server (bench/trainee-walk.ts takes its browser from tests/helpers the same way).
import { type RedisServer, startRedis } from "../tests/helpers/redis.js";
import { noopDagText } from "./chain-dag.js";
import { argValue, DEFAULT_WARM, quantile, type Stats, stats, waitFor } from "./stats.js";

const root = join(__dirname, "..");
const chainTasks = Number.parseInt(argValue("--tasks", "50"), 10);
const independentTasks = Number.parseInt(argValue("--independent", "200"), 10);
const workerCounts = argValue("--workers", "1,2,4")
  .split(",")
  .map((n) => Number.parseInt(n, 10));
const concurrency = Number.parseInt(argValue("--concurrency", "2"), 10);
const rounds = Number.parseInt(argValue("--rounds", "3"), 10);
/** A run that takes longer is called hung (a guard, not a budget: the machine may be loaded far past its cores). */
const HANG_GUARD_MS = 900_000;

const until = <T>(what: string, fn: () => T | undefined, timeoutMs = HANG_GUARD_MS) =>
  waitFor(what, fn, timeoutMs);

/** One set-up: the local executor (cold, or `warm` warm processes), or BullMQ with `workers` workers. */
interface Setup {
  readonly executor: "local" | "bullmq";
  readonly warm?: number;
  readonly workers?: number;
  /** BullMQ store-free (`[bullmq] shared_home = false`): the workers get an empty home of their own. */
  readonly storeFree?: boolean;
}

/** A worker process and what it wrote on stderr (kept to say why it ended, if it ends before the bench stops it). */
interface WorkerProcess {
  readonly child: ChildProcess;
  readonly stderr: () => string;
}

const ended = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/** `windflow worker` from the build, in a process of its own; resolves once it said it is ready. */
async function startWorkerProcess(env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    [join(root, "dist", "cli", "main.js"), "worker", "--concurrency", String(concurrency)],
    { cwd: root, env, stdio: ["ignore", "ignore", "pipe"] },
  );
  let text = "";
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  child.stderr?.on("data", (b: Buffer) => {
    text = (text + b.toString()).slice(-65_536);
  });
  await until("a worker to be ready", () => {
    if (exited) throw new Error(`bench: windflow worker exited at start:\n${text}`);
    return text.includes("windflow worker on") ? true : undefined;
  });
  return { child, stderr: () => text };
}

/** Runs one manual run of a DAG of `tasks` no-op tasks on `setup` in a temporary home; its task instances. */
async function runOnce(setup: Setup, shape: "chain" | "independent", tasks: number, redis: RedisServer) {
  const home = mkdtempSync(join(tmpdir(), "windflow-bench-bullmq-"));
  const dags = join(home, "dags");
  mkdirSync(dags);
  const dagId = `bench_${shape}`;
  writeFileSync(join(dags, `${dagId}.ts`), noopDagText(dagId, tasks, shape, 3).text);
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] =>
        e[1] !== undefined && !e[0].startsWith("WINDFLOW__") && e[0] !== "WINDFLOW_HOME",
    ),
  );
  const env: Record<string, string> = {
    ...inherited,
    WINDFLOW_HOME: home,
    WINDFLOW__CORE__DAGS_FOLDER: dags,
    WINDFLOW__CORE__PARALLELISM: "64",
    WINDFLOW__CORE__EXECUTOR: setup.executor,
    WINDFLOW__BULLMQ__REDIS_URL: redis.url,
    // A queue per set-up: nothing of one is left for the next.
    WINDFLOW__BULLMQ__QUEUE: `bench-${process.pid}-${shape}-${setup.workers ?? 0}${setup.storeFree ? "-free" : ""}`,
    WINDFLOW__BULLMQ__SHARED_HOME: String(!setup.storeFree),
  };
  const workerEnv = setup.storeFree ? { ...env, WINDFLOW_HOME: join(home, "worker-home") } : env;
  if (setup.storeFree) mkdirSync(workerEnv.WINDFLOW_HOME as string);
  const config = loadConfig({ root, env });
  const store = openStore(config); // creates the store, which a worker checks for at its start
  const workers: WorkerProcess[] = [];
  const scheduler = new Scheduler({ config, log: createLogger("WARNING"), warmWorkers: setup.warm ?? 0 });
  const running = scheduler.run({ mode: "forever" });
  try {
    for (let i = 0; i < (setup.workers ?? 0); i++) workers.push(await startWorkerProcess(workerEnv));
    await until("the DAG to be parsed", () => store.getDag(dagId), 60_000);
    setDagPaused(store, dagId, false);
    // Let the scheduler settle: the trigger then lands at a random point of its heartbeat, as a user's does.
    await new Promise((r) => setTimeout(r, 300));
    const { run } = triggerDag(store, dagId);
    wakeScheduler(home);
    const done = await until("the run to finish", () => {
      // Every worker gone (killed from outside, crashed): nothing will run the queued tries; say so at once.
      if (workers.length > 0 && workers.every((w) => ended(w.child)))
        throw new Error(
          `bench: every windflow worker ended before the run did (${workers
            .map((w) => `pid ${w.child.pid}: ${w.child.signalCode ?? `exit ${w.child.exitCode}`}`)
            .join(", ")}); the last one wrote:\n${workers.at(-1)?.stderr().slice(-2000)}`,
        );
      const r = store.getRun(run);
      return r?.state === "success" || r?.state === "failed" ? r : undefined;
    });
    if (done.state !== "success") throw new Error(`bench: the run ${done.runId} ${done.state}`);
    return { run: done, tis: store.listTaskInstances({ dagId, runId: run.runId }) };
  } finally {
    scheduler.stop("bench done");
    await running;
    await Promise.all(
      workers.map(
        ({ child: w }) =>
          new Promise<void>((resolve) => {
            if (ended(w)) return resolve();
            w.once("exit", () => resolve());
            w.kill("SIGTERM");
          }),
      ),
    );
    store.close();
    rmSync(home, { recursive: true, force: true });
  }
}

const ms = (d: Date | null) => (d as Date).getTime();

/** Hand-off on a chain: end of a task -> start of the next (see the module comment), one per pair of tasks. */
async function handoffGaps(setup: Setup, redis: RedisServer) {
  const { run, tis } = await runOnce(setup, "chain", chainTasks, redis);
  const gaps: number[] = [];
  for (let i = 1; i < tis.length; i++) {
    const prev = tis[i - 1];
    const next = tis[i];
    if (prev && next) gaps.push(ms(next.startedAt) - ms(prev.endedAt));
  }
  return { gaps, runMs: ms(run.endedAt) - run.createdAt.getTime() };
}

/** Throughput of independent tasks: tasks per second from the trigger to the run's end. */
async function throughput(workers: number, redis: RedisServer) {
  const { run, tis } = await runOnce({ executor: "bullmq", workers }, "independent", independentTasks, redis);
  const runMs = ms(run.endedAt) - run.createdAt.getTime();
  const firstStart = Math.min(...tis.map((ti) => ms(ti.startedAt)));
  const lastEnd = Math.max(...tis.map((ti) => ms(ti.endedAt)));
  return {
    runMs,
    tasksPerSecond: (1000 * tis.length) / runMs,
    /** The first try's start -> the last try's end (the run's creation and end left out). */
    busyTasksPerSecond: (1000 * tis.length) / (lastEnd - firstStart),
  };
}

const median = (xs: readonly number[]) => quantile(xs, 0.5);
const round2 = (x: number) => Math.round(x * 100) / 100;

async function main(): Promise<void> {
  const began = performance.now();
  const redis = await startRedis();
  try {
    const setups = {
      cold: { executor: "local" },
      warm: { executor: "local", warm: DEFAULT_WARM },
      bullmq: { executor: "bullmq", workers: 1 },
      storeFree: { executor: "bullmq", workers: 1, storeFree: true },
    } as const satisfies Record<string, Setup>;
    type Name = keyof typeof setups;
    const names = Object.keys(setups) as Name[];
    const chains: Record<Name, { gaps: number[]; runMs: number }[]> = {
      cold: [],
      warm: [],
      bullmq: [],
      storeFree: [],
    };
    for (let r = 0; r < rounds; r++)
      for (const name of names) chains[name].push(await handoffGaps(setups[name], redis));
    const pooled = (name: Name) => ({
      handoffMs: stats(chains[name].flatMap((c) => c.gaps)),
      runMs: median(chains[name].map((c) => c.runMs)),
    });
    const [cold, warm, bullmq, storeFree] = [
      pooled("cold"),
      pooled("warm"),
      pooled("bullmq"),
      pooled("storeFree"),
    ];
    const perRound = (a: Name, b: Name) =>
      chains[a].map((c, i) => round2(median(c.gaps) / median(chains[b][i]?.gaps ?? [])));

    const through = new Map(workerCounts.map((n) => [n, [] as Awaited<ReturnType<typeof throughput>>[]]));
    for (let r = 0; r < rounds; r++)
      for (const n of workerCounts) through.get(n)?.push(await throughput(n, redis));
    const base = through.get(workerCounts[0] as number) ?? [];
    const result = {
      chainTasks,
      independentTasks,
      concurrency,
      rounds,
      handoff: { cold, warm, bullmq, bullmqStoreFree: storeFree },
      handoffRatios: {
        bullmqVsCold: bullmq.handoffMs.median / cold.handoffMs.median,
        bullmqVsWarm: bullmq.handoffMs.median / warm.handoffMs.median,
        bullmqVsColdP95: bullmq.handoffMs.p95 / cold.handoffMs.p95,
        bullmqVsColdByRound: perRound("bullmq", "cold"),
        warmVsColdByRound: perRound("warm", "cold"),
        storeFreeVsSharedHome: storeFree.handoffMs.median / bullmq.handoffMs.median,
        /** The chain's whole run (process starts included in both): store-free over shared home. */
        storeFreeVsSharedHomeRunTime: storeFree.runMs / bullmq.runMs,
        storeFreeVsSharedHomeRunTimeByRound: chains.storeFree.map((c, i) =>
          round2(c.runMs / (chains.bullmq[i]?.runMs ?? Number.NaN)),
        ),
      },
      throughput: workerCounts.map((workers) => {
        const runs = through.get(workers) ?? [];
        const ratios = runs.map((t, i) => round2(t.tasksPerSecond / (base[i]?.tasksPerSecond ?? Number.NaN)));
        return {
          workers,
          concurrency,
          tasks: independentTasks,
          tasksPerSecond: median(runs.map((t) => t.tasksPerSecond)),
          busyTasksPerSecond: median(runs.map((t) => t.busyTasksPerSecond)),
          runMs: median(runs.map((t) => t.runMs)),
          vsOneWorker: median(ratios),
          vsOneWorkerByRound: ratios,
        };
      }),
      wallMs: Math.round(performance.now() - began),
    };
    const row = (label: string, m: { handoffMs: Stats; runMs: number }) =>
      `  ${label.padEnd(40)} median ${String(m.handoffMs.median).padStart(5)} ms   p95 ${String(m.handoffMs.p95).padStart(5)} ms   (${(m.handoffMs.median / cold.handoffMs.median).toFixed(2)}x cold; run ${(m.runMs / 1000).toFixed(1)} s)`;
    process.stderr.write(
      [
        `hand-off on a chain of ${chainTasks} no-op tasks (end of a task -> start of the next), ${rounds} round(s) interleaved:`,
        row("local, cold (a process per try)", cold),
        row(`local, warm (${DEFAULT_WARM} warm processes)`, warm),
        row("bullmq, 1 worker (a process per try)", bullmq),
        row("bullmq store-free, 1 worker", storeFree),
        `  store-free / shared home: hand-off ${result.handoffRatios.storeFreeVsSharedHome.toFixed(2)}x (not alike: see the module comment), chain run time ${result.handoffRatios.storeFreeVsSharedHomeRunTime.toFixed(2)}x (by round ${result.handoffRatios.storeFreeVsSharedHomeRunTimeByRound.join(", ")})`,
        `  bullmq / cold by round: ${result.handoffRatios.bullmqVsColdByRound.join(", ")}; warm / cold: ${result.handoffRatios.warmVsColdByRound.join(", ")}`,
        `throughput of ${independentTasks} independent no-op tasks on bullmq ([bullmq] concurrency ${concurrency} per worker), median of ${rounds}:`,
        ...result.throughput.map(
          (t) =>
            `  ${`${t.workers} worker${t.workers === 1 ? "" : "s"}`.padEnd(10)} ${t.tasksPerSecond.toFixed(1).padStart(6)} tasks/s (${t.vsOneWorker.toFixed(2)}x 1 worker; by round ${t.vsOneWorkerByRound.join(", ")}; ${(t.runMs / 1000).toFixed(1)} s trigger -> run end)`,
        ),
        "",
      ].join("\n"),
    );
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await redis.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
