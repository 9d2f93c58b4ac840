import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { HEADER, row, tempDir } from "./helpers/csv.js";

const root = join(__dirname, "..");
const tmp = tempDir();
after(() => tmp.cleanup());

/** Runs the built CLI (dist/, as users run it). */
function windflow(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, "dist/cli/main.js"), ...args], {
    encoding: "utf8",
    cwd: root,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("windflow CLI", () => {
  test("--help lists the commands", () => {
    const r = windflow("--help");
    assert.equal(r.code, 0);
    for (const c of [
      "dataset",
      "data",
      "features",
      "train",
      "predict",
      "generate",
      "doctor",
      "kernelspec",
      "lab",
      "notebooks",
    ])
      assert.match(r.out, new RegExp(`\\n  ${c}\\b`));
  });

  test("an unknown command fails with exit code 1 and help", () => {
    const r = windflow("frobnicate");
    assert.equal(r.code, 1);
    assert.match(r.err, /unknown command 'frobnicate'/);
  });

  test("data describe summarises a file", () => {
    const file = tmp.file(
      "ok.csv",
      [HEADER, row({ Wind_turbine_name: "R80721" }, 1), row({ Ba_avg: "" }, 2)].join("\n"),
    );
    const r = windflow("data", "describe", file, "--json");
    assert.equal(r.code, 0, r.err);
    const summary = JSON.parse(r.out);
    assert.equal(summary.rows, 2);
    assert.deepEqual(summary.turbines, { R80711: 1, R80721: 1 });
    assert.equal(summary.target.nonNull, 1);
  });

  test("a malformed file: exit code 1, the file, line and column, no stack trace", () => {
    const file = tmp.file("bad.csv", [HEADER, row({}, 1), row({ Ws_avg: "fast" }, 2)].join("\n"));
    const r = windflow("data", "describe", file);
    assert.equal(r.code, 1);
    assert.match(r.err, /^error: .*bad\.csv \(line 3, column Ws_avg\): "fast" is not a number\nhint: /);
    assert.doesNotMatch(r.err, /at .*\.js:\d+/);
  });

  test("a missing data file says to run make dataset", () => {
    const r = windflow("data", "describe", join(tmp.dir, "none.csv"));
    assert.equal(r.code, 1);
    assert.match(r.err, /hint: run `make dataset`/);
  });

  test("the pipeline commands chain: generate, features, train, predict; each prints the paths it wrote", async () => {
    const { synthesizeDataset } = await import("../src/data/synthetic.js");
    const data = join(tmp.dir, "data.csv");
    await synthesizeDataset(data, { seed: 9, days: 3 });
    const p = (...x: string[]) => join(tmp.dir, ...x);
    const gen = windflow("generate", "--data", data, "--output", p("generated"));
    assert.equal(gen.code, 0, gen.err);
    assert.deepEqual(gen.out.trim().split("\n").slice(1), [p("generated", "latest.csv")]);
    const trainFeatures = windflow("features", "--input", data, "--output", p("train.parquet"));
    assert.equal(trainFeatures.code, 0, trainFeatures.err);
    assert.equal(trainFeatures.out.trim(), p("train.parquet"));
    const train = windflow(
      "train",
      "--features",
      p("train.parquet"),
      "--models",
      p("models"),
      "--epochs",
      "2",
    );
    assert.equal(train.code, 0, train.err);
    assert.match(train.err, /validation: RMSE \d/);
    assert.match(train.out.trim(), /models\/\d{8}-\d{6}$/);
    // The backend said once, in one line (native when installed: make test's install builds it); TensorFlow's own
    // start-up lines (cpu_feature_guard, oneDNN...) kept off the screen.
    assert.equal(train.err.match(/TensorFlow\.js backend: /g)?.length, 1, train.err);
    assert.match(train.err, /TensorFlow\.js backend: tensorflow/);
    assert.doesNotMatch(train.err, /cpu_feature_guard|oneDNN|This TensorFlow binary|I tensorflow\//);
    // --backend forces one; a name that is no backend is refused by the parser, naming the choices.
    const onWasm = windflow(
      "train",
      "--features",
      p("train.parquet"),
      "--models",
      p("models-wasm"),
      "--epochs",
      "1",
      "--backend",
      "wasm",
    );
    assert.equal(onWasm.code, 0, onWasm.err);
    assert.match(onWasm.err, /TensorFlow\.js backend: wasm/);
    const bogus = windflow("train", "--features", p("train.parquet"), "--backend", "gpu");
    assert.equal(bogus.code, 1);
    assert.match(
      bogus.err,
      /option '--backend <name>' argument 'gpu' is invalid\. Allowed choices are tensorflow, wasm, cpu/,
    );
    const features = windflow(
      "features",
      "--prediction",
      "--input",
      p("generated", "latest.csv"),
      "--output",
      p("f.parquet"),
    );
    assert.equal(features.code, 0, features.err);
    const predict = windflow(
      "predict",
      "--features",
      p("f.parquet"),
      "--model",
      p("models"),
      "--output",
      p("predictions"),
    );
    assert.equal(predict.code, 0, predict.err);
    const [dated, latest] = predict.out.trim().split("\n");
    assert.match(dated ?? "", /predictions\/\d{8}-\d{6}\.csv$/);
    assert.equal(latest, p("predictions", "latest.csv"));
    const missing = windflow(
      "predict",
      "--features",
      p("f.parquet"),
      "--model",
      p("no-models"),
      "--output",
      p("x"),
    );
    assert.equal(missing.code, 1);
    assert.match(missing.err, /error: no model at .*no-models\nhint: run the train DAG first/);
  });

  test("a bad --source is refused by the parser", () => {
    const r = windflow("dataset", "--source", "ftp");
    assert.equal(r.code, 1);
    assert.match(r.err, /Allowed choices are auto, download, synthetic/);
  });
});
