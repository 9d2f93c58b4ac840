/**
 * The exercises' tooling: the stub a trainee's version has where a solution was (`notDoneYet`), and the checks
 * that look at a trainee's work and answer with a specific, kind hint, not a stack trace.
 *
 * Solutions are marked as in nbgrader: `// BEGIN SOLUTION <what to do>` ... `// END SOLUTION`, in notebook cells
 * and in `dags/predict.ts`; `windflow student` replaces each region with `notDoneYet("<what to do>")`
 * (see student.ts). A check passes quietly with a ✔ line, or throws an `ExerciseError` whose printed form is
 * just its message and hint (tslab prints a thrown error with `console.error`, which uses `util.inspect`).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { inspect } from "node:util";
import pl from "nodejs-polars";
import { TARGET, TURBINE_COLUMN } from "../data/schema.js";
import { listModels, loadModel, MODEL_FILE, readMetadata, resolveModelDir } from "../model/io.js";
import { type ModelMetadata, scoredOn } from "../model/metadata.js";
import type { Dag } from "../orchestration/dag.js";
import { loadDagFile } from "../orchestration/loader.js";
import { findProjectRoot } from "./jupyter-env.js";
import { formatTypeProblem, typeCheck } from "./typecheck.js";

/** A check that did not pass, or an exercise not done: printed as its message and hint only. */
export class ExerciseError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = "ExerciseError";
    // No stack frames: the trainee needs the sentence, not where in windflow it was thrown. And a stack that
    // cannot be rewritten: a cell that throws without `await` goes through Node's vm, which prepends the
    // throwing line of windflow's compiled source ("dist/notebook/exercises.js:83 / throw new ... / ^") by
    // assigning `stack` (node's DecorateErrorStack); the setter ignores it.
    const text = `✘ ${message}\n  hint: ${hint}`;
    Object.defineProperty(this, "stack", {
      get: () => text,
      set: () => {},
      enumerable: false,
      configurable: true,
    });
  }
  [inspect.custom](): string {
    return this.stack as string;
  }
}

/** The stub of an exercise in the trainee's version. */
export class ExerciseNotDoneError extends ExerciseError {
  constructor(readonly exercise: string) {
    super(`exercise not done yet: ${exercise}`, "write your code where the TODO is, then run the cell again");
    this.name = "ExerciseNotDoneError";
  }
}

/** What a trainee's version has where a solution was: throws "exercise not done yet". Typed `never`. */
export function notDoneYet(exercise: string): never {
  throw new ExerciseNotDoneError(exercise);
}

/** Prints a passed check. */
function passed(text: string): void {
  process.stdout.write(`✔ ${text}\n`);
}

const near = (a: number, b: number, tolerance = 1e-9) =>
  Math.abs(a - b) <= tolerance * Math.max(1, Math.abs(b));

/**
 * Exercise 1 (notebook 01): the share of rows, among those with a pitch angle, where the pitch angle is above
 * 80 degrees (the turbine is stopped, its blades feathered).
 */
export function checkStoppedShare(answer: number, data: pl.DataFrame): void {
  // The one column needed (a filter of the whole frame copies all its columns).
  const withPitch = data.select(TARGET).filter(pl.col(TARGET).isNotNull());
  const stopped = withPitch.filter(pl.col(TARGET).gt(80)).height;
  const expected = stopped / withPitch.height;
  if (answer === undefined || answer === null)
    throw new ExerciseError(
      `the answer is ${String(answer)}: nothing was computed`,
      "assign the share to stoppedShare (stoppedShare = ...) before the check",
    );
  if (typeof answer !== "number")
    throw new ExerciseError(
      `the answer is the ${typeof answer} ${JSON.stringify(answer)}, not a number`,
      "compute with numbers: a frame's .height is a number; no quotes, no toFixed() (it returns text)",
    );
  if (Number.isNaN(answer))
    throw new ExerciseError(
      "the answer is NaN",
      "0 / 0 gives NaN: the filter kept no row? Keep the rows where Ba_avg is not null, then divide",
    );
  if (near(answer, expected)) {
    passed(`${(100 * answer).toFixed(2)} % of the rows with a pitch angle have it above 80 deg`);
    return;
  }
  if (answer === stopped)
    throw new ExerciseError(
      `${answer} is the number of such rows, not their share`,
      `divide it by the number of rows with a pitch angle (${withPitch.height})`,
    );
  if (near(answer, stopped / data.height))
    throw new ExerciseError(
      "close: but that is a share of all the rows",
      "count only the rows that have a pitch angle (Ba_avg not null), as the model's training does",
    );
  if (near(answer, expected * 100))
    throw new ExerciseError("that is a percentage", "give the share as a number between 0 and 1");
  if (near(answer, 1 - expected))
    throw new ExerciseError(
      "that is the share of the rows at or below 80 deg",
      'keep the rows above 80: pl.col("Ba_avg").gt(80), not .lt(80) or .ltEq(80)',
    );
  throw new ExerciseError(
    `${answer} is not the share of rows above 80 deg`,
    'filter the rows with pl.col("Ba_avg").gt(80), divide by the rows where Ba_avg is not null',
  );
}

/**
 * Exercise 2 (notebook 02): the model trained in the notebook, saved in the registry `modelsDir` with
 * saveToRegistry: a dated folder whose model loads with its metadata, `latest` pointing at it. With `trained`
 * (the metadata trainModel returned), the latest model must be that one, not an older model of the folder.
 */
export async function checkModelSaved(modelsDir: string, trained?: ModelMetadata): Promise<void> {
  const saveHint = "save it with await saveToRegistry(paths.models, model, metadata)";
  if (!existsSync(modelsDir))
    throw new ExerciseError(
      `no folder ${modelsDir}`,
      `give saveToRegistry the registry folder, paths.models, and await it: ${saveHint}`,
    );
  const names = listModels(modelsDir);
  if (names.length === 0) {
    if (existsSync(join(modelsDir, MODEL_FILE)))
      throw new ExerciseError(
        `${modelsDir} holds a model.json itself, not a dated model folder`,
        `model.save writes the network only, without its metadata: ${saveHint}`,
      );
    throw new ExerciseError(
      `no model in ${modelsDir}`,
      `${saveHint}; without await, this check runs before the files are written`,
    );
  }
  let dir: string;
  try {
    dir = resolveModelDir(modelsDir);
  } catch (error) {
    throw new ExerciseError(
      `the registry has models but no usable latest one: ${(error as Error).message}`,
      "saveToRegistry writes the latest pointer: save again",
    );
  }
  let m: ModelMetadata;
  try {
    m = readMetadata(dir);
  } catch (error) {
    throw new ExerciseError(
      `the latest model has no usable metadata: ${(error as Error).message}`,
      "saveToRegistry writes metadata.json (features, scalers, metrics) beside the network: save with it",
    );
  }
  if (m.features.length !== 135)
    throw new ExerciseError(
      `the saved model has ${m.features.length} features, not 135`,
      "train it on the features of prepareFeatures (training mode)",
    );
  if (trained !== undefined && (m.createdAt !== trained.createdAt || m.metrics.rmse !== trained.metrics.rmse))
    throw new ExerciseError(
      `the latest model, ${basename(dir)} (trained ${m.createdAt}), is not the one trained in this notebook (${trained.createdAt})`,
      "pass saveToRegistry the model and the metadata that trainModel returned above",
    );
  try {
    const loaded = await loadModel(dir, { log: () => {} });
    loaded.model.dispose();
  } catch (error) {
    throw new ExerciseError(
      `the saved model does not load: ${(error as Error).message}`,
      "a file of the model folder is missing or damaged: run the cell again to save a new one",
    );
  }
  passed(
    `model ${basename(dir)} saved with its ${m.features.length} feature names and its scalers, and it loads; ${scoredOn(m)} RMSE ${m.metrics.rmse.toFixed(3)} deg`,
  );
}

/**
 * Exercise 3 (notebook 03): a dated CSV and `latest.csv` in `folder`, written by a withIO step, with the mean
 * pitch angle of each turbine (`Wind_turbine_name,mean_pitch`).
 */
export function checkMeanPitchFiles(folder: string, data: pl.DataFrame): void {
  const latest = join(folder, "latest.csv");
  if (!existsSync(folder))
    throw new ExerciseError(
      `no folder ${folder}`,
      "give meanPitchFolder as the output folder of your withIO step: it creates it",
    );
  if (!existsSync(latest))
    throw new ExerciseError(
      `no ${latest}`,
      "run your step with withIO: it writes a dated file and latest.csv into the folder",
    );
  const dated = readdirSync(folder)
    .filter((f) => /^\d{8}-\d{6}(_\d+)?\.csv$/.test(f))
    .sort();
  if (dated.length === 0)
    throw new ExerciseError(
      `no dated file in ${folder}, only latest.csv`,
      "use the datedCsv writer: it names the file after the time, and copies it to latest.csv",
    );
  const newest = dated.at(-1) as string;
  if (readFileSync(latest, "utf8") !== readFileSync(join(folder, newest), "utf8"))
    throw new ExerciseError(
      `latest.csv is not a copy of the newest dated file, ${newest}: it is left from an earlier try`,
      "run your withIO step again: it writes the dated file and latest.csv together",
    );
  let df: pl.DataFrame;
  try {
    df = pl.readCSV(latest);
  } catch (error) {
    throw new ExerciseError(
      `${latest} is not a CSV polars can read: ${(error as Error).message.split("\n")[0]}`,
      'write it with datedCsv(","): a header line, then one line per turbine',
    );
  }
  if (df.columns.join(",") !== `${TURBINE_COLUMN},mean_pitch`)
    throw new ExerciseError(
      `the columns are ${df.columns.join(",")}`,
      `give two columns: ${TURBINE_COLUMN} and mean_pitch (alias the mean: .alias("mean_pitch"))`,
    );
  const expected = data
    .select(TURBINE_COLUMN, TARGET)
    .filter(pl.col(TARGET).isNotNull())
    .groupBy(TURBINE_COLUMN)
    .agg(pl.col(TARGET).mean().alias("mean_pitch"));
  const want = new Map(
    (expected.toRecords() as { Wind_turbine_name: string; mean_pitch: number }[]).map((r) => [
      r.Wind_turbine_name,
      r.mean_pitch,
    ]),
  );
  const got = df.toRecords() as { Wind_turbine_name: string; mean_pitch: unknown }[];
  if (got.length !== want.size)
    throw new ExerciseError(
      `${got.length} rows, expected one per turbine (${want.size})`,
      `group by ${TURBINE_COLUMN}: .groupBy("${TURBINE_COLUMN}").agg(...)`,
    );
  for (const r of got) {
    if (typeof r.mean_pitch !== "number")
      throw new ExerciseError(
        `mean_pitch holds ${JSON.stringify(r.mean_pitch)} for ${r.Wind_turbine_name}, not a number`,
        "write the mean itself, not a text made of it (no toFixed, no string concatenation)",
      );
    const w = want.get(r.Wind_turbine_name);
    if (w === undefined)
      throw new ExerciseError(
        `${r.Wind_turbine_name} is not one of the turbines`,
        `keep ${TURBINE_COLUMN} as it is in the data`,
      );
    if (!near(r.mean_pitch, w, 1e-6))
      throw new ExerciseError(
        `the mean pitch of ${r.Wind_turbine_name} is ${r.mean_pitch}, expected ${w}`,
        "average Ba_avg over the rows that have it (filter the nulls out, do not count them as 0)",
      );
  }
  passed(`${dated.length} dated file(s) and latest.csv in ${folder}, one mean pitch per turbine`);
}

/** A DAG file's path as the trainee knows it: from the home's dags/ folder on (`dags/predict.ts`). */
function inDags(file: string): string {
  return resolve(file).replace(/^.*\/dags\//, "dags/");
}

/** Loads the trainee's DAG file; an exercise not done, or a file that does not load, becomes a kind message. */
function loadTraineeDag(file: string, dagId: string): Dag {
  let dags: Dag[];
  try {
    dags = loadDagFile(file, { fresh: true });
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    const where = inDags(file);
    if (cause instanceof ExerciseNotDoneError)
      throw new ExerciseNotDoneError(`${cause.exercise}, in ${where}`);
    const notDone = /exercise not done yet: ([^\n]*)/.exec(String((error as Error).message));
    if (notDone) throw new ExerciseNotDoneError(`${notDone[1]}, in ${where}`);
    throw new ExerciseError(
      `${file} does not load: ${(error as Error).message}`,
      (error as { hint?: string }).hint ?? "fix the error it names, then run this cell again",
    );
  }
  const dag = dags.find((d) => d.id === dagId);
  if (!dag)
    throw new ExerciseError(`${file} defines no DAG "${dagId}"`, `keep id: "${dagId}" in the dag() options`);
  return dag;
}

/**
 * Exercise 4 (notebook 04): the predict DAG of `dags/predict.ts`: `prepare_features` then `predict`, nothing else,
 * `predict` after `prepare_features` (it reads the features file's path that `prepare_features` returns). The
 * file is type-checked first (the project's tsconfig.json): a type error is reported as tsc says it, with its
 * line and column, rather than as a failure deep inside a task process at run time.
 */
export function checkPredictDag(file: string): Dag {
  const root = findProjectRoot(dirname(resolve(file)));
  // A stub left in (the exercise not done) is said as such, before any type error it may cause.
  const source = existsSync(file) ? readFileSync(file, "utf8") : "";
  const stub = /notDoneYet\(\s*"([^"]*)"/.exec(source);
  if (stub) throw new ExerciseNotDoneError(`${stub[1]}, in ${inDags(file)}`);
  if (existsSync(file)) {
    const problems = typeCheck([file], root);
    const first = problems[0];
    if (first)
      throw new ExerciseError(
        `${formatTypeProblem(first)}${problems.length > 1 ? ` (and ${problems.length - 1} more type error${problems.length > 2 ? "s" : ""})` : ""}`,
        `fix line ${first.line} of ${first.file}: the types say what the code will do wrong when it runs`,
      );
  }
  const dag = loadTraineeDag(file, "predict");
  const ids = dag.spec.tasks.map((t) => t.id);
  if (!ids.includes("predict"))
    throw new ExerciseError(
      `the DAG has the tasks ${ids.join(", ")}, but no "predict"`,
      'declare it with d.task("predict", async (ctx) => ...)',
    );
  const extra = ids.filter((id) => id !== "prepare_features" && id !== "predict");
  if (extra.length > 0)
    throw new ExerciseError(
      `unexpected task(s): ${extra.join(", ")}`,
      "the predict DAG has two tasks: prepare_features and predict",
    );
  const predict = dag.spec.tasks.find((t) => t.id === "predict");
  if (!predict?.upstream.includes("prepare_features"))
    throw new ExerciseError(
      "predict does not depend on prepare_features",
      "chain them: features.before(predict), so predict runs once the features exist",
    );
  if (dag.spec.schedule === null || !("every" in dag.spec.schedule) || dag.spec.schedule.every !== "2m")
    throw new ExerciseError(
      "the schedule changed",
      'keep schedule: { every: "2m" } (every 2 minutes, as the course)',
    );
  passed("the predict DAG type-checks and has prepare_features -> predict, every 2 minutes");
  return dag;
}

/** What `checkPredictRun` needs of a run (what `runInEngine` returns). */
export interface CheckedRun {
  readonly dagId: string;
  readonly runId: string;
  readonly state: string;
  /** The stamp of the run's dated files. */
  readonly stamp: string;
  readonly tasks: readonly {
    readonly taskId: string;
    readonly state: string;
    readonly error?: string | null;
    readonly returnValue?: unknown;
  }[];
}

/** The hint for a task's error: what the trainee can do about it. */
function hintForTaskError(taskId: string, error: string): string {
  if (/no model at|run the train DAG first/.test(error))
    return 'there is no trained model yet: run the train DAG (runInEngine("train")), then this DAG again';
  if (/generated_data/.test(error) && /no such file|ENOENT|not found|no .*latest/i.test(error))
    return 'there is no generated record yet: run runInEngine("get_data_from_engie_hub"), then this DAG again';
  if (/xcom|return value/i.test(error))
    return `${taskId} reads what prepare_features returned: ctx.xcom(features), where features is that task`;
  return `read the task's log (windflow tasks logs predict ${taskId} RUN_ID, or the UI), fix dags/predict.ts, run again`;
}

/**
 * Exercise 4 (notebook 04): judges the run of the predict DAG the trainee just made (what `runInEngine`
 * returned), never an older file: the run succeeded, its `predict` task returned the path of the predictions
 * file it wrote, that file is the run's own (its stamp), has exactly the course's columns and one stamp, and
 * `latest.csv` is a copy of it. A failed run is reported with the failing task's own error.
 */
export function checkPredictRun(run: CheckedRun, predictionsFolder: string): void {
  if (run.dagId !== "predict")
    throw new ExerciseError(
      `that is a run of ${run.dagId}, not of predict`,
      'check the run of the predict DAG: const run = await runInEngine("predict")',
    );
  if (run.state !== "success") {
    const failed = run.tasks.find((t) => t.state === "failed" || t.state === "up_for_retry");
    if (failed) {
      const error = (failed.error ?? "").split("\n")[0] ?? "";
      throw new ExerciseError(
        `your run ${run.runId} failed: task ${failed.taskId}: ${error || "no error recorded"}`,
        hintForTaskError(failed.taskId, failed.error ?? ""),
      );
    }
    throw new ExerciseError(
      `your run ${run.runId} ended ${run.state}, not success`,
      "look at its tasks' states (printed above, or in the UI's grid), then run the DAG again",
    );
  }
  const task = run.tasks.find((t) => t.taskId === "predict");
  const written = task?.returnValue;
  if (typeof written !== "string")
    throw new ExerciseError(
      `your run ${run.runId} succeeded, but its predict task returned ${JSON.stringify(written) ?? "nothing"}, not the path of its predictions file`,
      "return written.path, the path predictWithIO wrote",
    );
  const name = basename(written);
  if (!name.startsWith(run.stamp))
    throw new ExerciseError(
      `predict returned ${name}, which is not this run's file (its files are stamped ${run.stamp})`,
      "pass { now: ctx.logicalDate } to predictWithIO, so its file is named after the run",
    );
  if (resolve(dirname(written)) !== resolve(predictionsFolder))
    throw new ExerciseError(
      `predict wrote ${written}, not into ${predictionsFolder}`,
      "write into ctx.params.predictionsFolder, resolved against the project folder",
    );
  const rows = checkPredictionsFile(written, run.stamp);
  const latest = join(predictionsFolder, "latest.csv");
  if (!existsSync(latest) || readFileSync(latest, "utf8") !== readFileSync(written, "utf8"))
    throw new ExerciseError(
      `${latest} is not a copy of this run's ${name}`,
      "write the predictions with predictWithIO: it writes the dated file and latest.csv together",
    );
  passed(`run ${run.runId}: ${rows} prediction(s) stamped ${run.stamp} in ${name} and latest.csv`);
}

/**
 * A predictions CSV with exactly the course's columns and one stamp on every row (`stamp`, if given). Returns
 * its number of rows. Exercise 4 calls it through `checkPredictRun`, which knows which file the run wrote.
 */
export function checkPredictionsFile(path: string, stamp?: string): number {
  if (!existsSync(path))
    throw new ExerciseError(
      `no ${path}`,
      'the predict DAG writes it: const run = await runInEngine("predict"), then checkPredictRun(run, ...)',
    );
  const text = readFileSync(path, "utf8").trim().split("\n");
  if (text[0] !== "predictions,predictions_time")
    throw new ExerciseError(
      `the header is ${text[0]}`,
      "write exactly two columns: predictions,predictions_time (predictWithIO does)",
    );
  const rows = text.slice(1).map((l) => l.split(","));
  if (rows.length === 0)
    throw new ExerciseError("the file has no prediction", "predict the rows of the features file");
  const stamps = new Set(rows.map((r) => r[1]));
  if (stamps.size !== 1 || !/^\d{8}-\d{6}$/.test([...stamps][0] as string))
    throw new ExerciseError(
      `predictions_time holds ${[...stamps].join(", ")}`,
      "one YYYYmmdd-HHMMSS stamp, the run's, on every row",
    );
  if (stamp !== undefined && !stamps.has(stamp))
    throw new ExerciseError(
      `predictions_time is ${[...stamps][0]}, not the run's stamp ${stamp}`,
      "pass { now: ctx.logicalDate } to predictWithIO",
    );
  if (rows.some((r) => r[0] === "" || !Number.isFinite(Number(r[0]))))
    throw new ExerciseError(
      "a prediction is not a number",
      "predict with the model's predict(), which returns numbers",
    );
  return rows.length;
}

/** Exercise 5 (notebook 05): the mean prediction of each run (by stamp) from the dated files of `folder`. */
export function checkMeanPredictions(answer: Record<string, number>, folder: string): void {
  const files = existsSync(folder)
    ? readdirSync(folder).filter((f) => /^\d{8}-\d{6}(_\d+)?\.csv$/.test(f))
    : [];
  if (files.length === 0)
    throw new ExerciseError(
      `no dated prediction file in ${folder}`,
      "run the rounds cell above first: each predict run writes one",
    );
  if (typeof answer !== "object" || answer === null || Array.isArray(answer))
    throw new ExerciseError(
      `meanByRun is ${Array.isArray(answer) ? "an array" : String(answer)}, not an object keyed by stamp`,
      "build an object: Object.fromEntries(runs.map((r) => [stamp, mean]))",
    );
  const expected: Record<string, number> = {};
  for (const f of files) {
    const rows = readFileSync(join(folder, f), "utf8").trim().split("\n").slice(1);
    const values = rows.map((r) => Number(r.split(",")[0]));
    expected[f.replace(/\.csv$/, "")] = values.reduce((a, b) => a + b, 0) / values.length;
  }
  const keys = Object.keys(answer);
  if (keys.length > 0 && keys.every((k) => k.endsWith(".csv")))
    throw new ExerciseError(
      `the keys end with .csv (${keys[0]})`,
      'key by the stamp: the file name without .csv, r.name.replace(/.csv$/, "")',
    );
  const unknown = keys.filter((k) => !(k in expected));
  if (unknown.length > 0)
    throw new ExerciseError(
      `no prediction file for ${unknown.slice(0, 3).join(", ")}${unknown.length > 3 ? "..." : ""} in ${folder}`,
      "compute from the runs as they are now: run the cell that reads them (readPredictionRuns) again",
    );
  const missing = Object.keys(expected).filter((k) => !(k in answer));
  if (missing.length > 0)
    throw new ExerciseError(
      `no mean for ${missing.slice(0, 3).join(", ")}${missing.length > 3 ? "..." : ""}`,
      "one entry per run: every file of the folder, keyed by the file name without .csv (its stamp)",
    );
  for (const [k, v] of Object.entries(expected)) {
    const got: unknown = answer[k];
    if (typeof got !== "number")
      throw new ExerciseError(
        `the mean of ${k} is the ${typeof got} ${JSON.stringify(got)}, not a number`,
        "keep the mean a number: no toFixed(), no quotes",
      );
    if (!near(got, v, 1e-6))
      throw new ExerciseError(
        `the mean of ${k} is ${got}, expected ${v}`,
        "average the predictions of that run: their sum divided by their count",
      );
  }
  passed(`the mean prediction of ${Object.keys(expected).length} run(s)`);
}
