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
  readMetadata,
  registryStamp,
  saveModel,
  saveToRegistry,
  WEIGHTS_FILE,
} from "../src/model/io.js";
import { histogram, METADATA_FORMAT_VERSION, scoredOn } from "../src/model/metadata.js";
import {
  cosine,
  createModel,
  EarlyStopping,
  modelInputs,
  predict,
  SplitError,
  splitRows,
  type TrainResult,
  trainModel,
} from "../src/model/model.js";
import { QuantileTransformer, rank } from "../src/model/quantile.js";
import { StandardScaler } from "../src/model/scaler.js";
import { FlatTrainer } from "../src/model/trainer.js";
import { speedUpWasmMatMul } from "../src/model/wasm-matmul.js";
import { collectGarbage } from "../src/util/gc.js";
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

describe("QuantileTransformer", () => {
  const unit = Math.sqrt(12);
  test("ranks against the training quantiles, centred: linear between them, clamped outside", () => {
    const x = Float64Array.from({ length: 101 }, (_, i) => i); // 0 .. 100
    const q = new QuantileTransformer({ quantiles: 4 }).fitColumns(["x"], [x]);
    assert.deepEqual(q.toJSON().references, [[0, 25, 50, 75, 100]]);
    const z = Array.from(q.transformColumns([Float64Array.of(0, 12.5, 50, 100, -5, 1e9)]));
    const expected = [0, 0.125, 0.5, 1, 0, 1].map((r) => (r - 0.5) * unit);
    z.forEach((v, i) => {
      assert.ok(Math.abs(v - (expected[i] as number)) < 1e-6, `${i}: ${v}`);
    });
    // numpy's linear interpolation between sorted values: quantiles of [1, 2, 3, 10] at 0, 1/3, 2/3, 1.
    const uneven = new QuantileTransformer({ quantiles: 3 }).fitColumns(
      ["u"],
      [Float64Array.of(10, 1, 3, 2)],
    );
    assert.deepEqual(uneven.toJSON().references, [[1, 2, 3, 10]]);
  });

  test("a value shared by many rows gets the middle of its run of quantiles; a constant column gives 0", () => {
    // 60 zeros then 1 .. 40: the references at ranks 0 .. 0.5 are all 0 (0.59 of the rows are 0).
    const col = Float64Array.from({ length: 100 }, (_, i) => (i < 60 ? 0 : i - 59));
    const q = new QuantileTransformer({ quantiles: 10 }).fitColumns(
      ["p", "c"],
      [col, new Float64Array(100).fill(7)],
    );
    const refs = q.toJSON().references[0] as number[];
    assert.deepEqual(refs.slice(0, 6), [0, 0, 0, 0, 0, 0]);
    assert.ok((refs[6] as number) > 0);
    assert.equal(rank(refs, 0), 0.25); // the middle of ranks 0 .. 0.5
    const [zero, constant] = Array.from(q.transformColumns([Float64Array.of(0), Float64Array.of(7)]));
    assert.ok(Math.abs((zero as number) - (0.25 - 0.5) * unit) < 1e-6);
    assert.equal(constant, 0);
  });

  test("transform takes the columns by name; toJSON / fromJSON round trip; bad parameters are refused", () => {
    const frame = linearFrame(50, 8);
    const q = new QuantileTransformer({ quantiles: 8 }).fitColumns(
      ["x1", "x2"],
      ["x1", "x2"].map((c) => Float64Array.from(frame.getColumn(c).toArray() as number[])),
    );
    const a = q.transform(frame.select("x3", "x2", "x1"));
    const b = QuantileTransformer.fromJSON(JSON.parse(JSON.stringify(q.toJSON()))).transform(frame);
    assert.deepEqual(Array.from(b), Array.from(a));
    assert.equal(a.length, 100);
    const params = q.toJSON();
    windflowError(
      () => QuantileTransformer.fromJSON({ ...params, type: "StandardScaler" }),
      /type is "StandardScaler"/,
    );
    windflowError(
      () =>
        QuantileTransformer.fromJSON({
          ...params,
          references: [[3, 2, 1, 0, 0, 0, 0, 0, 0], params.references[1]],
        }),
      /references of x1 must be 9 finite non-decreasing numbers/,
    );
    windflowError(
      () => QuantileTransformer.fromJSON({ ...params, references: [params.references[0]] }),
      /2 arrays/,
    );
    windflowError(() => new QuantileTransformer().transform(frame), /not fitted/);
    windflowError(() => new QuantileTransformer({ quantiles: 0 }), /positive integer/);
    windflowError(() => q.transform(frame.drop("x2")), /no column x2/);
  });
});

describe("writing into a wider matrix (modelInputs)", () => {
  test("scaler and ranks land in their columns of one row-major matrix; a target too small is refused", () => {
    const a = [1, 2, 3, 4];
    const b = [10, 10, 20, 40];
    const scaler = new StandardScaler().fitColumns(["a", "b"], [a, b]);
    const ranks = new QuantileTransformer({ quantiles: 4 }).fitColumns(["a", "b"], [a, b]);
    const out = new Float32Array(4 * 5).fill(Number.NaN);
    scaler.transformColumns([a, b], { out, stride: 5, offset: 0 });
    ranks.transformColumns([a, b], { out, stride: 5, offset: 2 });
    const z = scaler.transformColumns([a, b]);
    const q = ranks.transformColumns([a, b]);
    for (let r = 0; r < 4; r++) {
      assert.deepEqual(
        [...out.subarray(r * 5, r * 5 + 4)],
        [...z.subarray(r * 2, r * 2 + 2), ...q.subarray(r * 2, r * 2 + 2)],
      );
      assert.ok(Number.isNaN(out[r * 5 + 4] as number), "the column after them is untouched");
    }
    windflowError(() => scaler.transformColumns([a, b], { out, stride: 5, offset: 4 }), /cannot write 4 x 2/);
    windflowError(
      () => ranks.transformColumns([a, b], { out: new Float32Array(8), stride: 5, offset: 0 }),
      /cannot write/,
    );
  });

  test("modelInputs, made in tiles of rows and groups of columns, is the matrix written from whole columns", async () => {
    // 40,000 rows: two blocks of 16,384 and a part; 37 features: two groups of 16 and a part.
    const rows = 40_000;
    const d = 37;
    const r = uniform(5);
    const names = Array.from({ length: d }, (_, j) => `f${j}`);
    const columns = names.map((_, j) => Float64Array.from({ length: rows }, () => r() * (j + 1) + j));
    const frame = () => pl.DataFrame(Object.fromEntries(names.map((n, j) => [n, columns[j]])));
    const trainRows = 30_000;
    const training = columns.map((c) => c.subarray(0, trainRows));
    for (const quantiles of [null, 50]) {
      const scaler = new StandardScaler({ clip: "range" }).fitColumns(names, training);
      const width = quantiles === null ? d : 2 * d;
      const expected = new Float32Array(rows * width);
      scaler.transformColumns(columns, { out: expected, stride: width, offset: 0 });
      if (quantiles !== null)
        new QuantileTransformer({ quantiles })
          .fitColumns(names, training)
          .transformColumns(columns, { out: expected, stride: width, offset: d });
      const given = frame();
      const groups: string[][] = [];
      const built = await modelInputs(given, names, trainRows, {
        clip: "range",
        quantiles,
        afterGroup: async (group) => {
          groups.push([...group]);
        },
      });
      assert.equal(built.width, width);
      assert.deepEqual(built.scaler, scaler.toJSON(), `quantiles ${quantiles}`);
      assert.equal(built.x.length, expected.length);
      const first = built.x.findIndex((v, i) => v !== expected[i]);
      assert.equal(first, -1, `quantiles ${quantiles}: first difference at ${first}`);
      assert.deepEqual(
        groups.map((g) => g.length),
        [16, 16, 5],
      );
    }
    // A value that is not finite is named by its row in the whole column, not in its block.
    const broken = columns.map((c) => c.slice());
    (broken[20] as Float64Array)[20_000] = Number.NaN;
    const bad = pl.DataFrame(Object.fromEntries(names.map((n, j) => [n, broken[j]])));
    await assert.rejects(
      modelInputs(bad, names, trainRows, { clip: null, quantiles: null }),
      /column f20 has the value NaN at row 20000/,
    );
  });
});

describe("createModel", () => {
  test("135 features and their 135 ranks -> 64 -> 32 -> 1, compiled with MSE", () => {
    const model = createModel(135);
    assert.deepEqual(
      model.inputs.map((i) => [i.name, i.shape]),
      [
        ["features", [null, 135]],
        ["ranks", [null, 135]],
      ],
    );
    assert.deepEqual(model.outputs[0]?.shape, [null, 1]);
    const dense = (m: tf.LayersModel) =>
      m.layers
        .filter((l) => l.getClassName() === "Dense")
        .map((l) => [l.name, (l.getConfig() as { units: number }).units]);
    assert.deepEqual(dense(model), [
      ["hidden_1", 64],
      ["hidden_2", 32],
      ["pitch", 1],
    ]);
    assert.deepEqual(model.getLayer("hidden_1").getWeights()[0]?.shape, [270, 64]);
    assert.equal(model.loss, "meanSquaredError");
    const out = model.predict([tf.zeros([5, 135]), tf.zeros([5, 135])]) as tf.Tensor;
    assert.deepEqual(out.shape, [5, 1]);
    tf.dispose([out]);
    model.dispose();
    // Without ranks: the plain Sequential model of older windflows.
    const plain = createModel(135, { rankInputs: false });
    assert.ok(plain instanceof tf.Sequential);
    assert.deepEqual(plain.inputs[0]?.shape, [null, 135]);
    assert.deepEqual(dense(plain), dense(model));
    plain.dispose();
  });

  test("members > 1: an average of independent MLPs, each seeded apart, one input and one output", () => {
    const model = createModel(4, { hiddenUnits: [3], members: 3, rankInputs: false });
    assert.deepEqual(model.outputs[0]?.shape, [null, 1]);
    const names = model.layers.map((l) => l.name);
    for (const m of [1, 2, 3])
      assert.ok(names.includes(`member_${m}_hidden_1`) && names.includes(`member_${m}_pitch`));
    assert.equal(names.at(-1), "pitch");
    // Member 1 is initialised like the plain model of the same seed; the others differ.
    const single = createModel(4, { hiddenUnits: [3], rankInputs: false });
    const kernel = (m: tf.LayersModel, name: string) =>
      Array.from(m.getLayer(name).getWeights()[0]?.dataSync() ?? []);
    assert.deepEqual(kernel(model, "member_1_hidden_1"), kernel(single, "hidden_1"));
    assert.notDeepEqual(kernel(model, "member_2_hidden_1"), kernel(model, "member_1_hidden_1"));
    // The output is the mean of the members' outputs.
    const x = tf.randomUniform([5, 4], -1, 1, "float32", 3);
    const out = Array.from((model.predict(x) as tf.Tensor).dataSync());
    const memberOut = [1, 2, 3].map((m) =>
      Array.from(
        (
          tf
            .model({
              inputs: model.inputs,
              outputs: model.getLayer(`member_${m}_pitch`).output as tf.SymbolicTensor,
            })
            .predict(x) as tf.Tensor
        ).dataSync(),
      ),
    );
    out.forEach((v, i) => {
      const mean = memberOut.reduce((a, o) => a + (o[i] as number), 0) / 3;
      assert.ok(Math.abs(v - mean) < 1e-6, `${v} vs ${mean}`);
    });
    windflowError(() => createModel(4, { members: 0 }), /members must be a positive integer/);
    model.dispose();
    single.dispose();
    x.dispose();
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

  test("splitRows: floor of each share of all the rows, test last, validation before it, the rest trains", () => {
    assert.deepEqual(splitRows(10), { train: 8, validation: 1, test: 1 });
    assert.deepEqual(splitRows(19), { train: 17, validation: 1, test: 1 });
    // The full-size synthetic file: floor(21563.6) = 21563 test rows (tests/oracle/course_model.py: the same).
    assert.deepEqual(splitRows(215_636), { train: 172_510, validation: 21_563, test: 21_563 });
    assert.deepEqual(splitRows(1000, { validationFraction: 0.2, testFraction: 0.05 }), {
      train: 750,
      validation: 200,
      test: 50,
    });
    assert.deepEqual(splitRows(3, { validationFraction: 1 / 3, testFraction: 1 / 3 }), {
      train: 1,
      validation: 1,
      test: 1,
    });
  });

  test("splitRows refuses what would leave a part empty, or a share outside (0, 1), and says why", () => {
    const refused = (fn: () => unknown, pattern: RegExp) => {
      const e = windflowError(fn, pattern);
      assert.ok(e instanceof SplitError, `a SplitError, got ${e.name}`);
      return e;
    };
    const tiny = refused(
      () => splitRows(9),
      /cannot split 9 rows .*the test \(10%\) and validation \(10%\) parts would be empty/,
    );
    assert.equal(tiny.rows, 9);
    assert.equal(tiny.testFraction, 0.1);
    assert.match(tiny.hint ?? "", /more rows/);
    refused(() => splitRows(0), /would be empty/);
    refused(
      () => splitRows(15, { testFraction: 0.1, validationFraction: 0.05 }),
      /the validation \(5%\) part would be empty/,
    );
    refused(
      () => splitRows(100, { testFraction: 0 }),
      /testFraction must be between 0 and 1 \(exclusive\), got 0/,
    );
    refused(() => splitRows(100, { testFraction: 1 }), /testFraction must be between 0 and 1/);
    refused(() => splitRows(100, { validationFraction: -0.1 }), /validationFraction must be between 0 and 1/);
    refused(
      () => splitRows(100, { validationFraction: Number.NaN }),
      /validationFraction must be between 0 and 1/,
    );
    const sum = refused(
      () => splitRows(100, { validationFraction: 0.5, testFraction: 0.5 }),
      /validationFraction 0.5 \+ testFraction 0.5 leave no rows to train on/,
    );
    assert.match(sum.hint ?? "", /sum well below 1/);
    refused(() => splitRows(10.5), /whole number/);
    refused(() => splitRows(-1), /whole number/);
  });

  test("an ensemble trains each member on its own error, predicts their mean, and saves as one model", async () => {
    const tensorsBefore = tf.memory().numTensors;
    const { model, metadata } = await trainModel(linearFrame(600), {
      ...quiet,
      hiddenUnits: [16, 8],
      members: 2,
      epochs: 6,
      batchSize: 32,
      learningRate: 0.01,
    });
    assert.equal(metadata.training.members, 2);
    assert.ok(metadata.metrics.r2 > 0.9, `R^2 ${metadata.metrics.r2}`);
    // Each member learned the relation by itself (not just their average): both are good on their own.
    const probe = linearFrame(100, 13);
    const y = probe.getColumn("Ba_avg").toArray() as number[];
    const spec = { ...metadata };
    for (const m of [1, 2]) {
      const member = tf.model({
        inputs: model.inputs,
        outputs: model.getLayer(`member_${m}_pitch`).output as tf.SymbolicTensor,
      });
      const p = predict(member, spec, probe);
      const mse = y.reduce((s, v, i) => s + (v - (p[i] as number)) ** 2, 0) / y.length;
      assert.ok(mse < 0.2, `member ${m}: mse ${mse}`);
    }
    const dir = join(tmp.dir, "ensemble");
    await saveModel(dir, model, metadata);
    const loaded = await loadModel(dir, { log: () => {} });
    assert.deepEqual(
      Array.from(predict(loaded.model, loaded.metadata, probe)),
      Array.from(predict(model, metadata, probe)),
    );
    loaded.model.dispose();
    model.dispose();
    assert.equal(tf.memory().numTensors, tensorsBefore, "no tensor left behind");
  });

  test("the split is time-ordered: validation then test rows are the last ones, the scalers never see them", async () => {
    // x grows with the row number: training rows have x < 80, then 10 validation rows, then the last 10 (test).
    const rows = 100;
    const x = Float64Array.from({ length: rows }, (_, i) => i);
    const frame = pl.DataFrame({ x, Ba_avg: Float64Array.from(x, (v) => v * 0.5) });
    const { model, metadata } = await trainModel(frame, { ...quiet, hiddenUnits: [4], epochs: 1 });
    assert.equal(metadata.training.rows, 80);
    assert.equal(metadata.training.validationRows, 10);
    assert.equal(metadata.training.testRows, 10);
    assert.equal(metadata.training.testFraction, 0.1);
    assert.equal(metadata.metrics.rows, 10);
    assert.equal(metadata.validationMetrics.rows, 10);
    assert.equal(metadata.scaler.max[0], 79);
    assert.equal(metadata.scaler.mean[0], 39.5);
    assert.equal(metadata.targetScaler.mean[0], 19.75);
    // The baseline predicts the training mean (19.75) for the test rows: y = 45 .. 49.5.
    const baseline = Math.sqrt(
      Array.from({ length: 10 }, (_, i) => (45 + i / 2 - 19.75) ** 2).reduce((a, b) => a + b) / 10,
    );
    assert.ok(Math.abs(metadata.metrics.baselineRmse - baseline) < 1e-9);
    model.dispose();
  });

  test("the test rows are never used: poisoning them changes the test metrics and nothing else", async () => {
    // 200 rows: 160 train, 20 validation, 20 test. The poisoned copy has wild features and targets in its test
    // rows; training (weights, learning curve, best epoch, scalers) and the validation metrics must not move.
    const clean = linearFrame(200, 7);
    const poison = (name: string, v: number, i: number) =>
      i >= 180 ? (name === "Ba_avg" ? 1e4 : -1e3) * (i % 3) : v;
    const poisoned = pl.DataFrame(
      Object.fromEntries(
        clean.columns.map((c) => [
          c,
          Float64Array.from(clean.getColumn(c).toArray() as number[], (v, i) => poison(c, v, i)),
        ]),
      ),
    );
    const options = { ...quiet, hiddenUnits: [8], epochs: 4, batchSize: 16, learningRate: 0.01 };
    const a = await trainModel(clean, options);
    const b = await trainModel(poisoned, options);
    try {
      const weights = (r: TrainResult) => r.model.getWeights().map((w) => Array.from(w.dataSync()));
      assert.deepEqual(weights(b), weights(a));
      const strip = (r: TrainResult) => r.metadata.training.history.map(({ seconds: _, ...e }) => e);
      assert.deepEqual(strip(b), strip(a));
      assert.deepEqual(b.metadata.validationMetrics, a.metadata.validationMetrics);
      assert.deepEqual(b.metadata.scaler, a.metadata.scaler);
      assert.deepEqual(b.metadata.targetScaler, a.metadata.targetScaler);
      assert.deepEqual(b.metadata.targetHistogram, a.metadata.targetHistogram);
      assert.equal(b.metadata.training.bestEpoch, a.metadata.training.bestEpoch);
      // The test metrics do see the poison.
      assert.equal(b.metadata.metrics.rows, 20);
      assert.ok(b.metadata.metrics.rmse > 100 * a.metadata.metrics.rmse, `${b.metadata.metrics.rmse}`);
    } finally {
      a.model.dispose();
      b.model.dispose();
    }
  });

  test("consumeFeatures: the same model from a frame given up, whose columns are gone before the first epoch", async () => {
    // 33 features: three groups of columns (modelInputs copies 16 at a time).
    const wide = () => {
      const r = uniform(11);
      const noise = Object.fromEntries(
        Array.from({ length: 30 }, (_, j) => [`n${j}`, Float64Array.from({ length: 300 }, () => r())]),
      );
      return pl.concat([linearFrame(300, 3), pl.DataFrame(noise)], { how: "horizontal" });
    };
    const options = { ...quiet, hiddenUnits: [8], epochs: 2, batchSize: 32 };
    const a = await trainModel(wide(), options);
    const given = wide();
    const widths: number[] = [];
    const b = await trainModel(given, {
      ...options,
      consumeFeatures: true,
      onEpoch: () => {
        widths.push(given.width);
      },
    });
    try {
      const weights = (r: TrainResult) => r.model.getWeights().map((w) => Array.from(w.dataSync()));
      assert.deepEqual(weights(b), weights(a));
      const strip = (r: TrainResult) => r.metadata.training.history.map(({ seconds: _, ...e }) => e);
      assert.deepEqual(strip(b), strip(a));
      assert.deepEqual(b.metadata.metrics, a.metadata.metrics);
      assert.deepEqual(b.metadata.features, a.metadata.features);
      assert.deepEqual(widths, [0, 0], "no column of the frame is left while training");
      assert.equal(wide().width, 34, "the control: a frame not given up keeps its columns");
      // The test rows, scored by metadata.metrics: the features' last 10 %, kept whole with consumeFeatures.
      assert.equal(a.metadata.training.testRows, 30);
      assert.ok(a.test.frameEqual(wide().tail(30), true), "the test rows are the last ones");
      assert.ok(b.test.frameEqual(a.test, true), "kept whole when the features are given up");
      assert.deepEqual(
        Array.from(predict(b.model, b.metadata, b.test.drop("Ba_avg"))),
        Array.from(predict(a.model, a.metadata, a.test.drop("Ba_avg"))),
      );
      // Used again, the features given up say so and what to do.
      const givenUp = (e: unknown) =>
        e instanceof WindflowError &&
        /the features frame was given up to trainModel \(consumeFeatures\)/.test(e.message) &&
        /prepare the features again/.test(e.hint ?? "");
      await assert.rejects(trainModel(given, options), givenUp);
      assert.throws(() => predict(b.model, b.metadata, given), givenUp);
      // A training that fails before it takes a column leaves the frame whole, and not given up.
      const broken = wide().withColumns(pl.lit(Number.NaN).alias("n0"));
      for (let i = 0; i < 2; i++)
        await assert.rejects(
          trainModel(broken, { ...options, consumeFeatures: true }),
          /column n0 has the value NaN at row 0/,
        );
      assert.equal(broken.width, 34);
    } finally {
      a.model.dispose();
      b.model.dispose();
    }
  });

  test("early stopping stops after `patience` worse epochs and restores the best weights", async () => {
    // Training rows (the first 260): y = 2x. Validation rows (the next 25%) and test rows (the last 10%): y = -2x.
    // Learning the training relation makes the validation loss worse, so the best epoch comes early and the last
    // ones are worse.
    const rows = 400;
    const r = uniform(5);
    const x = Float64Array.from({ length: rows }, () => r() * 2 - 1);
    const y = Float64Array.from(x, (v, i) => (i < 260 ? 2 * v : -2 * v));
    const { model, metadata } = await trainModel(pl.DataFrame({ x, Ba_avg: y }), {
      ...quiet,
      hiddenUnits: [8],
      epochs: 30,
      batchSize: 16,
      learningRate: 0.02,
      patience: 3,
      startFromEpoch: 1,
      validationFraction: 0.25,
      testFraction: 0.1,
    });
    assert.equal(metadata.training.rows, 260);
    const t = metadata.training;
    assert.ok(t.epochsRun < 30, `ran ${t.epochsRun} epochs`);
    assert.equal(t.epochsRun, t.bestEpoch + 3);
    const best = t.history[t.bestEpoch - 1];
    const last = t.history.at(-1);
    assert.ok(best && last && best.best && last.valRmse > best.valRmse);
    // The returned model scores like the best epoch, not like the last one.
    assert.ok(
      Math.abs(metadata.validationMetrics.rmse - best.valRmse) < 1e-4 * best.valRmse,
      `${metadata.validationMetrics.rmse} vs ${best.valRmse}`,
    );
    model.dispose();
  });

  test("EarlyStopping on its own: the weights of the best epoch come back", () => {
    const model = createModel(1, { hiddenUnits: [], rankInputs: false });
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

describe("FlatTrainer (the hand-written training step)", () => {
  /** Deterministic inputs: `n` rows of `width` values and a target, from mulberry32. */
  function batchData(n: number, width: number, seed: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
    const r = uniform(seed);
    return {
      x: tf.tensor2d(
        Float32Array.from({ length: n * width }, () => r() * 2 - 1),
        [n, width],
      ),
      y: tf.tensor2d(
        Float32Array.from({ length: n }, () => r() * 2 - 1),
        [n, 1],
      ),
    };
  }

  for (const members of [1, 3]) {
    test(`gives model.fit's weights (Adam, MSE, L2) step for step: ${members} member(s)`, async () => {
      const d = 4;
      const options = { members, hiddenUnits: [6, 5], l2: 1e-2, learningRate: 0.01, seed: 7 };
      const reference = createModel(d, options);
      const ours = createModel(d, options);
      const { x, y } = batchData(48, 2 * d, 11);
      const inputs = tf.split(x, [d, d], 1);
      // What fit minimises for an ensemble: each member's own error (trainModel's contract).
      const side =
        members === 1
          ? reference
          : tf.model({
              inputs: reference.inputs,
              outputs: tf.layers
                .concatenate()
                .apply(
                  Array.from(
                    { length: members },
                    (_, m) => reference.getLayer(`member_${m + 1}_pitch`).output as tf.SymbolicTensor,
                  ),
                ) as tf.SymbolicTensor,
            });
      if (members > 1) side.compile({ optimizer: reference.optimizer, loss: "meanSquaredError" });
      const target = members === 1 ? y : tf.tile(y, [1, members]);
      await side.fit(inputs, target, { batchSize: 16, epochs: 2, shuffle: false, verbose: 0 });

      const tensorsBefore = tf.memory().numTensors;
      const trainer = new FlatTrainer(ours, { members, depth: 2, l2: 1e-2 / members });
      for (let epoch = 0; epoch < 2; epoch++)
        for (let start = 0; start < 48; start += 16) {
          const xb = x.slice([start, 0], [16, 2 * d]);
          const yb = y.slice([start, 0], [16, 1]);
          trainer.step(xb, yb, 0.01);
          tf.dispose([xb, yb]);
        }
      // The mean squared error of the 6 batches, each measured before its step: positive and finite.
      const loss = trainer.takeLoss();
      assert.ok(loss > 0 && Number.isFinite(loss), `loss ${loss}`);
      const predicted = trainer.predict(x);
      trainer.writeTo();
      trainer.dispose();
      const expected = reference.getWeights();
      const got = ours.getWeights();
      assert.equal(got.length, expected.length);
      got.forEach((w, i) => {
        const gap = tf.tidy(
          () => tf.max(tf.abs(tf.sub(w, expected[i] as tf.Tensor))).dataSync()[0] as number,
        );
        assert.ok(gap < 1e-5, `weight ${i} (${w.shape}) differs by ${gap}`);
      });
      // The trainer's forward pass is the model's.
      const viaModel = ours.predict(inputs) as tf.Tensor;
      const gap = tf.tidy(() => tf.max(tf.abs(tf.sub(viaModel, predicted))).dataSync()[0] as number);
      assert.ok(gap < 1e-5, `predictions differ by ${gap}`);
      tf.dispose([viaModel, predicted]);
      assert.equal(tf.memory().numTensors, tensorsBefore, "no tensor left behind");
      tf.dispose([x, y, ...inputs, ...(members === 1 ? [] : [target])]);
      reference.dispose();
      ours.dispose();
    });
  }

  test("takeLoss is the batches' mean squared error; snapshot / restore bring the weights back", () => {
    const model = createModel(3, { hiddenUnits: [4], seed: 3 });
    const trainer = new FlatTrainer(model, { members: 1, depth: 1, l2: 0 });
    const { x, y } = batchData(10, 6, 5);
    const before = trainer.predict(x);
    const expected = tf.tidy(() => tf.mean(tf.square(tf.sub(before, y))).dataSync()[0] as number);
    const snapshot = trainer.snapshot();
    trainer.step(x, y, 0.05);
    assert.ok(Math.abs(trainer.takeLoss() - expected) < 1e-6 * Math.max(1, expected));
    assert.equal(trainer.takeLoss(), 0, "the sum starts again after a read");
    const moved = trainer.predict(x);
    assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(moved, before))).dataSync()[0] as number) > 1e-4);
    trainer.restore(snapshot);
    const back = trainer.predict(x);
    assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(back, before))).dataSync()[0] as number) === 0);
    tf.dispose([x, y, before, moved, back, snapshot]);
    trainer.dispose();
    model.dispose();
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

  test("metadata round trip: format 2 keeps the test and the validation metrics and the test rows", async () => {
    const dir = join(tmp.dir, "format-2");
    await saveModel(dir, trained.model, trained.metadata);
    const meta = JSON.parse(readFileSync(join(dir, METADATA_FILE), "utf8"));
    assert.equal(meta.formatVersion, 2);
    assert.equal(METADATA_FORMAT_VERSION, 2);
    // linearFrame(600): 480 training rows, 60 validation, 60 test.
    assert.deepEqual(
      [meta.training.rows, meta.training.validationRows, meta.training.testRows, meta.training.testFraction],
      [480, 60, 60, 0.1],
    );
    assert.equal(meta.metrics.rows, 60);
    assert.equal(meta.validationMetrics.rows, 60);
    assert.notEqual(meta.validationMetrics.rmse, meta.metrics.rmse);
    const read = readMetadata(dir);
    assert.deepEqual(read, trained.metadata);
    assert.equal(scoredOn(read), "test");

    // Refused: a version this windflow does not know, format 2 without its validation metrics or test rows.
    const write = (m: unknown) => writeFileSync(join(dir, METADATA_FILE), JSON.stringify(m));
    write({ ...meta, formatVersion: 3 });
    windflowError(
      () => readMetadata(dir),
      /formatVersion 3 is not supported \(this windflow reads 1 and 2\)/,
    );
    const { validationMetrics: _, ...withoutValidation } = meta;
    write(withoutValidation);
    windflowError(() => readMetadata(dir), /corrupt model metadata: validationMetrics is missing/);
    write({ ...meta, validationMetrics: { ...meta.validationMetrics, rmse: "0.5" } });
    windflowError(() => readMetadata(dir), /validationMetrics\.rmse must be a number/);
    const { testRows: __, ...trainingWithoutTest } = meta.training;
    write({ ...meta, training: trainingWithoutTest });
    windflowError(() => readMetadata(dir), /training\.testRows must be a number/);
  });

  test("a model saved in format 1 (no test rows: metrics on the validation rows) still loads and predicts", async () => {
    // What windflow wrote before the test split: a Sequential model on the standardised features, and
    // formatVersion 1 metadata with the metrics of its validation rows and no test rows (the same keys).
    const plain = await trainModel(linearFrame(300, 4), {
      ...quiet,
      rankInputs: false,
      hiddenUnits: [8],
      epochs: 2,
      batchSize: 32,
    });
    const dir = join(tmp.dir, "format-1");
    await saveModel(dir, plain.model, plain.metadata);
    const m = plain.metadata;
    const t = m.training;
    const old = {
      format: m.format,
      formatVersion: 1,
      target: m.target,
      features: m.features,
      scaler: m.scaler,
      targetScaler: m.targetScaler,
      metrics: m.validationMetrics,
      training: {
        rows: t.rows,
        validationRows: t.validationRows,
        validationFraction: 0.2,
        hiddenUnits: t.hiddenUnits,
        learningRate: t.learningRate,
        finalLearningRate: t.finalLearningRate,
        batchSize: t.batchSize,
        epochs: t.epochs,
        epochsRun: t.epochsRun,
        bestEpoch: t.bestEpoch,
        patience: t.patience,
        startFromEpoch: t.startFromEpoch,
        seed: t.seed,
        seconds: t.seconds,
        history: t.history,
      },
      backend: m.backend,
      dataSha256: null,
      targetHistogram: m.targetHistogram,
      createdAt: m.createdAt,
      windflowVersion: "0.1.0",
    };
    writeFileSync(join(dir, METADATA_FILE), JSON.stringify(old));
    const loaded = await loadModel(dir, { log: () => {} });
    try {
      assert.equal(loaded.metadata.formatVersion, 1);
      assert.equal(scoredOn(loaded.metadata), "validation");
      assert.deepEqual(loaded.metadata.metrics, m.validationMetrics);
      // Filled on reading: format 1's metrics were the validation rows'.
      assert.deepEqual(loaded.metadata.validationMetrics, m.validationMetrics);
      assert.equal(loaded.metadata.training.testRows, undefined);
      assert.equal(loaded.metadata.ranks, undefined);
      assert.deepEqual(
        Array.from(predict(loaded.model, loaded.metadata, probe())),
        Array.from(predict(plain.model, plain.metadata, probe())),
      );
      // A model with rank inputs cannot be used with metadata that has none (files of two models mixed).
      windflowError(
        () => predict(trained.model, { ...trained.metadata, ranks: undefined }, probe()),
        /the model has 2 inputs but its metadata describes 1 \(features\)/,
      );
    } finally {
      loaded.model.dispose();
      plain.model.dispose();
    }
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

describe("collectGarbage (util/gc.ts, used before training)", () => {
  test("an object nothing refers to any more is gone after it, without --expose-gc", async () => {
    let dropped: { payload: Float64Array } | null = { payload: new Float64Array(1000) };
    const ref = new WeakRef(dropped);
    dropped = null;
    // A WeakRef keeps its target alive until the current job ends.
    await new Promise<void>((resolve) => setImmediate(resolve));
    collectGarbage();
    assert.equal(ref.deref(), undefined);
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
