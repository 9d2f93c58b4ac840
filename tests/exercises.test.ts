/**
 * The exercises' checks never lie: for each exercise, a table of wrong answers (wrong value, wrong type, wrong
 * path, missing dependency, stale output, a failing run, where each applies), each rejected with its own message
 * and its own hint, and the right answer accepted. What a trainee sees is the message and the hint: never a
 * stack trace, never a ✔ for broken work.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { inspect } from "node:util";
import pl from "nodejs-polars";
import { loadDataset } from "../src/data/load.js";
import { synthesizeCsv } from "../src/data/synthetic.js";
import { datedCsv, withIO } from "../src/io/with-io.js";
import { ensureBackend } from "../src/model/backend.js";
import { saveToRegistry } from "../src/model/io.js";
import { type TrainResult, trainModel } from "../src/model/model.js";
import {
  type CheckedRun,
  checkMeanPitchFiles,
  checkMeanPredictions,
  checkModelSaved,
  checkPredictDag,
  checkPredictRun,
  checkStoppedShare,
  ExerciseError,
  ExerciseNotDoneError,
} from "../src/notebook/exercises.js";
import { ROOT } from "./helpers/scheduler-env.js";

/** Everything written here, inside the project (the DAG files import "windflow" from its node_modules). */
const work = (() => {
  mkdirSync(join(ROOT, ".e2e"), { recursive: true });
  return mkdtempSync(join(ROOT, ".e2e", "exercises-"));
})();
after(() => rmSync(work, { recursive: true, force: true }));

/** What the check printed on stdout (its ✔ line), or the error it threw. */
async function outcome(fn: () => unknown): Promise<{ passed: string } | { error: ExerciseError }> {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  // Text only: binary writes are the test runner's own reports, which must reach it (see notebook-lab.test.ts).
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof chunk !== "string") return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    lines.push(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    await fn();
    return { passed: lines.join("") };
  } catch (error) {
    assert.ok(error instanceof ExerciseError, `a check throws ExerciseError, got ${inspect(error)}`);
    return { error };
  } finally {
    process.stdout.write = write;
  }
}

interface Case {
  /** What kind of mistake (the list: wrong value, wrong type, wrong path, ...). */
  readonly kind: string;
  readonly name: string;
  readonly run: () => unknown;
  readonly message: RegExp;
  readonly hint: RegExp;
}

/** Runs the table: each case rejected with its message and hint; the hints of a table all differ. */
async function rejects(cases: readonly Case[]): Promise<void> {
  const hints = new Map<string, string>();
  for (const c of cases) {
    const r = await outcome(c.run);
    assert.ok("error" in r, `${c.kind}, ${c.name}: accepted (${"passed" in r ? r.passed : ""})`);
    const e = r.error;
    assert.match(e.message, c.message, `${c.kind}, ${c.name}: message`);
    assert.match(e.hint, c.hint, `${c.kind}, ${c.name}: hint`);
    // Printed as a trainee sees it (tslab prints thrown errors with util.inspect): the sentence and the hint only,
    // even after something tried to decorate its stack with windflow's source line, as Node's vm does.
    e.stack = `/work/dist/notebook/exercises.js:83\n    throw new ExerciseError(...)\n    ^\n\n${e.stack}`;
    assert.equal(inspect(e), `✘ ${e.message}\n  hint: ${e.hint}`, `${c.name}: printed form`);
    const other = hints.get(e.hint);
    assert.equal(other, undefined, `${c.name} has the same hint as ${other}: "${e.hint}"`);
    hints.set(e.hint, c.name);
  }
  assert.ok(cases.length >= 6, `${cases.length} wrong answers`);
}

let data: pl.DataFrame;
before(async () => {
  const csv = join(work, "data.csv");
  writeFileSync(csv, synthesizeCsv({ seed: 5, days: 3 }), "latin1");
  data = await loadDataset(csv);
});

describe("exercise 1: the share of stopped rows", () => {
  const right = () => {
    const withPitch = data.filter(pl.col("Ba_avg").isNotNull());
    return withPitch.filter(pl.col("Ba_avg").gt(80)).height / withPitch.height;
  };

  test("wrong answers are rejected, each with its own hint", async () => {
    const withPitch = data.filter(pl.col("Ba_avg").isNotNull());
    const stopped = withPitch.filter(pl.col("Ba_avg").gt(80)).height;
    assert.ok(stopped > 0 && stopped < withPitch.height && withPitch.height < data.height, "a useful slice");
    const check = (answer: unknown) => () => checkStoppedShare(answer as number, data);
    await rejects([
      {
        kind: "wrong value",
        name: "a number out of nowhere",
        run: check(0.123456),
        message: /is not the share of rows above 80 deg/,
        hint: /filter the rows with/,
      },
      {
        kind: "wrong value",
        name: "the count",
        run: check(stopped),
        message: /number of such rows, not their share/,
        hint: /divide it by the number of rows with a pitch angle/,
      },
      {
        kind: "wrong value",
        name: "a share of all the rows",
        run: check(stopped / data.height),
        message: /a share of all the rows/,
        hint: /only the rows that have a pitch angle/,
      },
      {
        kind: "wrong value",
        name: "a percentage",
        run: check(right() * 100),
        message: /percentage/,
        hint: /between 0 and 1/,
      },
      {
        kind: "wrong value",
        name: "the other side of 80",
        run: check(1 - right()),
        message: /at or below 80 deg/,
        hint: /not \.lt\(80\)/,
      },
      {
        kind: "wrong type",
        name: "text (toFixed)",
        run: check(right().toFixed(3)),
        message: /the string ".*", not a number/,
        hint: /toFixed\(\) \(it returns text\)/,
      },
      {
        kind: "wrong value",
        name: "NaN (0 / 0)",
        run: check(0 / 0),
        message: /NaN/,
        hint: /0 \/ 0 gives NaN/,
      },
      {
        kind: "missing",
        name: "nothing computed",
        run: check(undefined),
        message: /nothing was computed/,
        hint: /assign the share/,
      },
    ]);
  });

  test("the right answer passes with a ✔", async () => {
    const r = await outcome(() => checkStoppedShare(right(), data));
    assert.ok("passed" in r);
    assert.match(r.passed, /^✔ \d+\.\d\d % of the rows with a pitch angle have it above 80 deg\n$/);
  });
});

describe("exercise 2: the trained model saved in the registry", () => {
  /** A model of `width` features trained in a blink (cpu backend, one epoch, 4 hidden units). */
  async function trained(width: number, seed: number): Promise<TrainResult> {
    await ensureBackend({ prefer: "cpu", log: () => {} });
    const columns: Record<string, Float64Array> = {};
    for (let j = 0; j < width; j++)
      columns[`f${j}`] = Float64Array.from({ length: 200 }, (_, i) => Math.sin(i * (j + 1) + seed));
    columns.Ba_avg = Float64Array.from({ length: 200 }, (_, i) => (i % 90) - 1);
    return trainModel(pl.DataFrame(columns), {
      hiddenUnits: [4],
      epochs: 1,
      seed,
      progress: false,
      log: () => {},
    });
  }
  let n = 0;
  const folder = () => join(work, `models-${++n}`);

  test("wrong answers are rejected, each with its own hint; the model trained here passes", async () => {
    const { model, metadata } = await trained(135, 1);
    const other = await trained(135, 2);
    const narrow = await trained(134, 3);

    const notAwaited = folder();
    let pending: Promise<unknown> | undefined;
    mkdirSync(notAwaited); // as the project's models/ folder
    const modelSave = folder();
    // What tfjs-node's model.save("file://models") leaves: the network's files in the folder itself.
    mkdirSync(modelSave);
    writeFileSync(join(modelSave, "model.json"), "{}");
    writeFileSync(join(modelSave, "weights.bin"), "");
    const pointer = folder();
    await saveToRegistry(pointer, model, metadata);
    writeFileSync(join(pointer, "latest"), "20200101-000000\n");
    const noMetadata = folder();
    const saved = await saveToRegistry(noMetadata, model, metadata);
    rmSync(join(saved.dir, "metadata.json"));
    const damaged = folder();
    const kept = await saveToRegistry(damaged, model, metadata);
    writeFileSync(join(kept.dir, "weights.bin"), "not weights");
    const wrongWidth = folder();
    await saveToRegistry(wrongWidth, narrow.model, narrow.metadata);
    const stale = folder();
    await saveToRegistry(stale, other.model, other.metadata);

    await rejects([
      {
        kind: "wrong path",
        name: "the folder was never written",
        run: () => checkModelSaved(join(work, "no-such-models"), metadata),
        message: /^no folder .*no-such-models$/,
        hint: /registry folder, paths\.models, and await it/,
      },
      {
        kind: "missing await",
        name: "saveToRegistry not awaited",
        // The cell's solution without its await: the check starts before the files are written.
        run: () => {
          pending = saveToRegistry(notAwaited, model, metadata);
          return checkModelSaved(notAwaited, metadata);
        },
        message: /^no model in /,
        hint: /without await/,
      },
      {
        kind: "wrong type",
        name: "saved with tf's model.save (no metadata, no dated folder)",
        run: () => checkModelSaved(modelSave, metadata),
        message: /holds a model\.json itself/,
        hint: /model\.save writes the network only/,
      },
      {
        kind: "wrong path",
        name: "latest names a folder that is not there",
        run: () => checkModelSaved(pointer, metadata),
        message: /no usable latest one: .*points at 20200101-000000/,
        hint: /writes the latest pointer/,
      },
      {
        kind: "missing file",
        name: "metadata.json removed",
        run: () => checkModelSaved(noMetadata, metadata),
        message: /no usable metadata: .*has no metadata\.json/,
        hint: /metadata\.json \(features, scalers, metrics\)/,
      },
      {
        kind: "wrong value",
        name: "a model of 134 features",
        run: () => checkModelSaved(wrongWidth, narrow.metadata),
        message: /has 134 features, not 135/,
        hint: /prepareFeatures/,
      },
      {
        kind: "stale output",
        name: "the latest model is another training's",
        run: () => checkModelSaved(stale, metadata),
        message: /is not the one trained in this notebook/,
        hint: /the model and the metadata that trainModel returned/,
      },
      {
        kind: "damaged output",
        name: "weights.bin overwritten",
        run: () => checkModelSaved(damaged, metadata),
        message: /does not load/,
        hint: /missing or damaged/,
      },
    ]);

    await pending;
    const ok = await outcome(() => checkModelSaved(notAwaited, metadata));
    assert.ok("passed" in ok, "the same folder once the save is awaited");
    assert.match(
      ok.passed,
      /^✔ model \d{8}-\d{6} saved with its 135 feature names and its scalers, and it loads; test RMSE \d+\.\d{3} deg\n$/,
    );
    for (const t of [model, other.model, narrow.model]) t.dispose();
  });
});

describe("exercise 3: a withIO step writing the mean pitch per turbine", () => {
  const meanPitch = (d: pl.DataFrame) =>
    d
      .filter(pl.col("Ba_avg").isNotNull())
      .groupBy("Wind_turbine_name")
      .agg(pl.col("Ba_avg").mean().alias("mean_pitch"))
      .sort("Wind_turbine_name");
  let n = 0;
  /** A folder written by a withIO step computing `make` (a dated file and latest.csv), as the trainee does. */
  async function written(make: (d: pl.DataFrame) => pl.DataFrame): Promise<string> {
    const folder = join(work, `mean-pitch-${++n}`);
    const step = withIO(
      ([d]: [pl.DataFrame]) =>
        (_stamp: string) =>
          make(d),
      {
        readers: [{ what: "frame", hint: "-", read: async () => data }],
        writer: datedCsv(","),
      },
    );
    await step([join(work, "data.csv")], folder, undefined);
    return folder;
  }
  const check = (folder: string) => () => checkMeanPitchFiles(folder, data);

  test("wrong answers are rejected, each with its own hint", async () => {
    const right = await written(meanPitch);
    const onlyLatest = await written(meanPitch);
    for (const f of readdirSync(onlyLatest)) if (f !== "latest.csv") rmSync(join(onlyLatest, f));
    const noLatest = await written(meanPitch);
    rmSync(join(noLatest, "latest.csv"));
    // Stale: a new dated file (a second run of the step) while latest.csv still holds the first run's result.
    const stale = await written((d) => meanPitch(d).withColumns(pl.col("mean_pitch").add(1)));
    const staleLatest = readFileSync(join(stale, "latest.csv"), "utf8");
    // In the same second, the second file is {stamp}_2.csv: newer either way.
    const again = withIO(
      ([d]: [pl.DataFrame]) =>
        (_stamp: string) =>
          meanPitch(d),
      {
        readers: [{ what: "frame", hint: "-", read: async () => data }],
        writer: datedCsv(","),
      },
    );
    await again([join(work, "data.csv")], stale, undefined);
    writeFileSync(join(stale, "latest.csv"), staleLatest);
    await rejects([
      {
        kind: "wrong path",
        name: "no such folder",
        run: check(join(work, "nope")),
        message: /^no folder .*nope$/,
        hint: /give meanPitchFolder as the output folder/,
      },
      {
        kind: "missing output",
        name: "no latest.csv",
        run: check(noLatest),
        message: /^no .*latest\.csv$/,
        hint: /it writes a dated file and latest\.csv/,
      },
      {
        kind: "missing output",
        name: "no dated file",
        run: check(onlyLatest),
        message: /no dated file/,
        hint: /datedCsv writer/,
      },
      {
        kind: "stale output",
        name: "latest.csv from an earlier try",
        run: check(stale),
        message: /latest\.csv is not a copy of the newest dated file/,
        hint: /run your withIO step again/,
      },
      {
        kind: "wrong value",
        name: "columns not named",
        run: check(await written((d) => meanPitch(d).rename({ mean_pitch: "Ba_avg" }))),
        message: /the columns are Wind_turbine_name,Ba_avg/,
        hint: /alias\("mean_pitch"\)/,
      },
      {
        kind: "wrong value",
        name: "not grouped",
        run: check(
          await written((d) =>
            d
              .filter(pl.col("Ba_avg").isNotNull())
              .select("Wind_turbine_name", pl.col("Ba_avg").alias("mean_pitch"))
              .head(10),
          ),
        ),
        message: /10 rows, expected one per turbine/,
        hint: /\.groupBy\("Wind_turbine_name"\)/,
      },
      {
        kind: "wrong value",
        name: "missing values counted as 0",
        run: check(
          await written((d) =>
            d
              .withColumns(pl.col("Ba_avg").fillNull(0))
              .groupBy("Wind_turbine_name")
              .agg(pl.col("Ba_avg").mean().alias("mean_pitch"))
              .sort("Wind_turbine_name"),
          ),
        ),
        message: /the mean pitch of R\d+ is .*, expected/,
        hint: /do not count them as 0/,
      },
      {
        kind: "wrong type",
        name: "the mean as text",
        run: check(
          await written((d) =>
            meanPitch(d).withColumns(
              pl.concatString([pl.lit("~"), pl.col("mean_pitch")]).alias("mean_pitch"),
            ),
          ),
        ),
        message: /mean_pitch holds "~.*" for R\d+, not a number/,
        hint: /not a text made of it/,
      },
    ]);
    const ok = await outcome(check(right));
    assert.ok("passed" in ok, "the right folder passes");
    assert.match(ok.passed, /^✔ 1 dated file\(s\) and latest\.csv in .*, one mean pitch per turbine\n$/);
  });
});

describe("exercise 4: the predict DAG and the run just made", () => {
  const solution = readFileSync(join(ROOT, "dags", "predict.ts"), "utf8");
  let n = 0;
  /** The trainee's dags/predict.ts with `edit` applied, in a folder of its own. */
  function dagFile(edit: (source: string) => string): string {
    const dir = join(work, `dags-${++n}`);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "predict.ts");
    writeFileSync(file, edit(solution));
    return file;
  }
  const same = (s: string) => s;
  const replace = (from: string | RegExp, to: string) => (s: string) => {
    const out = s.replace(from, to);
    assert.notEqual(out, s, `${String(from)} found in dags/predict.ts`);
    return out;
  };
  const solutionRegion = /\/\/ BEGIN SOLUTION[\s\S]*?\/\/ END SOLUTION/;

  test("a DAG file that is wrong is rejected, each mistake with its own hint; type errors as tsc says them", async () => {
    await rejects([
      {
        kind: "not done",
        name: "the stub left in",
        run: () =>
          checkPredictDag(
            dagFile(
              replace(
                solutionRegion,
                'notDoneYet("Exercise 4: the predict task, after prepare_features (notebooks/04-orchestration.ipynb)");',
              ),
            ),
          ),
        message: /^exercise not done yet: Exercise 4: the predict task, .* in .*predict\.ts$/,
        hint: /write your code where the TODO is/,
      },
      {
        kind: "wrong type",
        name: "a typo in a param's name (a TypeError at run time otherwise)",
        run: () => checkPredictDag(dagFile(replace("ctx.params.modelPath", "ctx.params.modelPaht"))),
        message:
          /predict\.ts:\d+:\d+ TS2551 Property 'modelPaht' does not exist .*Did you mean 'modelPath'\?/,
        hint: /^fix line \d+ of .*predict\.ts: the types say/,
      },
      {
        kind: "syntax",
        name: "a parenthesis missing",
        run: () => checkPredictDag(dagFile(replace("features.before(predict);", "features.before(predict;"))),
        message: /predict\.ts:\d+:\d+ TS1005 '\)' expected/,
        hint: /^fix line \d+ of /,
      },
      {
        kind: "wrong value",
        name: "the task misnamed",
        run: () => checkPredictDag(dagFile(replace('d.task("predict"', 'd.task("predictions"'))),
        message: /the tasks prepare_features, predictions, but no "predict"/,
        hint: /declare it with d\.task\("predict"/,
      },
      {
        kind: "wrong value",
        name: "an extra task",
        run: () =>
          checkPredictDag(
            dagFile(
              replace(
                "features.before(predict);",
                'features.before(predict);\n    d.task("notify", () => "sent");',
              ),
            ),
          ),
        message: /unexpected task\(s\): notify/,
        hint: /two tasks: prepare_features and predict/,
      },
      {
        kind: "missing dependency",
        name: "predict not after prepare_features",
        run: () => checkPredictDag(dagFile(replace("features.before(predict);", ""))),
        message: /predict does not depend on prepare_features/,
        hint: /features\.before\(predict\)/,
      },
      {
        kind: "wrong value",
        name: "the schedule changed",
        run: () => checkPredictDag(dagFile(replace('every: "2m"', 'every: "5m"'))),
        message: /the schedule changed/,
        hint: /keep schedule: \{ every: "2m" \}/,
      },
    ]);
    const ok = await outcome(() => checkPredictDag(dagFile(same)));
    assert.ok("passed" in ok, "the solution passes");
    assert.match(ok.passed, /^✔ the predict DAG type-checks and has prepare_features -> predict/);
  });

  const header = "predictions,predictions_time\n";
  /** A predictions folder with the files a run stamped `stamp` writes (`rows` predictions). */
  function predictions(stamp: string, options: { latest?: string; body?: string } = {}): string {
    const folder = join(work, `predictions-${++n}`);
    mkdirSync(folder, { recursive: true });
    const body = options.body ?? `${header}12.5,${stamp}\n-0.5,${stamp}\n`;
    writeFileSync(join(folder, `${stamp}.csv`), body);
    writeFileSync(join(folder, "latest.csv"), options.latest ?? body);
    return folder;
  }
  const STAMP = "20261128-101500";
  const run = (
    over: Partial<CheckedRun> & { predictPath?: unknown; errors?: [string, string][] },
  ): CheckedRun => ({
    dagId: "predict",
    runId: `manual__${STAMP}`,
    state: "success",
    stamp: STAMP,
    tasks: over.errors
      ? over.errors.map(([taskId, error]) => ({ taskId, state: "failed", error }))
      : [
          {
            taskId: "prepare_features",
            state: "success",
            returnValue: `/x/prepared_features_${STAMP}.parquet`,
          },
          { taskId: "predict", state: "success", returnValue: over.predictPath },
        ],
    ...over,
  });

  test("a run that failed, or files that are not this run's, are rejected with what happened", async () => {
    const good = predictions(STAMP);
    const older = predictions("20261128-091500");
    const oldPath = join(older, "20261128-091500.csv");
    await rejects([
      {
        kind: "a failing run",
        name: "no model yet (the train DAG never ran): after an earlier good run, no ✔ from its file",
        run: () =>
          checkPredictRun(
            run({
              state: "failed",
              errors: [
                [
                  "predict",
                  "WindflowError: no model at models/: run the train DAG first (or `windflow train`)",
                ],
              ],
            }),
            good,
          ),
        message: /^your run manual__20261128-101500 failed: task predict: WindflowError: no model at models/,
        hint: /run the train DAG \(runInEngine\("train"\)\)/,
      },
      {
        kind: "missing dependency",
        name: "no generated record",
        run: () =>
          checkPredictRun(
            run({
              state: "failed",
              errors: [["prepare_features", "WindflowError: no file at data/generated_data/latest.csv"]],
            }),
            good,
          ),
        message: /failed: task prepare_features: .*generated_data/,
        hint: /runInEngine\("get_data_from_engie_hub"\)/,
      },
      {
        kind: "a failing run",
        name: "an error in the trainee's code",
        run: () =>
          checkPredictRun(
            run({
              state: "failed",
              errors: [
                ["predict", 'TypeError: The "paths[0]" argument must be of type string. Received undefined'],
              ],
            }),
            good,
          ),
        message: /failed: task predict: TypeError: The "paths\[0\]" argument/,
        hint: /read the task's log .* fix dags\/predict\.ts/,
      },
      {
        kind: "wrong value",
        name: "predict returns nothing",
        run: () => checkPredictRun(run({ predictPath: undefined }), good),
        message: /its predict task returned nothing, not the path/,
        hint: /return written\.path/,
      },
      {
        kind: "stale output",
        name: "the path of an older run's file",
        run: () => checkPredictRun(run({ predictPath: oldPath }), older),
        message: /predict returned 20261128-091500\.csv, which is not this run's file/,
        hint: /\{ now: ctx\.logicalDate \} to predictWithIO, so its file is named after the run/,
      },
      {
        kind: "wrong path",
        name: "written into another folder",
        run: () => checkPredictRun(run({ predictPath: join(good, `${STAMP}.csv`) }), older),
        message: /not into .*predictions-/,
        hint: /ctx\.params\.predictionsFolder/,
      },
      {
        kind: "stale output",
        name: "latest.csv left from an older run",
        run: () => {
          const folder = predictions(STAMP, { latest: `${header}3,20261128-091500\n` });
          checkPredictRun(run({ predictPath: join(folder, `${STAMP}.csv`) }), folder);
        },
        message: /latest\.csv is not a copy of this run's 20261128-101500\.csv/,
        hint: /writes the dated file and latest\.csv together/,
      },
      {
        kind: "wrong value",
        name: "other columns",
        run: () => {
          const folder = predictions(STAMP, { body: `Ba_avg,time\n1,${STAMP}\n` });
          checkPredictRun(run({ predictPath: join(folder, `${STAMP}.csv`) }), folder);
        },
        message: /the header is Ba_avg,time/,
        hint: /exactly two columns: predictions,predictions_time/,
      },
      {
        kind: "wrong value",
        name: "another stamp in the rows",
        run: () => {
          const folder = predictions(STAMP, { body: `${header}1,20261128-091500\n` });
          checkPredictRun(run({ predictPath: join(folder, `${STAMP}.csv`) }), folder);
        },
        message: /predictions_time is 20261128-091500, not the run's stamp 20261128-101500/,
        hint: /^pass \{ now: ctx\.logicalDate \} to predictWithIO$/,
      },
      {
        kind: "wrong type",
        name: "a prediction that is not a number",
        run: () => {
          const folder = predictions(STAMP, { body: `${header}NaN?,${STAMP}\n` });
          checkPredictRun(run({ predictPath: join(folder, `${STAMP}.csv`) }), folder);
        },
        message: /a prediction is not a number/,
        hint: /predict\(\), which returns numbers/,
      },
    ]);
    const ok = await outcome(() => checkPredictRun(run({ predictPath: join(good, `${STAMP}.csv`) }), good));
    assert.ok("passed" in ok, "the run's own file passes");
    assert.match(ok.passed, /^✔ run manual__20261128-101500: 2 prediction\(s\) stamped 20261128-101500/);
  });

  test("the stub in the trainee's version is 'exercise not done yet', whatever it breaks in the types", () => {
    const file = dagFile(replace(solutionRegion, 'notDoneYet("Exercise 4: the predict task");'));
    assert.throws(() => checkPredictDag(file), ExerciseNotDoneError);
  });
});

describe("exercise 5: the mean prediction of each run", () => {
  test("wrong answers are rejected, each with its own hint; the right one passes", async () => {
    const folder = join(work, "runs");
    mkdirSync(folder, { recursive: true });
    writeFileSync(
      join(folder, "20261128-100000.csv"),
      "predictions,predictions_time\n1,20261128-100000\n3,20261128-100000\n",
    );
    writeFileSync(join(folder, "20261128-100200.csv"), "predictions,predictions_time\n10,20261128-100200\n");
    writeFileSync(join(folder, "latest.csv"), "predictions,predictions_time\n10,20261128-100200\n");
    const right = { "20261128-100000": 2, "20261128-100200": 10 };
    const check =
      (answer: unknown, where = folder) =>
      () =>
        checkMeanPredictions(answer as Record<string, number>, where);
    await rejects([
      {
        kind: "missing dependency",
        name: "no run yet",
        run: check(right, join(work, "no-runs")),
        message: /no dated prediction file in/,
        hint: /run the rounds cell above first/,
      },
      {
        kind: "wrong type",
        name: "an array",
        run: check([2, 10]),
        message: /meanByRun is an array, not an object keyed by stamp/,
        hint: /Object\.fromEntries/,
      },
      {
        kind: "wrong value",
        name: "keyed by file name",
        run: check({ "20261128-100000.csv": 2, "20261128-100200.csv": 10 }),
        message: /the keys end with \.csv/,
        hint: /the file name without \.csv, r\.name\.replace/,
      },
      {
        kind: "stale output",
        name: "a run whose file is gone (computed before the folder changed)",
        run: check({ ...right, "20261128-095800": 4 }),
        message: /no prediction file for 20261128-095800/,
        hint: /compute from the runs as they are now/,
      },
      {
        kind: "wrong value",
        name: "a run missing",
        run: check({ "20261128-100000": 2 }),
        message: /no mean for 20261128-100200/,
        hint: /one entry per run/,
      },
      {
        kind: "wrong type",
        name: "means as text",
        run: check({ "20261128-100000": "2.00", "20261128-100200": "10.00" }),
        message: /the mean of 20261128-100000 is the string "2\.00", not a number/,
        hint: /no toFixed\(\), no quotes/,
      },
      {
        kind: "wrong value",
        name: "the sum, not the mean",
        run: check({ "20261128-100000": 4, "20261128-100200": 10 }),
        message: /the mean of 20261128-100000 is 4, expected 2/,
        hint: /their sum divided by their count/,
      },
    ]);
    const ok = await outcome(check(right));
    assert.ok("passed" in ok);
    assert.equal(ok.passed, "✔ the mean prediction of 2 run(s)\n");
  });
});
