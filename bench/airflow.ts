/**
 * Apache Airflow 3 side by side with windflow (issue 12 §10, issue 14 §5), on the same machine in the same run:
 *
 * (a) The chain of no-op tasks of bench/handoff.ts (50 by default), exported with `windflow dags export --to
 *     airflow` and run by Airflow's own scheduler (LocalExecutor, SQLite; components started by
 *     tests/helpers/airflow.ts on 127.0.0.1): hand-off (end of a task -> start of the next, from Airflow's task
 *     instance dates), trigger -> first task, and the whole run (trigger -> run end); and `airflow dags test` of
 *     the chain (spawn -> exit). Against windflow's scheduler cold and warm (bench/handoff.ts, spawned) and
 *     `windflow dags test` (spawn -> exit).
 * (b) The project's `train` and `predict` DAGs (a small synthesized data file, 2 epochs) through Airflow's
 *     scheduler and through windflow's (warm, the default, and cold): the whole run, and the per-task overhead
 *     (run wall time - the tasks' own work) / tasks. A task's own work is the try as windflow runs it: in
 *     windflow, its try's claim -> end (the store's dates); in Airflow, the `windflow tasks external` process
 *     (the operator's log lines before its start and after its end), which also holds node's start, a little
 *     in Airflow's favour.
 *
 * windflow is measured before Airflow's components start, and `airflow dags test` after they stop, so that
 * neither runs beside the other's idle processes. Ratios are Airflow's time / windflow's ("windflow is Nx
 * faster"), per round, with min/median/max over the rounds.
 *
 *   node --import tsx bench/airflow.ts [--rounds 2] [--tasks 50]
 *
 * Prints a table on stderr and one JSON line on stdout (what `bench/run.ts` reads).
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { loadConfig } from "../dist/config.js";
import { synthesizeDataset } from "../dist/data/synthetic.js";
import { createLogger } from "../dist/orchestration/scheduler/log.js";
import { Scheduler } from "../dist/orchestration/scheduler/scheduler.js";
import { setDagPaused, triggerDag, wakeScheduler } from "../dist/orchestration/scheduler/trigger.js";
import { openStore } from "../dist/orchestration/store/index.js";
import type { JsonObject } from "../dist/orchestration/types.js";
import {
  AIRFLOW,
  AIRFLOW_PYTHON,
  type AirflowCluster,
  exportDags,
  startAirflow,
} from "../tests/helpers/airflow.js";
import { CHAIN_DAG_ID, writeChainDag } from "./chain-dag.js";
import { argValue, DEFAULT_WARM, type Stats, stats } from "./stats.js";

const root = join(__dirname, "..");
const run = promisify(execFile);
const DAGS = ["train", "predict"] as const;
const rounds = Number.parseInt(argValue("--rounds", "2"), 10);
const tasks = Number.parseInt(argValue("--tasks", "50"), 10);

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length / 2;
  return s.length % 2 === 1 ? (s[Math.floor(m)] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const spread = (xs: readonly number[]) => ({
  min: Math.min(...xs),
  median: median(xs),
  max: Math.max(...xs),
});
const ms = (iso: string | null | undefined) => new Date(iso ?? Number.NaN).getTime();

/** A chain round's figures (windflow's or Airflow's). */
interface ChainRound {
  handoffMs: Stats;
  triggerToFirstTaskMs: number;
  runMs: number;
}

/**
 * The project's DAG `id` (dags/<id>.ts) as a manual-only copy in `dir`: the same tasks and params, `schedule:
 * null`, the package imported from the build. Unpaused with its schedule, each scheduler would first start the
 * DAG's scheduled run (catch-up off: the latest interval) on its default params (the full data file, 40 epochs,
 * the project's models/ folder), and the run measured would wait for it (max active runs 1).
 */
function manualCopy(id: string, dir: string): void {
  const text = readFileSync(join(root, "dags", `${id}.ts`), "utf8");
  const copy = text
    .replace(/from "windflow";/, `from ${JSON.stringify(join(root, "dist", "index.js"))};`)
    .replace(/^(\s*)schedule: .*$/m, "$1schedule: null,");
  if (!copy.includes("dist/index.js") || !/^\s*schedule: null,$/m.test(copy))
    throw new Error(`bench: dags/${id}.ts: no \`from "windflow"\` or \`schedule:\` line to rewrite`);
  writeFileSync(join(dir, `${id}.ts`), copy);
}

/** One chain round of windflow's scheduler: bench/handoff.ts in its own process (as `make bench` runs it). */
async function windflowChain(warm: number): Promise<ChainRound> {
  const { stdout } = await run(
    process.execPath,
    ["--import", "tsx", join(root, "bench", "handoff.ts"), "--tasks", String(tasks), "--warm", String(warm)],
    { cwd: root, maxBuffer: 1e7 },
  );
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as ChainRound;
}

/** Wall time (spawn -> exit) of a command that must exit 0. */
async function wall(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const began = performance.now();
  await run(cmd, args, { cwd: root, env, maxBuffer: 64 << 20 });
  return Math.round(performance.now() - began);
}

/** What a run cost: trigger -> run end, and each task's own work. */
interface DagRunCost {
  runMs: number;
  workMs: Record<string, number>;
}
const overhead = (c: DagRunCost) => {
  const work = Object.values(c.workMs);
  return (c.runMs - work.reduce((a, b) => a + b, 0)) / work.length;
};

/** One manual run of `dagId` through windflow's scheduler (`warm` warm task processes), as bench/handoff.ts does. */
async function windflowDagRun(
  home: string,
  dagsFolder: string,
  dagId: string,
  conf: JsonObject,
  warm: number,
): Promise<DagRunCost> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("WINDFLOW__") && k !== "WINDFLOW_HOME"),
  );
  const config = loadConfig({
    root,
    env: { ...env, WINDFLOW_HOME: home, WINDFLOW__CORE__DAGS_FOLDER: dagsFolder },
  });
  const store = openStore(config);
  const scheduler = new Scheduler({ config, log: createLogger("WARNING"), warmWorkers: warm });
  const running = scheduler.run({ mode: "forever" });
  const until = async <T>(what: string, fn: () => T | undefined) => {
    const deadline = Date.now() + 600_000;
    for (;;) {
      const v = fn();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    await until(`the DAG ${dagId} to be parsed`, () => store.getDag(dagId));
    setDagPaused(store, dagId, false);
    await new Promise((r) => setTimeout(r, 300));
    const { run: key } = triggerDag(store, dagId, { conf });
    wakeScheduler(home);
    const done = await until(`the run of ${dagId}`, () => {
      const r = store.getRun(key);
      return r?.state === "success" || r?.state === "failed" ? r : undefined;
    });
    if (done.state !== "success") throw new Error(`bench: windflow's run of ${dagId} ${done.state}`);
    const workMs: Record<string, number> = {};
    for (const ti of store.listTaskInstances({ dagId, runId: key.runId }))
      workMs[ti.taskId] = (ti.endedAt as Date).getTime() - (ti.startedAt as Date).getTime();
    return { runMs: (done.endedAt as Date).getTime() - key.createdAt.getTime(), workMs };
  } finally {
    scheduler.stop("bench done");
    await running;
    store.close();
  }
}

/** One manual run through Airflow's scheduler: trigger -> run end, and each task's `tasks external` process. */
async function airflowDagRun(af: AirflowCluster, dagId: string, conf: object): Promise<DagRunCost> {
  const triggered = await af.trigger(dagId, { logicalDate: new Date().toISOString(), conf });
  const done = await af.waitForRun(dagId, triggered.dag_run_id, 600_000);
  if (done.state !== "success")
    throw new Error(`bench: Airflow's run of ${dagId} ${done.state}\n${af.tail()}`);
  const workMs: Record<string, number> = {};
  for (const ti of await af.taskInstances(dagId, done.dag_run_id)) {
    const events = af.taskLog(dagId, done.dag_run_id, ti.task_id, ti.try_number);
    const began = events.find((e) => e.event.startsWith("windflow: tasks external"));
    const ended = events.find((e) => e.event.startsWith("return value:"));
    if (!began || !ended) throw new Error(`bench: no windflow process in the log of ${dagId}.${ti.task_id}`);
    workMs[ti.task_id] = ms(ended.timestamp) - ms(began.timestamp);
  }
  return { runMs: ms(done.end_date) - ms(done.run_after), workMs };
}

/** One chain round through Airflow's scheduler: hand-offs, trigger -> first task, trigger -> run end. */
async function airflowChain(af: AirflowCluster): Promise<ChainRound> {
  const triggered = await af.trigger(CHAIN_DAG_ID, { logicalDate: new Date().toISOString() });
  const done = await af.waitForRun(CHAIN_DAG_ID, triggered.dag_run_id, tasks * 20_000);
  if (done.state !== "success") throw new Error(`bench: Airflow's chain run ${done.state}\n${af.tail()}`);
  const tis = await af.taskInstances(CHAIN_DAG_ID, done.dag_run_id);
  if (tis.length !== tasks || tis.some((t) => t.state !== "success"))
    throw new Error(`bench: Airflow's chain: ${JSON.stringify(tis.map((t) => [t.task_id, t.state]))}`);
  const handoff = tis.slice(1).map((t, i) => ms(t.start_date) - ms(tis[i]?.end_date));
  return {
    handoffMs: stats(handoff),
    triggerToFirstTaskMs: ms(tis[0]?.start_date) - ms(done.run_after),
    runMs: ms(done.end_date) - ms(done.run_after),
  };
}

async function main(): Promise<void> {
  const began = performance.now();
  const work = mkdtempSync(join(tmpdir(), "windflow-bench-airflow-"));
  const home = join(work, "airflow");
  const chainDags = join(work, "chain-dags");
  mkdirSync(chainDags, { recursive: true });
  let af: AirflowCluster | undefined;
  try {
    writeChainDag(chainDags, tasks);
    const data = join(work, "data.csv");
    await synthesizeDataset(data, { seed: 5, days: 3 });
    const confs = (engine: string): { train: JsonObject; predict: JsonObject } => {
      const dir = join(work, engine);
      return {
        train: {
          dataPath: data,
          featuresPath: join(dir, "prepared_features_train.parquet"),
          modelsDir: join(dir, "models"),
          epochs: 2,
        },
        predict: {
          inputPath: data,
          featuresFolder: dir,
          modelPath: join(dir, "models"),
          predictionsFolder: join(dir, "predictions"),
        },
      };
    };
    const projectDags = join(work, "project-dags");
    mkdirSync(projectDags);
    for (const id of DAGS) manualCopy(id, projectDags);

    // windflow first, Airflow not started yet.
    const wf = { cold: [] as ChainRound[], warm: [] as ChainRound[] };
    const wfDagsTestMs: number[] = [];
    const wfEnv = (h: string) => ({
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("WINDFLOW__"))),
      WINDFLOW_HOME: h,
      WINDFLOW__CORE__DAGS_FOLDER: chainDags,
    });
    const wfDags = {
      train: { warm: [] as DagRunCost[], cold: [] as DagRunCost[] },
      predict: { warm: [] as DagRunCost[], cold: [] as DagRunCost[] },
    };
    for (let r = 0; r < rounds; r++) {
      wf.cold.push(await windflowChain(0));
      wf.warm.push(await windflowChain(DEFAULT_WARM));
      wfDagsTestMs.push(
        await wall(
          process.execPath,
          [join(root, "dist", "cli", "main.js"), "dags", "test", CHAIN_DAG_ID],
          wfEnv(join(work, `wf-test-${r}`)),
        ),
      );
      for (const mode of ["warm", "cold"] as const) {
        const c = confs(`windflow-${mode}-${r}`);
        const warm = mode === "warm" ? DEFAULT_WARM : 0;
        const h = join(work, `windflow-${mode}-${r}`, "home");
        wfDags.train[mode].push(await windflowDagRun(h, projectDags, "train", c.train, warm));
        wfDags.predict[mode].push(await windflowDagRun(h, projectDags, "predict", c.predict, warm));
      }
    }

    // Airflow's scheduler: the chain, then train and predict.
    await exportDags(home, chainDags, [CHAIN_DAG_ID]);
    await exportDags(home, projectDags, ["train", "predict"]);
    af = await startAirflow(home);
    const cluster = af;
    for (const id of [CHAIN_DAG_ID, "train", "predict"]) {
      await cluster.waitForDag(id);
      await cluster.unpause(id);
    }
    const afChain: ChainRound[] = [];
    const afDags = { train: [] as DagRunCost[], predict: [] as DagRunCost[] };
    for (let r = 0; r < rounds; r++) {
      afChain.push(await airflowChain(cluster));
      const c = confs(`airflow-${r}`);
      afDags.train.push(await airflowDagRun(cluster, "train", c.train));
      afDags.predict.push(await airflowDagRun(cluster, "predict", c.predict));
    }
    const env = cluster.env;
    await cluster.stop();
    af = undefined;

    // `airflow dags test` of the chain, its components stopped (in-process: no scheduler, no executor).
    const afDagsTestMs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const date = new Date(Date.UTC(2026, 10, 28, 12, r)).toISOString();
      afDagsTestMs.push(await wall(AIRFLOW, ["dags", "test", CHAIN_DAG_ID, date], env));
      const report = join(work, "report.json");
      await run(AIRFLOW_PYTHON, [join(root, "tests", "airflow", "run_report.py"), CHAIN_DAG_ID, report], {
        env,
      });
      const state = (JSON.parse(readFileSync(report, "utf8")) as { state: string }).state;
      if (state !== "success") throw new Error(`bench: airflow dags test of the chain: ${state}`);
    }

    // Ratios, round by round (round i of Airflow against round i of windflow).
    const per = (a: number[], w: number[]) => spread(a.map((x, i) => x / (w[i] as number)));
    const chainRatios = (w: ChainRound[]) => ({
      handoffMedian: per(
        afChain.map((c) => c.handoffMs.median),
        w.map((c) => c.handoffMs.median),
      ),
      handoffP95: per(
        afChain.map((c) => c.handoffMs.p95),
        w.map((c) => c.handoffMs.p95),
      ),
      run: per(
        afChain.map((c) => c.runMs),
        w.map((c) => c.runMs),
      ),
      triggerToFirstTask: per(
        afChain.map((c) => c.triggerToFirstTaskMs),
        w.map((c) => c.triggerToFirstTaskMs),
      ),
      dagsTestVsRun: per(
        afDagsTestMs,
        w.map((c) => c.runMs),
      ),
    });
    const ratios = {
      cold: chainRatios(wf.cold),
      warm: chainRatios(wf.warm),
      dagsTestVsWindflowDagsTest: per(afDagsTestMs, wfDagsTestMs),
    };
    const dagRatios: Record<string, unknown> = {};
    for (const id of DAGS) {
      const a = afDags[id];
      const w = wfDags[id];
      dagRatios[id] = Object.fromEntries(
        (["warm", "cold"] as const).map((mode) => [
          mode,
          {
            run: per(
              a.map((c) => c.runMs),
              w[mode].map((c) => c.runMs),
            ),
            perTaskOverhead: per(a.map(overhead), w[mode].map(overhead)),
          },
        ]),
      );
    }
    const targets = {
      handoffMedian: 20,
      handoffP95: 10,
      run: 5,
    };
    const met = {
      handoffMedian: ratios.warm.handoffMedian.median >= 20 && ratios.cold.handoffMedian.median >= 20,
      handoffP95: ratios.warm.handoffP95.median >= 10 && ratios.cold.handoffP95.median >= 10,
      run: ratios.warm.run.median >= 5 && ratios.cold.run.median >= 5,
    };

    const x = (s: { min: number; median: number; max: number }) =>
      `${s.median.toFixed(1).padStart(6)}x (${s.min.toFixed(1)}-${s.max.toFixed(1)})`;
    const msCol = (xs: number[]) => `${String(Math.round(median(xs))).padStart(7)} ms`;
    const lines = [
      `Airflow 3.3.2 (LocalExecutor, SQLite) vs windflow, ${rounds} rounds; ratios = Airflow's time / windflow's, median (min-max)`,
      `(a) a chain of ${tasks} no-op tasks          Airflow      windflow cold  windflow warm   vs cold          vs warm`,
    ];
    const row = (
      label: string,
      a: number[],
      c: number[],
      w: number[],
      rc: Parameters<typeof x>[0],
      rw: Parameters<typeof x>[0],
    ) => `  ${label.padEnd(34)} ${msCol(a)} ${msCol(c)} ${msCol(w)}   ${x(rc)}  ${x(rw)}`;
    lines.push(
      row(
        "hand-off median",
        afChain.map((c) => c.handoffMs.median),
        wf.cold.map((c) => c.handoffMs.median),
        wf.warm.map((c) => c.handoffMs.median),
        ratios.cold.handoffMedian,
        ratios.warm.handoffMedian,
      ),
      row(
        "hand-off p95",
        afChain.map((c) => c.handoffMs.p95),
        wf.cold.map((c) => c.handoffMs.p95),
        wf.warm.map((c) => c.handoffMs.p95),
        ratios.cold.handoffP95,
        ratios.warm.handoffP95,
      ),
      row(
        "trigger -> first task",
        afChain.map((c) => c.triggerToFirstTaskMs),
        wf.cold.map((c) => c.triggerToFirstTaskMs),
        wf.warm.map((c) => c.triggerToFirstTaskMs),
        ratios.cold.triggerToFirstTask,
        ratios.warm.triggerToFirstTask,
      ),
      row(
        "whole run (trigger -> run end)",
        afChain.map((c) => c.runMs),
        wf.cold.map((c) => c.runMs),
        wf.warm.map((c) => c.runMs),
        ratios.cold.run,
        ratios.warm.run,
      ),
      row(
        "airflow dags test (vs run)",
        afDagsTestMs,
        wf.cold.map((c) => c.runMs),
        wf.warm.map((c) => c.runMs),
        ratios.cold.dagsTestVsRun,
        ratios.warm.dagsTestVsRun,
      ),
      `  airflow dags test ${msCol(afDagsTestMs)} vs windflow dags test ${msCol(wfDagsTestMs)}: ${x(ratios.dagsTestVsWindflowDagsTest)}`,
      `  targets (median, cold and warm): hand-off median >= 20x ${met.handoffMedian ? "met" : "NOT met"}, p95 >= 10x ${met.handoffP95 ? "met" : "NOT met"}, whole run >= 5x ${met.run ? "met" : "NOT met"}`,
      "(b) the project's DAGs, through each scheduler   run: Airflow / windflow warm / cold     per-task overhead: Airflow / warm / cold",
    );
    for (const id of DAGS) {
      const a = afDags[id];
      const w = wfDags[id];
      const r = dagRatios[id] as Record<
        "warm" | "cold",
        { run: Parameters<typeof x>[0]; perTaskOverhead: Parameters<typeof x>[0] }
      >;
      lines.push(
        `  ${id.padEnd(8)} run ${msCol(a.map((c) => c.runMs))} ${msCol(w.warm.map((c) => c.runMs))} ${msCol(w.cold.map((c) => c.runMs))}` +
          `   overhead ${msCol(a.map(overhead))} ${msCol(w.warm.map(overhead))} ${msCol(w.cold.map(overhead))}`,
        `           Airflow / windflow: run ${x(r.warm.run)} warm, ${x(r.cold.run)} cold; per-task overhead ${x(r.warm.perTaskOverhead)} warm, ${x(r.cold.perTaskOverhead)} cold`,
      );
    }
    process.stderr.write(`${lines.join("\n")}\n`);
    const result = {
      seconds: (performance.now() - began) / 1000,
      rssMB: process.memoryUsage().rss / 2 ** 20,
      rounds,
      tasks,
      airflow: { chain: afChain, dagsTestMs: afDagsTestMs, dags: afDags },
      windflow: { cold: wf.cold, warm: wf.warm, dagsTestMs: wfDagsTestMs, dags: wfDags },
      ratios,
      dagRatios,
      targets,
      met,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await af?.stop();
    // A try's log may still be closing in a folder being removed: retried.
    rmSync(work, { recursive: true, force: true, maxRetries: 10 });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
