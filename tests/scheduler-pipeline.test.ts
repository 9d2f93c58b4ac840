/**
 * The real pipeline through the real scheduler and executor: the train DAG then the predict DAG (fixture
 * copies of dags/*.ts whose paths come from the trigger's conf) on a small synthetic dataset, producing the
 * dated predictions CSV named after the run's logical date.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { synthesizeDataset } from "../src/data/synthetic.js";
import { syncDagFolder } from "../src/orchestration/scheduler/dag-processor.js";
import { setDagPaused, triggerDag } from "../src/orchestration/scheduler/trigger.js";
import { type SchedulerEnv, schedulerEnv } from "./helpers/scheduler-env.js";

let e: SchedulerEnv | undefined;
after(() => e?.cleanup());

test("train then predict through the scheduler: a model, then a dated predictions CSV", async () => {
  e = schedulerEnv();
  const work = (...p: string[]) => join((e as SchedulerEnv).home, "project", ...p);
  await synthesizeDataset(work("data", "data.csv"), { seed: 5, days: 3 });
  e.install("scheduler-train.ts");
  e.install("scheduler-predict.ts");
  const synced = await syncDagFolder(e.config, e.store);
  assert.deepEqual(synced.added.sort(), ["pipe_predict", "pipe_train"]);
  setDagPaused(e.store, "pipe_train", false);
  setDagPaused(e.store, "pipe_predict", false);

  const train = triggerDag(e.store, "pipe_train", {
    conf: {
      dataPath: work("data", "data.csv"),
      featuresPath: work("data", "prepared_features_train.parquet"),
      modelsDir: work("models"),
    },
    logicalDate: "2026-11-25T17:00:00Z",
  });
  const trained = await e.runScheduler({ mode: "until-idle", timeoutMs: 120_000 });
  assert.equal(trained.stoppedBy, "idle", e.lines.join("\n"));
  assert.equal(e.store.getRun(train.run)?.state, "success", e.lines.join("\n"));
  const modelDir = e.store.getTaskInstance({ ...train.run, taskId: "train_model" })?.returnValue;
  assert.equal(modelDir, work("models", "20261125-170000"));
  assert.ok(existsSync(join(modelDir as string, "model.json")));

  const predict = triggerDag(e.store, "pipe_predict", {
    conf: {
      dataPath: work("data", "data.csv"),
      generatedFolder: work("data", "generated_data"),
      featuresFolder: work("data"),
      modelPath: work("models"),
      predictionsFolder: work("data", "predictions"),
    },
    logicalDate: "2026-11-25T17:30:05Z",
  });
  assert.equal(predict.stamp, "20261125-173005");
  const predicted = await e.runScheduler({ mode: "until-idle", timeoutMs: 120_000 });
  assert.equal(predicted.stoppedBy, "idle", e.lines.join("\n"));
  assert.equal(e.store.getRun(predict.run)?.state, "success", e.lines.join("\n"));
  const csv = e.store.getTaskInstance({ ...predict.run, taskId: "predict" })?.returnValue;
  assert.equal(csv, work("data", "predictions", "20261125-173005.csv"));
  const [header, ...rows] = readFileSync(csv as string, "utf8")
    .trim()
    .split("\n");
  assert.equal(header, "predictions,predictions_time");
  assert.ok(rows.length > 0);
  for (const row of rows) {
    const [value, stamp] = row.split(",");
    assert.ok(Number.isFinite(Number(value)), row);
    assert.equal(stamp, "20261125-173005");
  }
  assert.deepEqual(readdirSync(work("data", "predictions")).sort(), ["20261125-173005.csv", "latest.csv"]);
  assert.ok(existsSync(work("data", "prepared_features_20261125-173005.parquet")));
});
