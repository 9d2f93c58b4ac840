/**
 * The real pipeline through the real engine, as `make demo` runs it: the project's own dags/*.ts (train,
 * get_data_from_engie_hub, predict), each run by `windflow dags trigger DAG --wait` (a scheduler for that run
 * alone, task processes, the SQLite store) on a small synthetic dataset, every path moved into a temporary
 * folder through the trigger's conf. The DAG files import windflow by package name (the built dist/).
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { synthesizeDataset } from "../src/data/synthetic.js";
import { cli, ROOT, type SchedulerEnv, schedulerEnv } from "./helpers/scheduler-env.js";

let e: SchedulerEnv | undefined;
after(() => e?.cleanup());

test("make demo's path: train, generate, predict through `dags trigger --wait` on the project's DAG files", async () => {
  e = schedulerEnv({ WINDFLOW__CORE__DAGS_FOLDER: join(ROOT, "dags") });
  const env = e.env;
  const work = (...p: string[]) => join((e as SchedulerEnv).home, "project", ...p);
  await synthesizeDataset(work("data", "data.csv"), { seed: 5, days: 3 });
  const run = (args: string[]) => cli(args, env, { timeoutMs: 180_000 });

  assert.equal((await run(["db", "init"])).code, 0);
  const train = await run([
    "dags",
    "trigger",
    "train",
    "--wait",
    "--date",
    "2026-11-25T17:00:00Z",
    "--conf",
    JSON.stringify({
      dataPath: work("data", "data.csv"),
      featuresPath: work("data", "prepared_features_train.parquet"),
      modelsDir: work("models"),
      epochs: 2,
    }),
  ]);
  assert.equal(train.code, 0, train.stderr);
  // The tasks' logs are followed while they run: the epochs of train_model show as they come.
  assert.match(train.stderr, /^ {2}\[train_model\] .*epoch 1\/2: loss /m);
  assert.match(train.stdout, /^train\/manual__20261125-170000: success \(manual/m);
  assert.match(
    train.stdout,
    new RegExp(`^ {2}train_model +success .*-> "${work("models", "20261125-170000")}"$`, "m"),
  );
  assert.ok(existsSync(work("models", "20261125-170000", "model.json")));

  const generate = await run([
    "dags",
    "trigger",
    "get_data_from_engie_hub",
    "--wait",
    "--date",
    "2026-11-25T17:30:00Z",
    "--conf",
    JSON.stringify({ dataPath: work("data", "data.csv"), outputFolder: work("data", "generated_data") }),
  ]);
  assert.equal(generate.code, 0, generate.stderr);
  assert.ok(existsSync(work("data", "generated_data", "20261125-173000.csv")));

  const predict = await run([
    "dags",
    "trigger",
    "predict",
    "--wait",
    "--date",
    "2026-11-25T17:30:05Z",
    "--conf",
    JSON.stringify({
      inputPath: work("data", "generated_data", "latest.csv"),
      featuresFolder: work("data"),
      modelPath: work("models"),
      predictionsFolder: work("data", "predictions"),
    }),
  ]);
  assert.equal(predict.code, 0, predict.stderr);
  const csv = work("data", "predictions", "20261125-173005.csv");
  assert.match(predict.stdout, new RegExp(`^ {2}predict +success .*-> "${csv}"$`, "m"));
  const [header, ...rows] = readFileSync(csv, "utf8").trim().split("\n");
  assert.equal(header, "predictions,predictions_time");
  assert.equal(rows.length, 2, "the generator writes one record twice");
  for (const row of rows) {
    const [value, stamp] = row.split(",");
    assert.ok(Number.isFinite(Number(value)), row);
    assert.equal(stamp, "20261125-173005");
  }
  assert.deepEqual(readdirSync(work("data", "predictions")).sort(), ["20261125-173005.csv", "latest.csv"]);
  assert.ok(existsSync(work("data", "prepared_features_20261125-173005.parquet")));

  // Only the three manual runs: --wait ran them with their DAGs paused, and created no scheduled run.
  const runs = JSON.parse((await run(["dags", "list-runs", "--json"])).stdout) as {
    dagId: string;
    runType: string;
    state: string;
  }[];
  assert.deepEqual(runs.map((r) => `${r.dagId} ${r.runType} ${r.state}`).sort(), [
    "get_data_from_engie_hub manual success",
    "predict manual success",
    "train manual success",
  ]);
  const dags = JSON.parse((await run(["dags", "list", "--json"])).stdout) as {
    dags: { dagId: string; paused: boolean }[];
  };
  assert.deepEqual(
    dags.dags.map((d) => [d.dagId, d.paused]),
    [
      ["get_data_from_engie_hub", true],
      ["predict", true],
      ["train", true],
    ],
  );
});

test("dags trigger --wait: a run that fails exits 1 and shows the failing task's error", async () => {
  const f = schedulerEnv();
  try {
    f.install("scheduler-failing.ts");
    const failed = await cli(["dags", "trigger", "sched_failing", "--wait"], f.env, { timeoutMs: 60_000 });
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stdout, /^sched_failing\/manual__\S+: failed/m);
    assert.match(failed.stdout, /upstream_failed/);
  } finally {
    f.cleanup();
  }
});
