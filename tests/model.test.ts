/**
 * The pitch model: scaler, architecture, training (split, early stopping), prediction checks, save/load and the
 * registry. Runs on the cpu backend: pure JS, bit-reproducible, and fast enough for these tiny models
 * (the wasm backend is covered by tests/backend.test.ts).
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import pl from "nodejs-polars";
import { WindflowError } from "../src/errors.js";
import { ensureBackend } from "../src/model/backend.js";
import {
  LATEST_FILE,
  listModels,
  loadModel,
  METADATA_FILE,
  MODEL_FILE,
  registryStamp,
  saveModel,
  saveToRegistry,
  WEIGHTS_FILE,
} from "../src/model/io.js";
import { histogram } from "../src/model/metadata.js";
import {
  cosine,
  createModel,
  EarlyStopping,
  predict,
  splitRows,
  type TrainResult,
  trainModel,
} from "../src/model/model.js";
import { StandardScaler } from "../src/model/scaler.js";
import { speedUpWasmMatMul } from "../src/model/wasm-matmul.js";
import { tempDir } from "./helpers/csv.js";

const tmp = tempDir("windflow-model-");
after(() => tmp.cleanup());
before(async () => {
  await ensureBackend({ prefer: "cpu", log: () => {} });
});

/** A deterministic pseudo-random stream in [0, 1) (mulberry32). */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `rows` rows of x1, x2, x3 in [-1, 1) and Ba_avg = 2 x1 - x2 (x3 is noise the model must ignore). */
function linearFrame(rows: number, seed = 1): pl.DataFrame {
  const r = uniform(seed);
  const x1 = Float64Array.from({ length: rows }, () => r() * 2 - 1);
  const x2 = Float64Array.from({ length: rows }, () => r() * 2 - 1);
  const x3 = Float64Array.from({ length: rows }, () => r() * 2 - 1);
  const y = x1.map((v, i) => 2 * v - (x2[i] as number));
  return pl.DataFrame({ x1, x2, x3, Ba_avg: y });
}

function windflowError(fn: () => unknown, pattern: RegExp): WindflowError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof WindflowError, `expected a WindflowError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return error;
  }
  assert.fail("no error thrown");
}

async function rejectsWindflow(promise: Promise<unknown>, pattern: RegExp): Promise<WindflowError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof WindflowError, `expected a WindflowError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return error;
  }
  assert.fail("no error thrown");
}

const quiet = { progress: false, log: () => {} } as const;

/** One small trained model shared by the prediction and save/load tests, trained when first needed. */
let trained: TrainResult;
let training: Promise<void> | undefined;
function trainShared(): Promise<void> {
  training ??= (async () => {
    trained = await trainModel(linearFrame(600), {
      ...quiet,
      hiddenUnits: [16, 8],
      epochs: 5,
      batchSize: 32,
      learningRate: 0.01,
    });
  })();
  return training;
}

describe("StandardScaler", () => {
  const frame = pl.DataFrame({ a: [1, 2, 3, 4], b: [10, 10, 10, 10], c: [-2, 0, 2, 0] });

  test("fits mean and population std; a constant column gets scale 1 and maps to 0", () => {
    const s = new StandardScaler().fit(frame);
    const p = s.toJSON();
    assert.deepEqual(p.columns, ["a", "b", "c"]);
    assert.deepEqual(p.mean, [2.5, 10, 0]);
    assert.ok(Math.abs((p.scale[0] as number) - Math.sqrt(1.25)) < 1e-12);
    assert.equal(p.scale[1], 1);
    assert.ok(Math.abs((p.scale[2] as number) - Math.sqrt(2)) < 1e-12);
    const z = s.transform(frame);
    assert.equal(z.length, 12);
    // row-major: row 0 = (a, b, c)
    assert.ok(Math.abs((z[0] as number) - -1.5 / Math.sqrt(1.25)) < 1e-6);
    assert.deepEqual([z[1], z[4], z[7], z[10]], [0, 0, 0, 0]);
  });

  test("transform takes the columns by name, in the fitted order, ignoring others", () => {
    const s = new StandardScaler().fit(frame);
    const shuffled = frame.select("c", "b", "a").withColumn(pl.lit(7).alias("extra"));
    assert.deepEqual(Array.from(s.transform(shuffled)), Array.from(s.transform(frame)));
  });

  test("toJSON / fromJSON round trip gives the same transform", () => {
    const s = new StandardScaler({ clip: "range" }).fit(frame);
    const back = StandardScaler.fromJSON(JSON.parse(JSON.stringify(s.toJSON())));
    const probe = pl.DataFrame({ a: [0, 9], b: [10, 3], c: [5, -5] });
    assert.deepEqual(Array.from(back.transform(probe)), Array.from(s.transform(probe)));
    assert.deepEqual(back.toJSON(), s.toJSON());
  });

  test("clip 'range' clamps to the fitted range: a column constant in the fit stays 0", () => {
    const s = new StandardScaler({ clip: "range" }).fit(frame);
    const z = s.transform(pl.DataFrame({ a: [100], b: [360], c: [0] }));
    assert.equal(z[0], Math.fround((4 - 2.5) / Math.sqrt(1.25)));
    assert.equal(z[1], 0);
    const plain = new StandardScaler().fit(frame).transform(pl.DataFrame({ a: [100], b: [360], c: [0] }));
    assert.equal(plain[1], 350);
  });

  test("inverseTransform undoes transform; with clip 'range' it stays within the fitted range", () => {
    const s = new StandardScaler().fit(pl.DataFrame({ y: [3, 5, 10] }));
    const z = s.transform(pl.DataFrame({ y: [4, 8] }));
    const back = s.inverseTransform(z);
    assert.ok(Math.abs((back[0] as number) - 4) < 1e-5 && Math.abs((back[1] as number) - 8) < 1e-5);
    const clamped = new StandardScaler({ clip: "range" }).fit(pl.DataFrame({ y: [-1, 90] }));
    assert.deepEqual(Array.from(clamped.inverseTransform([-5, 0, 5])), [-1, 44.5, 90]);
  });

  test("errors name the column: missing, with nulls, not numeric; bad JSON is refused", () => {
    const s = new StandardScaler().fit(frame);
    windflowError(() => s.transform(frame.drop("b")), /no column b/);
    windflowError(
      () => s.transform(pl.DataFrame({ a: [1, null], b: [1, 2], c: [1, 2] })),
      /column a has 1 missing/,
    );
    windflowError(
      () => s.transform(pl.DataFrame({ a: ["x"], b: [1], c: [1] })),
      /column a is .*String|column a is .*Utf8/,
    );
    windflowError(() => new StandardScaler().transform(frame), /not fitted/);
    windflowError(() => StandardScaler.fromJSON({ ...s.toJSON(), scale: [1, 0, 1] }), /scale/);
    windflowError(() => StandardScaler.fromJSON({ ...s.toJSON(), mean: [1] }), /mean must be an array of 3/);
  });
});

describe("createModel", () => {
  test("135 inputs -> 128 -> 64 -> 1, compiled with MSE", () => {
    const model = createModel(135);
    assert.deepEqual(model.inputs[0]?.shape, [null, 135]);
    assert.deepEqual(model.outputs[0]?.shape, [null, 1]);
    assert.deepEqual(
      model.layers.map((l) => (l.getConfig() as { units: number }).units),
      [128, 64, 1],
    );
    assert.equal(model.loss, "meanSquaredError");
    const out = model.predict(tf.zeros([5, 135])) as tf.Tensor;
    assert.deepEqual(out.shape, [5, 1]);
    tf.dispose([out]);
    model.dispose();
  });

  test("the seed fixes the initial weights; bad sizes are refused", () => {
    const w = (seed: number) => {
      const m = createModel(4, { hiddenUnits: [3], seed });
      const values = Array.from(m.getWeights()[0]?.dataSync() ?? []);
      m.dispose();
      return values;
    };
    assert.deepEqual(w(7), w(7));
    assert.notDeepEqual(w(7), w(8));
    windflowError(() => createModel(0), /inputSize/);
    windflowError(() => createModel(3, { hiddenUnits: [0] }), /hiddenUnits/);
  });
});

describe("trainModel", () => {
  test("a tiny fit learns y = 2 x1 - x2: the loss decreases and R^2 > 0.9", async () => {
    const tensorsBefore = tf.memory().numTensors;
    const reports: number[] = [];
    const { model, metadata } = await trainModel(linearFrame(1000), {
      ...quiet,
      hiddenUnits: [16, 8],
      epochs: 12,
      batchSize: 32,
      learningRate: 0.01,
      onEpoch: (r) => {
        reports.push(r.loss);
        assert.equal(r.epochs, 12);
      },
    });
    assert.ok(reports.length >= 2);
    assert.ok((reports.at(-1) as number) < (reports[0] as number) / 2, `loss ${reports.join(", ")}`);
    assert.ok(metadata.metrics.r2 > 0.9, `R^2 ${metadata.metrics.r2}`);
    assert.ok(metadata.metrics.rmse < metadata.metrics.baselineRmse / 3);
    assert.deepEqual(metadata.features, ["x1", "x2", "x3"]);
    assert.equal(metadata.target, "Ba_avg");
    assert.equal(metadata.backend, "cpu");
    // The training target's distribution (what the UI draws predictions over): the training rows only.
    const h = metadata.targetHistogram;
    assert.ok(h);
    assert.equal(h.edges.length, h.counts.length + 1);
    assert.equal(
      h.counts.reduce((a, b) => a + b, 0),
      metadata.training.rows,
    );
    // New rows, never seen.
    const fresh = linearFrame(200, 99);
    const p = predict(model, metadata, fresh);
    const y = fresh.getColumn("Ba_avg").toArray() as number[];
    const mse = y.reduce((s, v, i) => s + (v - (p[i] as number)) ** 2, 0) / y.length;
    assert.ok(mse < 0.1, `mse on fresh rows ${mse}`);
    model.dispose();
    assert.equal(tf.memory().numTensors, tensorsBefore, "no tensor left behind");
  });

  test("the split is time-ordered: the validation rows are the last ones, the scalers never see them", async () => {
    assert.deepEqual(splitRows(10, 0.2), { train: 8, validation: 2 });
    assert.deepEqual(splitRows(215_636, 0.2), { train: 172_509, validation: 43_127 });
    windflowError(() => splitRows(3, 0.2), /too few/);
    windflowError(() => splitRows(100, 1), /between 0 and 1/);
    // x grows with the row number: training rows have x < 80, the last 20 rows x >= 80.
    const rows = 100;
    const x = Float64Array.from({ length: rows }, (_, i) => i);
    const frame = pl.DataFrame({ x, Ba_avg: Float64Array.from(x, (v) => v * 0.5) });
    const { model, metadata } = await trainModel(frame, { ...quiet, hiddenUnits: [4], epochs: 1 });
    assert.equal(metadata.training.rows, 80);
    assert.equal(metadata.training.validationRows, 20);
    assert.equal(metadata.metrics.rows, 20);
    assert.equal(metadata.scaler.max[0], 79);
    assert.equal(metadata.scaler.mean[0], 39.5);
    assert.equal(metadata.targetScaler.mean[0], 19.75);
    model.dispose();
  });

  test("early stopping stops after `patience` worse epochs and restores the best weights", async () => {
    // Training rows: y = 2x. Validation rows (the last 25%): y = -2x. Learning the training relation makes the
    // validation loss worse, so the best epoch comes early and the last ones are worse.
    const rows = 400;
    const r = uniform(5);
    const x = Float64Array.from({ length: rows }, () => r() * 2 - 1);
    const y = Float64Array.from(x, (v, i) => (i < 300 ? 2 * v : -2 * v));
    const { model, metadata } = await trainModel(pl.DataFrame({ x, Ba_avg: y }), {
      ...quiet,
      hiddenUnits: [8],
      epochs: 30,
      batchSize: 16,
      learningRate: 0.02,
      patience: 3,
      startFromEpoch: 1,
      validationFraction: 0.25,
    });
    const t = metadata.training;
    assert.ok(t.epochsRun < 30, `ran ${t.epochsRun} epochs`);
    assert.equal(t.epochsRun, t.bestEpoch + 3);
    const best = t.history[t.bestEpoch - 1];
    const last = t.history.at(-1);
    assert.ok(best && last && best.best && last.valRmse > best.valRmse);
    // The returned model scores like the best epoch, not like the last one.
    assert.ok(
      Math.abs(metadata.metrics.rmse - best.valRmse) < 1e-4 * best.valRmse,
      `${metadata.metrics.rmse} vs ${best.valRmse}`,
    );
    model.dispose();
  });

  test("EarlyStopping on its own: the weights of the best epoch come back", () => {
    const model = createModel(1, { hiddenUnits: [] });
    const stopper = new EarlyStopping(2);
    const losses = [3, 1, 2, 1.5];
    const stops: boolean[] = [];
    losses.forEach((loss, i) => {
      model.setWeights([tf.fill([1, 1], i + 1), tf.zeros([1])]);
      stops.push(stopper.update(model, i + 1, loss).stop);
    });
    assert.deepEqual(stops, [false, false, false, true]);
    assert.equal(stopper.bestEpoch, 2);
    stopper.restore(model);
    assert.deepEqual(Array.from(model.getWeights()[0]?.dataSync() ?? []), [2]);
    assert.equal(new EarlyStopping(5).update(model, 1, Number.NaN).stop, true);
    model.dispose();
  });

  test("the learning rate follows a cosine from the first to the last epoch", () => {
    assert.equal(cosine(1e-3, 1e-5, 1, 10), 1e-3);
    assert.ok(Math.abs(cosine(1e-3, 1e-5, 10, 10) - 1e-5) < 1e-12);
    assert.ok(Math.abs(cosine(1, 0, 2, 3) - 0.5) < 1e-12);
  });

  test("a frame without the target is refused", async () => {
    await rejectsWindflow(trainModel(pl.DataFrame({ a: [1, 2, 3] }), quiet), /no target column Ba_avg/);
  });
});

describe("predict", () => {
  before(() => trainShared());

  test("reorders the columns by name and ignores the target column", () => {
    const frame = linearFrame(50, 3);
    const p1 = predict(trained.model, trained.metadata, frame.drop("Ba_avg"));
    const p2 = predict(trained.model, trained.metadata, frame.select("x3", "Ba_avg", "x1", "x2"));
    assert.equal(p1.length, 50);
    assert.deepEqual(Array.from(p2), Array.from(p1));
    assert.equal(predict(trained.model, trained.metadata, frame.head(0)).length, 0);
  });

  test("a missing or an extra feature column is an error naming it", () => {
    const frame = linearFrame(5, 3).drop("Ba_avg");
    const missing = windflowError(
      () => predict(trained.model, trained.metadata, frame.drop("x2")),
      /missing feature column x2/,
    );
    assert.ok(missing.hint);
    windflowError(
      () => predict(trained.model, trained.metadata, frame.withColumn(pl.lit(1).alias("Wind_turbine_name"))),
      /unexpected column Wind_turbine_name/,
    );
    windflowError(
      () =>
        predict(trained.model, trained.metadata, frame.withColumn(pl.lit(null).cast(pl.Float64).alias("x1"))),
      /column x1 has 5 missing values/,
    );
  });
});

describe("save and load", () => {
  before(() => trainShared());
  const probe = () => linearFrame(64, 11).drop("Ba_avg");

  test("saveModel -> loadModel predicts the same numbers; model.json is standard tfjs", async () => {
    const dir = join(tmp.dir, "one");
    const saved = await saveModel(dir, trained.model, trained.metadata);
    assert.equal(saved, dir);
    assert.deepEqual(readdirSync(dir).sort(), [METADATA_FILE, MODEL_FILE, WEIGHTS_FILE].sort());
    assert.deepEqual(
      readdirSync(tmp.dir).filter((n) => n.startsWith(".")),
      [],
      "no temporary folder left",
    );
    const json = JSON.parse(readFileSync(join(dir, MODEL_FILE), "utf8"));
    assert.equal(json.format, "layers-model");
    assert.deepEqual(json.weightsManifest[0].paths, ["./weights.bin"]);
    const meta = JSON.parse(readFileSync(join(dir, METADATA_FILE), "utf8"));
    assert.deepEqual(meta.features, ["x1", "x2", "x3"]);
    assert.equal(meta.backend, "cpu");
    assert.match(meta.createdAt, /Z$/);
    assert.equal(
      meta.windflowVersion,
      JSON.parse(readFileSync(join(__dirname, "..", "package.json"), "utf8")).version,
    );

    const loaded = await loadModel(dir, { log: () => {} });
    assert.equal(loaded.dir, dir);
    assert.deepEqual(loaded.metadata, trained.metadata);
    const before = predict(trained.model, trained.metadata, probe());
    assert.deepEqual(Array.from(predict(loaded.model, loaded.metadata, probe())), Array.from(before));

    // Stock tfjs: a plain handler reading model.json + weights.bin with tfjs' own helpers loads it too.
    const stock = await tf.loadLayersModel({
      load: () =>
        tf.io.getModelArtifactsForJSON(json, async (manifest) => {
          const bytes = readFileSync(join(dir, manifest[0]?.paths[0] ?? ""));
          return [manifest[0]?.weights ?? [], new Uint8Array(bytes).buffer];
        }),
    });
    const a = trained.model.getWeights().map((w) => Array.from(w.dataSync()));
    const b = stock.getWeights().map((w) => Array.from(w.dataSync()));
    assert.deepEqual(b, a);
    stock.dispose();
    loaded.model.dispose();

    await rejectsWindflow(saveModel(dir, trained.model, trained.metadata), /already exists/);
    await saveModel(
      dir,
      trained.model,
      { ...trained.metadata, dataSha256: "ab".repeat(32) },
      { overwrite: true },
    );
    assert.equal(JSON.parse(readFileSync(join(dir, METADATA_FILE), "utf8")).dataSha256, "ab".repeat(32));
  });

  test("registry: two saves in the same second get distinct folders and latest points at the second", async () => {
    const models = join(tmp.dir, "models");
    const now = new Date("2025-03-30T01:30:05.250Z");
    const first = await saveToRegistry(models, trained.model, trained.metadata, { now });
    const second = await saveToRegistry(models, trained.model, trained.metadata, { now });
    assert.equal(first.name, "20250330-013005");
    assert.equal(second.name, "20250330-013005-1");
    assert.equal(readFileSync(join(models, LATEST_FILE), "utf8").trim(), second.name);
    assert.deepEqual(listModels(models), [first.name, second.name]);
    const loaded = await loadModel(models, { log: () => {} });
    assert.equal(loaded.dir, second.dir);
    loaded.model.dispose();
    assert.equal(registryStamp(new Date("2024-12-31T23:59:59Z")), "20241231-235959");
  });

  test("no model: the error says to run the train DAG", async () => {
    const empty = join(tmp.dir, "empty-models");
    mkdirSync(empty);
    const e = await rejectsWindflow(loadModel(empty), /no model in/);
    assert.match(e.hint ?? "", /no model in empty-models\/: run the train DAG first \(or `windflow train`\)/);
    await rejectsWindflow(loadModel(join(tmp.dir, "does-not-exist")), /no model in/);
  });

  test("a broken folder is a clear error: corrupt metadata, dangling latest, truncated weights", async () => {
    const dir = join(tmp.dir, "broken");
    await saveModel(dir, trained.model, trained.metadata);
    const meta = readFileSync(join(dir, METADATA_FILE), "utf8");
    writeFileSync(join(dir, METADATA_FILE), meta.slice(0, 40));
    await rejectsWindflow(loadModel(dir), /metadata\.json: corrupt model metadata: not valid JSON/);
    writeFileSync(join(dir, METADATA_FILE), JSON.stringify({ ...JSON.parse(meta), features: "x1" }));
    await rejectsWindflow(loadModel(dir), /corrupt model metadata: features must be/);
    writeFileSync(join(dir, METADATA_FILE), meta);
    const weights = readFileSync(join(dir, WEIGHTS_FILE));
    writeFileSync(join(dir, WEIGHTS_FILE), weights.subarray(0, 10));
    await rejectsWindflow(loadModel(dir, { log: () => {} }), /the weights hold 10 bytes/);

    const registry = join(tmp.dir, "dangling");
    mkdirSync(registry);
    writeFileSync(join(registry, LATEST_FILE), "20250101-000000\n");
    await rejectsWindflow(loadModel(registry), /points at 20250101-000000, which holds no model\.json/);
    assert.ok(!existsSync(join(registry, "20250101-000000")));
  });
});

describe("wasm transposed products (speedUpWasmMatMul)", () => {
  after(() => ensureBackend({ prefer: "cpu", log: () => {} }));

  test("give the numbers of the cpu backend and leave nothing behind", async () => {
    const r = uniform(9);
    const values = (n: number) => Array.from({ length: n }, () => r() * 2 - 1);
    const a = values(7 * 5);
    const b = values(7 * 3);
    const bias = values(3);
    const products = () =>
      tf.tidy(() => {
        const ta = tf.tensor2d(a, [7, 5]);
        const tb = tf.tensor2d(b, [7, 3]);
        return [
          tf.matMul(ta, tb, true, false),
          tf.matMul(tb.transpose(), ta.transpose(), false, true),
          tf.fused.matMul({ a: ta, b: tb, transposeA: true, bias: tf.tensor1d(bias), activation: "relu" }),
        ].map((t) => Array.from(t.dataSync()));
      });
    const expected = products();
    await ensureBackend({ prefer: "wasm", log: () => {} });
    assert.equal(speedUpWasmMatMul(), true);
    assert.equal(speedUpWasmMatMul(), true, "idempotent");
    const backend = tf.engine().backend;
    const dataBefore = backend.numDataIds();
    const got = products();
    assert.equal(backend.numDataIds(), dataBefore, "the transposed copies are freed");
    got.forEach((values, i) => {
      values.forEach((v, j) => {
        assert.ok(Math.abs(v - (expected[i]?.[j] as number)) < 1e-5, `product ${i}[${j}]: ${v}`);
      });
    });
  });
});

describe("histogram", () => {
  test("equal-width bins, the maximum in the last bin, NaN ignored", () => {
    const h = histogram([0, 1, 2, 3, 4, Number.NaN], 4);
    assert.deepEqual(h.edges, [0, 1, 2, 3, 4]);
    assert.deepEqual(h.counts, [1, 1, 1, 2]);
    assert.deepEqual(histogram([5, 5], 2), { edges: [5, 5.5, 6], counts: [2, 0] });
    assert.deepEqual(histogram([], 3), { edges: [], counts: [] });
  });
});
