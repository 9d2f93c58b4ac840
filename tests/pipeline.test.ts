import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { after, before, describe, test } from "node:test";
import pl from "nodejs-polars";
import { synthesizeDataset } from "../src/data/synthetic.js";
import { MissingInputError } from "../src/io/with-io.js";
import { listModels } from "../src/model/io.js";
import {
  generateData,
  predictWithIO,
  prepareFeaturesWithIO,
  type TrainWithIOResult,
  trainModelWithIO,
} from "../src/pipeline/steps.js";
import { listModelsJson } from "../src/server/files.js";
import { tempDir } from "./helpers/csv.js";

const tmp = tempDir();
const d = (...p: string[]) => join(tmp.dir, ...p);
const now = new Date("2026-11-25T17:30:05Z");
let trained: TrainWithIOResult;

before(async () => {
  await synthesizeDataset(d("data.csv"), { seed: 5, days: 4 });
});
after(() => tmp.cleanup());

describe("the pipeline steps, file to file (train then predict, as the DAGs run them)", () => {
  test("prepare_features (training) -> train_model writes a dated model folder and points latest at it", async () => {
    const features = await prepareFeaturesWithIO(d("data.csv"), d("prepared_features_train.parquet"), {
      trainingMode: true,
    });
    assert.equal(features.columns[0], "Ba_avg");
    trained = await trainModelWithIO(features.path, d("models"), {
      epochs: 3,
      progress: false,
      now,
      log: () => {},
    });
    assert.equal(trained.name, "20261125-173005");
    for (const f of ["model.json", "weights.bin", "metadata.json"])
      assert.ok(existsSync(join(trained.dir, f)), f);
    assert.equal(readFileSync(d("models", "latest"), "utf8").trim(), trained.name);
    assert.ok(Number.isFinite(trained.metrics.rmse));
    assert.ok(Number.isFinite(trained.validationMetrics.rmse));
    // The metadata names the data the model was fitted on: the features file's sha256.
    const expected = createHash("sha256").update(readFileSync(features.path)).digest("hex");
    const metadata = JSON.parse(readFileSync(join(trained.dir, "metadata.json"), "utf8"));
    assert.equal(metadata.dataSha256, expected);
    // Scored on the test rows (the last 10 %), the early-stopping rows (10 % before them) reported apart.
    const rows = metadata.training.rows + metadata.training.validationRows + metadata.training.testRows;
    assert.equal(features.rows, rows);
    assert.equal(metadata.training.testRows, Math.floor(rows * 0.1));
    assert.deepEqual(metadata.metrics, trained.metrics);
    assert.deepEqual(metadata.validationMetrics, trained.validationMetrics);
  });

  test("generate -> prepare_features (prediction) -> predict writes the course's two columns, dated and latest", async () => {
    const generated = await generateData(d("data.csv"), d("generated_data"), { now });
    const features = await prepareFeaturesWithIO(
      generated.latest,
      d("prepared_features_20261125-173005.parquet"),
      {
        trainingMode: false,
      },
    );
    const result = await predictWithIO(features.path, d("models"), d("predictions"), { now });
    assert.equal(result.path, d("predictions", "20261125-173005.csv"));
    assert.equal(result.rows, 2);
    assert.equal(result.model, trained.dir);
    const text = readFileSync(result.path, "utf8");
    assert.equal(text, readFileSync(d("predictions", "latest.csv"), "utf8"));
    const [header, ...rows] = text.trim().split("\n");
    assert.equal(header, "predictions,predictions_time");
    assert.equal(rows.length, 2);
    for (const r of rows) {
      const [value, stamp] = r.split(",");
      assert.ok(Number.isFinite(Number(value)), `prediction ${value}`);
      assert.equal(stamp, "20261125-173005");
    }
    // The same sample twice gives the same prediction twice.
    assert.equal(rows[0]?.split(",")[0], rows[1]?.split(",")[0]);

    // A second run in the same second never overwrites the first one's file.
    const again = await predictWithIO(features.path, d("models"), d("predictions"), { now });
    assert.equal(again.path, d("predictions", "20261125-173005_2.csv"));
    assert.deepEqual(readdirSync(d("predictions")).sort(), [
      "20261125-173005.csv",
      "20261125-173005_2.csv",
      "latest.csv",
    ]);
  });

  test("the model may be given as the registry, a model folder, or models/latest (the pointer file itself)", async () => {
    const features = d("prepared_features_20261125-173005.parquet");
    for (const model of [d("models"), trained.dir, d("models", "latest")]) {
      const out = d(`predictions-${basename(model)}`);
      const result = await predictWithIO(features, model, out, { now });
      assert.equal(result.model, trained.dir, model);
    }
    assert.deepEqual(listModels(d("models", "latest")), [], "a file lists no model, it does not throw");
  });

  test("empty inputs are refused and leave every file as it was: no empty features file, latest.csv kept", async () => {
    const header = readFileSync(d("data.csv"), "utf8").split("\n")[0] as string;
    writeFileSync(d("header-only.csv"), `${header}\n`);
    const features = d("prepared_features_empty.parquet");
    await assert.rejects(
      prepareFeaturesWithIO(d("header-only.csv"), features, { trainingMode: false }),
      (e: Error) => /header-only\.csv \(line 2\): the file has its header but no data line/.test(e.message),
    );
    assert.ok(!existsSync(features), "no features file written");
    // Rows, but none with a target: nothing to train on.
    const lines = readFileSync(d("data.csv"), "utf8").trim().split("\n").slice(0, 4);
    const target = (lines[0] as string).split(";").indexOf("Ba_avg");
    const noTarget = lines.map((l, i) =>
      i === 0
        ? l
        : l
            .split(";")
            .map((v, j) => (j === target ? "" : v))
            .join(";"),
    );
    writeFileSync(d("no-target.csv"), `${noTarget.join("\n")}\n`);
    await assert.rejects(
      prepareFeaturesWithIO(d("no-target.csv"), features, { trainingMode: true }),
      /no-target\.csv: no row left to make features from \(3 rows read, none with a pitch angle Ba_avg\)/,
    );
    assert.ok(!existsSync(features));
    // A features file with no rows (written by something else): predict writes nothing, latest.csv stays.
    const latest = readFileSync(d("predictions", "latest.csv"), "utf8");
    const before = readdirSync(d("predictions")).sort();
    pl.readParquet(d("prepared_features_20261125-173005.parquet")).head(0).writeParquet(d("zero.parquet"));
    await assert.rejects(
      predictWithIO(d("zero.parquet"), d("models"), d("predictions"), { now }),
      /zero\.parquet has no rows: nothing to predict, no file written/,
    );
    assert.deepEqual(readdirSync(d("predictions")).sort(), before);
    assert.equal(readFileSync(d("predictions", "latest.csv"), "utf8"), latest);
  });

  test("the Models page's data: test and validation metrics, the three row counts; format 1 says validation", () => {
    // A copy of the trained model as windflow wrote it before the test split (metadata format 1).
    const old = d("models", "20200101-000000");
    cpSync(trained.dir, old, { recursive: true });
    const meta = JSON.parse(readFileSync(join(old, "metadata.json"), "utf8"));
    const { validationMetrics, ...rest } = meta;
    const { testRows: _, testFraction: __, ...training } = rest.training;
    writeFileSync(
      join(old, "metadata.json"),
      JSON.stringify({ ...rest, formatVersion: 1, metrics: validationMetrics, training }),
    );
    const [latest, older] = listModelsJson(d("models"));
    assert.equal(latest?.name, trained.name);
    assert.equal(latest?.scoredOn, "test");
    assert.deepEqual(latest?.metrics, trained.metrics);
    assert.deepEqual(latest?.validationMetrics, trained.validationMetrics);
    assert.equal(latest?.testRows, trained.metrics.rows);
    assert.equal(latest?.validationRows, trained.validationMetrics.rows);
    assert.equal(older?.name, "20200101-000000");
    assert.equal(older?.scoredOn, "validation");
    assert.deepEqual(older?.validationMetrics, validationMetrics);
    assert.equal(older?.testRows, 0);
    rmSync(old, { recursive: true });
  });

  test("predict without a model says to run the train DAG; nothing is written", async () => {
    const features = d("f.parquet");
    pl.DataFrame({ x: [1] }).writeParquet(features);
    await assert.rejects(predictWithIO(features, d("empty-models"), d("p2")), (e) => {
      assert.ok(e instanceof MissingInputError);
      assert.equal(e.what, "model");
      assert.match(e.hint ?? "", /run the train DAG first/);
      return true;
    });
    assert.equal(existsSync(d("p2")), false);
  });

  test("features that do not match the model's are refused with the column named", async () => {
    const train = pl.readParquet(d("prepared_features_train.parquet"));
    const wrong = train.drop("Ba_avg").drop("Ws_avg").withColumn(pl.lit(1.0).alias("Extra_col"));
    wrong.writeParquet(d("wrong.parquet"));
    await assert.rejects(predictWithIO(d("wrong.parquet"), d("models"), d("p3")), /Ws_avg/);
    assert.equal(existsSync(d("p3")), false);
  });

  test("train without features says which task makes them", async () => {
    await assert.rejects(trainModelWithIO(d("none.parquet"), d("models")), (e: Error & { hint?: string }) => {
      assert.match(e.message, /no features file at .*none\.parquet/);
      assert.match(e.hint ?? "", /prepare_features/);
      return true;
    });
  });
});
