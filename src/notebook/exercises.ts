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
import { inspect } from "node:util";
import pl from "nodejs-polars";
import { TARGET, TURBINE_COLUMN } from "../data/schema.js";
import { listModels, readMetadata, resolveModelDir } from "../model/io.js";
import type { Dag } from "../orchestration/dag.js";
import { loadDagFile } from "../orchestration/loader.js";

/** A check that did not pass, or an exercise not done: printed as its message and hint only. */
export class ExerciseError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = "ExerciseError";
    // No stack frames: the trainee needs the sentence, not where in windflow it was thrown.
    this.stack = `✘ ${message}\n  hint: ${hint}`;
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
  const withPitch = data.filter(pl.col(TARGET).isNotNull());
  const stopped = withPitch.filter(pl.col(TARGET).gt(80)).height;
  const expected = stopped / withPitch.height;
  if (typeof answer !== "number" || Number.isNaN(answer))
    throw new ExerciseError(
      `the answer is ${String(answer)}, not a number`,
      "compute a number: rows above 80 deg / rows with a pitch angle",
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
  throw new ExerciseError(
    `${answer} is not the share of rows above 80 deg`,
    'filter the rows with pl.col("Ba_avg").gt(80), divide by the rows where Ba_avg is not null',
  );
}

/** Exercise 2 (notebook 02): a model saved in the registry folder, `latest` pointing at it, with its metadata. */
export function checkModelSaved(modelsDir: string): void {
  const names = listModels(modelsDir);
  if (names.length === 0)
    throw new ExerciseError(
      `no model in ${modelsDir}`,
      "save the trained model with saveToRegistry(modelsDir, model, metadata)",
    );
  let dir: string;
  try {
    dir = resolveModelDir(modelsDir);
  } catch (error) {
    throw new ExerciseError(
      `the registry has models but no usable latest one: ${(error as Error).message}`,
      "saveToRegistry writes the latest pointer: save again",
    );
  }
  const m = readMetadata(dir);
  if (m.features.length !== 135)
    throw new ExerciseError(
      `the saved model has ${m.features.length} features, not 135`,
      "train it on the features of prepareFeatures (training mode)",
    );
  passed(
    `model ${names.at(-1)} saved with its ${m.features.length} feature names and its scaler; validation RMSE ${m.metrics.rmse.toFixed(3)} deg`,
  );
}

/**
 * Exercise 3 (notebook 03): a dated CSV and `latest.csv` in `folder`, written by a withIO step, with the mean
 * pitch angle of each turbine (`Wind_turbine_name,mean_pitch`).
 */
export function checkMeanPitchFiles(folder: string, data: pl.DataFrame): void {
  const latest = `${folder}/latest.csv`;
  if (!existsSync(folder) || !existsSync(latest))
    throw new ExerciseError(
      `no ${latest}`,
      "run your step with withIO: it writes a dated file and latest.csv into the folder",
    );
  const dated = readdirSync(folder).filter((f) => /^\d{8}-\d{6}(_\d+)?\.csv$/.test(f));
  if (dated.length === 0)
    throw new ExerciseError(
      `no dated file in ${folder}`,
      "use the datedCsv writer: it names the file after the time",
    );
  const df = pl.readCSV(latest);
  if (df.columns.join(",") !== `${TURBINE_COLUMN},mean_pitch`)
    throw new ExerciseError(
      `the columns are ${df.columns.join(",")}`,
      `give two columns: ${TURBINE_COLUMN} and mean_pitch`,
    );
  const expected = data
    .filter(pl.col(TARGET).isNotNull())
    .groupBy(TURBINE_COLUMN)
    .agg(pl.col(TARGET).mean().alias("mean_pitch"));
  const want = new Map(
    (expected.toRecords() as { Wind_turbine_name: string; mean_pitch: number }[]).map((r) => [
      r.Wind_turbine_name,
      r.mean_pitch,
    ]),
  );
  const got = df.toRecords() as { Wind_turbine_name: string; mean_pitch: number }[];
  if (got.length !== want.size)
    throw new ExerciseError(
      `${got.length} rows, expected one per turbine (${want.size})`,
      `group by ${TURBINE_COLUMN}`,
    );
  for (const r of got) {
    const w = want.get(r.Wind_turbine_name);
    if (w === undefined || !near(r.mean_pitch, w, 1e-6))
      throw new ExerciseError(
        `the mean pitch of ${r.Wind_turbine_name} is ${r.mean_pitch}, expected ${w}`,
        "average Ba_avg over the rows that have it",
      );
  }
  passed(`${dated.length} dated file(s) and latest.csv in ${folder}, one mean pitch per turbine`);
}

/** Loads the trainee's DAG file; an exercise not done, or a file that does not load, becomes a kind message. */
function loadTraineeDag(file: string, dagId: string): Dag {
  let dags: Dag[];
  try {
    dags = loadDagFile(file, { fresh: true });
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    const where = file.replace(/^.*\/dags\//, "dags/");
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
 * `predict` after `prepare_features` (it reads the features file's path that `prepare_features` returns).
 */
export function checkPredictDag(file: string): Dag {
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
  passed("the predict DAG has prepare_features -> predict, every 2 minutes");
  return dag;
}

/** Exercise 4 (notebook 04): a predictions CSV with exactly the course's columns and one stamp. */
export function checkPredictionsFile(path: string): void {
  if (!existsSync(path)) throw new ExerciseError(`no ${path}`, "run the predict DAG first");
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
  if (rows.some((r) => !Number.isFinite(Number(r[0]))))
    throw new ExerciseError(
      "a prediction is not a number",
      "predict with the model's predict(), which returns numbers",
    );
  passed(`${rows.length} prediction(s) stamped ${[...stamps][0]} in ${path}`);
}

/** Exercise 5 (notebook 05): the mean prediction of each run (by stamp) from the dated files of `folder`. */
export function checkMeanPredictions(answer: Record<string, number>, folder: string): void {
  const files = existsSync(folder)
    ? readdirSync(folder).filter((f) => /^\d{8}-\d{6}(_\d+)?\.csv$/.test(f))
    : [];
  if (files.length === 0)
    throw new ExerciseError(`no dated prediction file in ${folder}`, "run the predict DAG a few times first");
  const expected: Record<string, number> = {};
  for (const f of files) {
    const rows = readFileSync(`${folder}/${f}`, "utf8").trim().split("\n").slice(1);
    const values = rows.map((r) => Number(r.split(",")[0]));
    expected[f.replace(/\.csv$/, "")] = values.reduce((a, b) => a + b, 0) / values.length;
  }
  const missing = Object.keys(expected).filter((k) => !(k in answer));
  if (missing.length > 0)
    throw new ExerciseError(
      `no mean for ${missing.slice(0, 3).join(", ")}${missing.length > 3 ? "..." : ""}`,
      "key the result by the file name without .csv (its stamp)",
    );
  for (const [k, v] of Object.entries(expected))
    if (!near(answer[k] as number, v, 1e-6))
      throw new ExerciseError(
        `the mean of ${k} is ${answer[k]}, expected ${v}`,
        "average the predictions column of that file",
      );
  passed(`the mean prediction of ${Object.keys(expected).length} run(s)`);
}
