/**
 * Hand-off between tasks through the real scheduler and executor: a chain of no-op tasks (50 by default) in a
 * temporary home, one manual run, and from the store's timestamps:
 * - hand-off: end of a task's try -> start of the next one's (`endedAt` -> `startedAt`, the claim by its
 *   process), split into the scheduler's reaction (-> `queuedAt`) and the task process's start (-> claim);
 * - trigger-to-first-task: the run's creation -> the first task's start, the scheduler already running;
 * - a task's own time: claim -> end (loading the DAG file in the task process + the no-op + recording).
 *
 *   node --import tsx bench/handoff.ts [--tasks 50] [--heartbeat 1s] [--warm N] [--no-wakeup]
 *
 * `--warm N`: N warm task processes (`WarmExecutor`) instead of a cold process per try. `--no-wakeup`: the
 * trigger does not wake the scheduler (it sees the run at its next heartbeat).
 *
 * Prints a table on stderr and one JSON line on stdout (what `bench/run.ts` reads).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// The built package (dist/), as `windflow scheduler` runs: its task, warm and parse processes then start from
// compiled JavaScript, not through tsx from the sources (0.08 s against 0.2 s per process start here).
import { loadConfig } from "../dist/config.js";
import { createLogger } from "../dist/orchestration/scheduler/log.js";
import { Scheduler } from "../dist/orchestration/scheduler/scheduler.js";
import { setDagPaused, triggerDag, wakeScheduler } from "../dist/orchestration/scheduler/trigger.js";
import { openStore } from "../dist/orchestration/store/index.js";
import { writeChainDag } from "./chain-dag.js";
import { argValue, stats, waitFor } from "./stats.js";

const root = join(__dirname, "..");
const tasks = Number.parseInt(argValue("--tasks", "50"), 10);
const heartbeat = argValue("--heartbeat", "1s");
const warm = Number.parseInt(argValue("--warm", "0"), 10);

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), "windflow-bench-"));
  const dags = join(home, "dags");
  mkdirSync(dags);
  writeChainDag(dags, tasks);
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("WINDFLOW__") && k !== "WINDFLOW_HOME"),
  );
  const config = loadConfig({
    root,
    env: {
      ...env,
      WINDFLOW_HOME: home,
      WINDFLOW__CORE__DAGS_FOLDER: dags,
      WINDFLOW__SCHEDULER__HEARTBEAT_INTERVAL: heartbeat,
    },
  });
  const store = openStore(config);
  const scheduler = new Scheduler({ config, log: createLogger("WARNING"), warmWorkers: warm });
  const began = performance.now();
  const running = scheduler.run({ mode: "forever" });
  try {
    await waitFor("the DAG to be parsed", () => store.getDag("bench_chain"), 60_000);
    setDagPaused(store, "bench_chain", false);
    // Let the scheduler settle: the trigger then lands at a random point of its heartbeat, as a user's does.
    await new Promise((r) => setTimeout(r, 300));
    const { run } = triggerDag(store, "bench_chain");
    // What `windflow dags trigger` and the UI do after a trigger: wake the scheduler now.
    if (!process.argv.includes("--no-wakeup")) wakeScheduler(home);
    const done = await waitFor(
      "the run to finish",
      () => {
        const r = store.getRun(run);
        return r?.state === "success" || r?.state === "failed" ? r : undefined;
      },
      tasks * 10_000,
    );
    if (done.state !== "success") throw new Error(`bench: the run ${done.runId} ${done.state}`);
    const tis = store.listTaskInstances({ dagId: "bench_chain", runId: run.runId });
    const t = (d: Date | null) => (d as Date).getTime();
    const handoff: number[] = [];
    const reaction: number[] = [];
    const processStart: number[] = [];
    for (let i = 1; i < tis.length; i++) {
      const prev = tis[i - 1];
      const next = tis[i];
      if (!prev || !next) continue;
      handoff.push(t(next.startedAt) - t(prev.endedAt));
      reaction.push(t(next.queuedAt) - t(prev.endedAt));
      processStart.push(t(next.startedAt) - t(next.queuedAt));
    }
    const first = tis[0];
    const triggerToFirst = t(first?.startedAt ?? null) - run.createdAt.getTime();
    const own = tis.map((ti) => t(ti.endedAt) - t(ti.startedAt));
    const total = t(done.endedAt) - run.createdAt.getTime();
    const result = {
      tasks,
      heartbeat: config.scheduler.heartbeat_interval,
      warmWorkers: warm,
      handoffMs: stats(handoff),
      schedulerReactionMs: stats(reaction),
      processStartMs: stats(processStart),
      taskOwnTimeMs: stats(own),
      triggerToFirstTaskMs: triggerToFirst,
      runMs: total,
      wallMs: Math.round(performance.now() - began),
    };
    const line = (label: string, s: { median: number; p95: number; min: number; max: number }) =>
      `  ${label.padEnd(44)} median ${String(s.median).padStart(5)} ms   p95 ${String(s.p95).padStart(5)} ms   (min ${s.min}, max ${s.max})`;
    process.stderr.write(
      [
        `hand-off: a chain of ${tasks} no-op tasks, one process per try, ${warm > 0 ? `${warm} warm` : "each started cold"} (heartbeat ${config.scheduler.heartbeat_interval} ms)`,
        line("hand-off (end of a task -> start of the next)", result.handoffMs),
        line("  scheduler reaction (end -> queued)", result.schedulerReactionMs),
        line("  task process start (queued -> claim)", result.processStartMs),
        line("a task's own time (claim -> end)", result.taskOwnTimeMs),
        `  trigger -> first task start                  ${triggerToFirst} ms`,
        `  whole run (trigger -> run success)           ${total} ms`,
        "",
      ].join("\n"),
    );
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    scheduler.stop("bench done");
    await running;
    store.close();
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
