/**
 * The project's own ML DAGs (dags/train.ts, get_data_from_engie_hub.ts, predict.ts) on the distributed executor
 * (docs/adr/0013-bullmq-executor.md), on a real `redis-server` started by the test: train, then generate, then
 * predict, each run by a scheduler with `[core] executor = bullmq` and two `windflow worker` processes, on a small
 * synthetic dataset (3 days, 2 epochs), every path moved into the home's `project/` folder through the runs'
 * conf (as tests/scheduler-pipeline.test.ts runs `make demo`'s path). The same three runs on the local executor
 * then end with the same task states, return values and output files, byte for byte.
 *
 * One BullMQ pipeline serves both tests (it is run once, on first use): the first checks what the workers did,
 * the second compares it with a local pipeline. tests/bullmq.test.ts covers the executor's failure cases
 * (a worker killed -9, Redis stopped, two schedulers) on toy DAGs.
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { synthesizeDataset } from "../src/data/synthetic.js";
import { syncDagFolder } from "../src/orchestration/scheduler/dag-processor.js";
import { triggerDag } from "../src/orchestration/scheduler/trigger.js";
import type { TaskTryRecord } from "../src/orchestration/store/index.js";
import type { JsonObject } from "../src/orchestration/types.js";
import { type RedisServer, startRedis } from "./helpers/redis.js";
import { ROOT, type SchedulerEnv, schedulerEnv, until } from "./helpers/scheduler-env.js";
import { type Spawned, spawnWorker } from "./helpers/spawn-cli.js";

let redis: RedisServer | undefined;
let dataDir: string | undefined;
const homes: SchedulerEnv[] = [];
before(async () => {
  redis = await startRedis();
});
after(async () => {
  for (const h of homes) h.cleanup();
  await redis?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** The three runs, in order: each needs the files of the one before (predict: the model and the generated records). */
const RUNS = [
  { dagId: "train", date: "2026-11-25T17:00:00Z", tasks: ["prepare_features", "train_model"] },
  { dagId: "get_data_from_engie_hub", date: "2026-11-25T17:30:00Z", tasks: ["generate"] },
  { dagId: "predict", date: "2026-11-25T17:30:05Z", tasks: ["prepare_features", "predict"] },
] as const;

/** Each run's conf: the DAG's paths moved into `<home>/project`. */
function confOf(dagId: string, work: (...p: string[]) => string): JsonObject {
  switch (dagId) {
    case "train":
      return {
        dataPath: work("data", "data.csv"),
        featuresPath: work("data", "prepared_features_train.parquet"),
        modelsDir: work("models"),
        epochs: 2,
      };
    case "get_data_from_engie_hub":
      return { dataPath: work("data", "data.csv"), outputFolder: work("data", "generated_data") };
    default:
      return {
        inputPath: work("data", "generated_data", "latest.csv"),
        featuresFolder: work("data"),
        modelPath: work("models"),
        predictionsFolder: work("data", "predictions"),
      };
  }
}

/** The synthetic data file, written once (seed 5, 3 days); each home gets a copy, so both pipelines read the same bytes. */
let dataFile: Promise<string> | undefined;
function syntheticData(): Promise<string> {
  dataFile ??= (async () => {
    dataDir = mkdtempSync(join(tmpdir(), "windflow-bullmq-ml-"));
    const file = join(dataDir, "data.csv");
    await synthesizeDataset(file, { seed: 5, days: 3 });
    return file;
  })();
  return dataFile;
}

interface TaskOutcome {
  runId: string;
  runState: string | undefined;
  taskId: string;
  state: string;
  tryNumber: number;
  /** The return value as JSON, the home's path replaced by `<home>`. */
  value: string;
  tries: TaskTryRecord[];
  log: string;
}

interface Pipeline {
  e: SchedulerEnv;
  /** `dagId/taskId` -> what the store says of it at the end. */
  tasks: Map<string, TaskOutcome>;
  work: (...p: string[]) => string;
  workers: { name: string; output: string; exitCode: number | null }[];
}

/**
 * Train, generate, predict on `e`, one run after the other (each by a scheduler for that run alone, so the DAGs
 * stay paused and no scheduled run touches the project's own data/), with `workers` BullMQ worker processes.
 */
async function pipeline(e: SchedulerEnv, workerNames: readonly string[]): Promise<Pipeline> {
  const work = (...p: string[]) => join(e.home, "project", ...p);
  mkdirSync(work("data"), { recursive: true });
  copyFileSync(await syntheticData(), work("data", "data.csv"));
  assert.deepEqual((await syncDagFolder(e.config, e.store)).errors, []);
  const workers: Spawned[] = [];
  for (const name of workerNames) workers.push(await spawnWorker(e, name));
  const outputs = () =>
    [e.lines.join("\n"), ...workers.map((w, i) => `--- worker ${workerNames[i]}:\n${w.output()}`)].join("\n");
  const tasks = new Map<string, TaskOutcome>();
  try {
    for (const { dagId, date, tasks: taskIds } of RUNS) {
      const { run } = triggerDag(e.store, dagId, {
        logicalDate: date,
        conf: confOf(dagId, work),
        now: new Date(date),
      });
      // The DAGs as synced above: no parse of the folder again for each run.
      const report = await e.runScheduler({
        mode: "until-idle",
        only: { dagId, runId: run.runId },
        parseDagFiles: false,
      });
      assert.equal(report.stoppedBy, "idle", outputs());
      const runState = e.store.getRun(run)?.state;
      assert.equal(runState, "success", `${dagId}/${run.runId}\n${outputs()}`);
      for (const taskId of taskIds) {
        const key = { ...run, taskId };
        const ti = e.store.getTaskInstance(key);
        assert.ok(ti, `${dagId}/${taskId}`);
        tasks.set(`${dagId}/${taskId}`, {
          runId: run.runId,
          runState,
          taskId,
          state: ti.state,
          tryNumber: ti.tryNumber,
          value: JSON.stringify(ti.returnValue ?? null).replaceAll(e.home, "<home>"),
          tries: e.store.listTries(key),
          log: ti.logPath && existsSync(ti.logPath) ? readFileSync(ti.logPath, "utf8") : "",
        });
      }
    }
  } finally {
    for (const w of workers) w.child.kill("SIGTERM");
  }
  // SIGTERM once the runs are over: each worker exits 0, no try left (a hang fails the test; cleanup kills it).
  // A SIGTERM with tries in progress is tests/bullmq.test.ts's "SIGTERM while two tries run".
  const ended = [];
  for (const [i, w] of workers.entries()) {
    await until(`worker ${workerNames[i]} to exit on SIGTERM`, () => (w.exited() ? true : undefined));
    ended.push({ name: workerNames[i] as string, exitCode: await w.exit, output: w.output() });
  }
  return { e, tasks, work, workers: ended };
}

/** The BullMQ pipeline: two workers, one try at a time each. Run once, on first use. */
let distributed: Promise<Pipeline> | undefined;
function bullmqPipeline(): Promise<Pipeline> {
  distributed ??= (async () => {
    assert.ok(redis, "redis-server started");
    const e = schedulerEnv({
      WINDFLOW__CORE__DAGS_FOLDER: join(ROOT, "dags"),
      WINDFLOW__CORE__EXECUTOR: "bullmq",
      WINDFLOW__BULLMQ__REDIS_URL: redis.url,
      WINDFLOW__BULLMQ__QUEUE: "ml",
      WINDFLOW__BULLMQ__CONCURRENCY: "1",
    });
    homes.push(e);
    return pipeline(e, ["a", "b"]);
  })();
  return distributed;
}

/** Every file under `dir`, as paths relative to it, sorted. */
function filesUnder(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else found.push(relative(dir, p));
    }
  };
  walk(dir);
  return found.sort();
}

/**
 * Where two metadata.json texts differ (JSON paths), leaving out their wall-clock facts: `createdAt` (when the
 * model was saved; its folder is named by the run's logical date) and the `seconds` of training and of each epoch.
 */
function metadataDifferences(a: string, b: string, homes: readonly [string, string]): string[] {
  const wallClock = new Set(["createdAt", "seconds"]);
  const differences: string[] = [];
  const walk = (x: unknown, y: unknown, path: string) => {
    if (typeof x === "object" && x !== null && typeof y === "object" && y !== null) {
      const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
      for (const k of keys)
        if (!wallClock.has(k))
          walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], `${path}.${k}`);
    } else if (!Object.is(x, y)) differences.push(`${path}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
  };
  walk(JSON.parse(a.replaceAll(homes[0], "<home>")), JSON.parse(b.replaceAll(homes[1], "<home>")), "$");
  return differences;
}

describe("the project's ML DAGs on the BullMQ executor", () => {
  test("train, then generate, then predict with two windflow workers: the model and the dated predictions are written, each try ran once on a worker", async (t) => {
    const { tasks, work, workers, e } = await bullmqPipeline();
    const all = () =>
      `${e.lines.join("\n")}\n${workers.map((w) => `--- worker ${w.name}:\n${w.output}`).join("\n")}`;

    // The files: the model folder (named by train's logical date) with models/latest on it, the dated predictions.
    const model = work("models", "20261125-170000");
    assert.deepEqual(readdirSync(model).sort(), ["metadata.json", "model.json", "weights.bin"]);
    assert.equal(readFileSync(work("models", "latest"), "utf8").trim(), "20261125-170000");
    const csv = work("data", "predictions", "20261125-173005.csv");
    const [header, ...rows] = readFileSync(csv, "utf8").trim().split("\n");
    assert.equal(header, "predictions,predictions_time");
    assert.equal(rows.length, 2, "the generator writes one record twice");
    for (const row of rows) {
      const [value, stamp] = row.split(",");
      assert.ok(Number.isFinite(Number(value)), row);
      assert.equal(stamp, "20261125-173005");
    }
    assert.equal(readFileSync(work("data", "predictions", "latest.csv"), "utf8"), readFileSync(csv, "utf8"));
    assert.ok(existsSync(work("data", "prepared_features_20261125-173005.parquet")));
    assert.equal(
      tasks.get("train/train_model")?.value ?? "",
      JSON.stringify(model.replace(e.home, "<home>")),
      [...tasks.keys()].join(", "),
    );

    // Every task succeeded at its first try, run by exactly one of the workers: the one that says it started
    // the process the store recorded for that try.
    const byWorker = new Map<string, number>();
    assert.equal(tasks.size, 5);
    for (const [where, task] of tasks) {
      assert.equal(task.runState, "success", where);
      assert.deepEqual(
        [task.state, task.tryNumber, task.tries.map((x) => [x.tryNumber, x.state])],
        ["success", 1, [[1, "success"]]],
        `${where}\n${all()}`,
      );
      const pid = task.tries[0]?.pid;
      assert.ok(pid, where);
      const [dagId] = where.split("/");
      const runId = task.runId;
      const line = `try 1 of ${dagId}/${task.taskId} (run ${runId}): process ${pid}\n`;
      const ran = workers.filter((w) => w.output.includes(line)).map((w) => w.name);
      assert.equal(ran.length, 1, `${where} started by workers [${ran}]\n${all()}`);
      byWorker.set(ran[0] as string, (byWorker.get(ran[0] as string) ?? 0) + 1);
      // And no worker started a second process for it (a try is run once).
      const starts = workers
        .flatMap((w) => w.output.split("\n"))
        .filter((l) => l.includes(`try 1 of ${dagId}/${task.taskId} (run ${runId}): process`));
      assert.equal(starts.length, 1, `${where}: ${starts.join("; ")}`);
    }
    // The training's log, written by the try process on a worker, is where the UI follows it.
    assert.match(tasks.get("train/train_model")?.log ?? "", /epoch 2\/2: loss /);
    // Which worker takes a job is BullMQ's choice (whichever asks first): the spread is reported, not asserted.
    t.diagnostic(`tries per worker: ${JSON.stringify(Object.fromEntries(byWorker))}`);

    // Both workers stopped gracefully on SIGTERM (nothing left running).
    for (const w of workers) {
      assert.equal(w.exitCode, 0, `worker ${w.name}:\n${w.output}`);
      assert.match(w.output, /stopping: waiting for 0 running tries/, w.name);
    }
  });

  test("parity: the ML DAGs on the local and the BullMQ executors end with the same task states, return values and output files", async () => {
    const remote = await bullmqPipeline();
    const localHome = schedulerEnv({ WINDFLOW__CORE__DAGS_FOLDER: join(ROOT, "dags") });
    homes.push(localHome);
    const local = await pipeline(localHome, []);

    const summary = (p: Pipeline) =>
      [...p.tasks].map(([where, x]) => ({
        where,
        runId: x.runId,
        run: x.runState,
        state: x.state,
        tries: x.tryNumber,
        value: x.value,
      }));
    assert.deepEqual(summary(remote), summary(local));
    assert.equal(summary(local).length, 5);

    // The same files, with the same contents. TensorFlow.js training is bit-reproducible here: its initialisers
    // and batch shuffling are seeded (src/model/model.ts), and on one backend (tfjs-node's native one on this
    // machine) six processes, four at once, trained the same weights.bin (checked by hand before writing this
    // test), so the weights and predictions are compared exactly, not within a tolerance. Only metadata.json
    // holds wall-clock facts (when it was saved, training seconds), left out.
    const files = filesUnder(local.work());
    assert.deepEqual(filesUnder(remote.work()), files);
    for (const expected of [
      "data/prepared_features_train.parquet",
      "data/generated_data/20261125-173000.csv",
      "data/prepared_features_20261125-173005.parquet",
      "data/predictions/20261125-173005.csv",
      "models/20261125-170000/weights.bin",
    ])
      assert.ok(files.includes(expected), `${expected} in ${files.join(", ")}`);
    for (const file of files) {
      const [a, b] = [readFileSync(remote.work(file)), readFileSync(local.work(file))];
      if (file.endsWith("metadata.json"))
        assert.deepEqual(
          metadataDifferences(a.toString("utf8"), b.toString("utf8"), [remote.e.home, local.e.home]),
          [],
          file,
        );
      else assert.ok(a.equals(b), `${file} differs between the BullMQ and the local pipelines`);
    }
  });
});
