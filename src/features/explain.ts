/**
 * `prepareFeatures`, one rule at a time, for teaching: the frame after each of the course's steps, and a few
 * rows where the step changed something, before and after. The last step's frame is exactly what
 * `prepareFeatures` returns (a test holds them equal); the pipeline itself uses `prepareFeatures`, which does
 * all the steps in one lazy query.
 */
import pl from "nodejs-polars";
import { DATE_COLUMN, TARGET } from "../data/schema.js";
import { collectGarbageSoon } from "../util/gc.js";
import { FILL_RULES, preparedColumns, prepareFeatures, ROLLING_WINDOW } from "./prepare.js";

export interface PrepareStep {
  /** "1", "2", "3", "4a" ... "6". */
  step: string;
  /** The rule, in words. */
  rule: string;
  /** The columns the step acts on (the ones worth looking at). */
  columns: string[];
  /** Rows and columns of the frame after this step. */
  height: number;
  width: number;
  /**
   * The first rows of the frame after this step (every column). Only these: a notebook keeps its variables,
   * and the whole frame of every step would hold several copies of the data (750 MB on the course file).
   */
  head: pl.DataFrame;
  /** A few consecutive rows of `columns` where the step changed a value: before and after it (null: none). */
  example: { before: pl.DataFrame; after: pl.DataFrame } | null;
}

/** Rows shown in an example. */
const EXAMPLE_ROWS = 6;
/** Rows kept of each step's frame. */
const HEAD_ROWS = 10;

/**
 * A copy of a small frame that owns its memory: `head()` and `slice()` are views that keep the whole frame's
 * buffers alive; written to Arrow IPC and read back, only the rows shown remain.
 */
function detached(frame: pl.DataFrame): pl.DataFrame {
  return pl.readIPC(frame.writeIPC());
}

/** The first window of rows where `before` and `after` differ in `columns` (same row order), or null. */
function exampleOf(before: pl.DataFrame, after: pl.DataFrame, columns: string[]): PrepareStep["example"] {
  if (before.height !== after.height || columns.length === 0) return null;
  const column = columns[0] as string;
  const b = before.getColumn(column).toArray() as (number | null)[];
  const a = after.getColumn(column).toArray() as (number | null)[];
  const first = b.findIndex(
    (v, i) => v !== a[i] && !(Number.isNaN(v as number) && Number.isNaN(a[i] as number)),
  );
  if (first < 0) return null;
  const start = Math.max(0, first - 2);
  return {
    before: detached(before.select(...columns).slice(start, EXAMPLE_ROWS)),
    after: detached(after.select(...columns).slice(start, EXAMPLE_ROWS)),
  };
}

/**
 * The course's rules applied one after the other (see `prepareFeatures` for the rules). `data` as
 * `loadDataset` gives it (dates parsed) or as read from a CSV (dates as text).
 */
export async function prepareFeaturesSteps(
  data: pl.DataFrame,
  options: { trainingMode: boolean },
): Promise<PrepareStep[]> {
  const { steps } = await runSteps(data, options, false);
  // The last steps' whole frames are garbage now, in native memory V8 does not see (util/gc.ts).
  await collectGarbageSoon();
  return steps;
}

/**
 * The steps, and with `keepLast` the last step's whole frame (for sameAsPrepareFeatures); `onFrame` sees each
 * step's whole frame (for tests). Only the frame before the current step
 * and the current one are alive at a time: each step's frame is dropped once the next one is made, and collected
 * then (polars' columns are native memory V8 does not count, and their finalizers run on a later turn: hence
 * async). Holding every step's frame until the end took 750 MB more at the peak on the course file (issue 11).
 */
export async function runSteps(
  data: pl.DataFrame,
  options: { trainingMode: boolean },
  keepLast: boolean,
  onFrame?: (frame: pl.DataFrame) => void,
): Promise<{ steps: PrepareStep[]; last?: pl.DataFrame }> {
  const { trainingMode } = options;
  const steps: PrepareStep[] = [];
  const add = (
    step: string,
    rule: string,
    columns: string[],
    frame: pl.DataFrame,
    previous?: pl.DataFrame,
  ) => {
    onFrame?.(frame);
    steps.push({
      step,
      rule,
      columns,
      height: frame.height,
      width: frame.width,
      head: detached(frame.head(HEAD_ROWS)),
      example: previous ? exampleOf(previous, frame, columns) : null,
    });
    return frame;
  };
  const dateType = data.getColumn(DATE_COLUMN).dtype.variant;
  const utc =
    dateType === "Datetime"
      ? pl.col(DATE_COLUMN)
      : pl.col(DATE_COLUMN).str.strptime(pl.Datetime("ms"), "%Y-%m-%dT%H:%M:%S%:z").dt.convertTimeZone("UTC");

  // A `NaN` in the file is a missing value, as pandas reads it (prepareFeatures does the same).
  const sensors = data.columns.filter((c) => c !== DATE_COLUMN && c !== "Wind_turbine_name");
  let df = data.withColumns(utc.alias(DATE_COLUMN), pl.col(sensors).cast(pl.Float64).fillNan(null));
  df = add(
    "1",
    trainingMode ? "training mode: drop the rows without a target (Ba_avg)" : "prediction mode: drop Ba_avg",
    trainingMode ? [TARGET] : [],
    trainingMode ? df.filter(pl.col(TARGET).isNotNull()) : df.columns.includes(TARGET) ? df.drop(TARGET) : df,
  );
  await collectGarbageSoon();
  const month = pl.col(DATE_COLUMN).dt.month().cast(pl.Int32);
  df = add(
    "2",
    "date features of the UTC instant: year, month, season = (month % 12 + 3) // 3",
    [DATE_COLUMN, "year", "month", "season"],
    df.withColumns(
      pl.col(DATE_COLUMN).dt.year().cast(pl.Int32).alias("year"),
      month.alias("month"),
      month.rem(12).add(3).div(3).floor().cast(pl.Int32).alias("season"),
    ),
  );
  await collectGarbageSoon();
  df = add(
    "3",
    "sort every row by date, stably (rows of the same instant keep their order)",
    [DATE_COLUMN, "Wind_turbine_name"],
    df.sort({ by: DATE_COLUMN, maintainOrder: true }),
  );
  const fills: [string, string, readonly string[], (c: pl.Expr) => pl.Expr][] = [
    ["4a", "Q_*: the previous value (forward fill)", FILL_RULES.forwardFill, (c) => c.forwardFill()],
    ["4b", "Va1_*: the column's mean", FILL_RULES.mean, (c) => c.fillNull(c.mean())],
    ["4c", "Va2_*: the column's median", FILL_RULES.median, (c) => c.fillNull(c.median())],
    [
      "4d",
      `Rs_*, Rm_*: the mean of the last ${ROLLING_WINDOW} rows that have a value`,
      FILL_RULES.rollingMean,
      (c) => c.fillNull(c.rollingMean({ windowSize: ROLLING_WINDOW, minPeriods: 1 })),
    ],
  ];
  for (const [step, rule, columns, fill] of fills) {
    await collectGarbageSoon();
    const present = columns.filter((c) => df.columns.includes(c));
    const before = df;
    df = add(step, rule, present, df.withColumns(fill(pl.col([...present]))), before);
  }
  df = add(
    "5",
    "drop Wind_turbine_name, Ba_min, Ba_max, Ba_std and Date_time",
    [],
    df.select(...preparedColumns(trainingMode).filter((c) => df.columns.includes(c))),
  );
  await collectGarbageSoon();
  const before = df;
  const values = df.columns.filter((c) => !["year", "month", "season"].includes(c));
  df = add(
    "6",
    "every value still missing: 0",
    values.filter((c) => before.getColumn(c).nullCount() > 0),
    df.withColumns(pl.col(values).fillNull(0)),
    before,
  );
  // Not even in the returned object unless asked: the caller's awaited promise would keep it alive.
  return keepLast ? { steps, last: df } : { steps };
}

/** The frame `prepareFeaturesSteps` ends with, checked against `prepareFeatures` (for tests and doubters). */
export async function sameAsPrepareFeatures(
  data: pl.DataFrame,
  options: { trainingMode: boolean },
): Promise<boolean> {
  const { last } = await runSteps(data, options, true);
  return last?.frameEqual(prepareFeatures(data, options), true) === true;
}
