/**
 * The course's `prepare_features(data, training_mode)` (SEED-NOTES.md), step by step, in nodejs-polars:
 * 1. target: training mode drops the rows without `Ba_avg`; prediction mode drops the `Ba_avg` column if present;
 * 2. `year`, `month`, `season = (month % 12 + 3) // 3` of the UTC instant of `Date_time`;
 * 3. a stable sort by that instant (all turbines mixed; ties keep their input order);
 * 4. fills over the sorted rows: `Q_*` forward fill, `Va1_*` column mean, `Va2_*` column median, `Rs_*`/`Rm_*`
 *    mean of the non-missing values among the last 30 rows (current one included), still missing if none;
 * 5. drop `Wind_turbine_name`, `Ba_min`, `Ba_max`, `Ba_std`, `Date_time`;
 * 6. every remaining missing value becomes 0.
 *
 * Decisions (the parity tests against the pandas oracle `tests/oracle/prepare_features.py` hold them):
 * - Column order is the course's: the remaining original columns in file order, then `year, month, season`
 *   (FEATURE_COLUMNS, 135); in training mode `Ba_avg` stays where it was, first (`["Ba_avg", ...FEATURE_COLUMNS]`).
 * - Sensor columns are Float64; `year`, `month`, `season` are Int32, like pandas' `dt.year`/`dt.month` (so the
 *   Parquet files of both sides have the same Arrow types). They are never null (a missing date is an error),
 *   so the final zero fill, which would turn them into Float64 in polars, is only applied to the sensor columns.
 * - Missing means null or NaN, as in pandas: NaN values are turned into nulls first (polars' mean and median
 *   would otherwise count NaN).
 * - Rolling window: polars' `rollingMean({windowSize: 30, minPeriods: 1})` counts 30 rows, nulls included, and
 *   averages the non-null values among them, with `minPeriods` counting non-null values: exactly pandas'
 *   `rolling(30, min_periods=1).mean()` (tested with nulls inside windows and a window of 30 nulls).
 * - Input columns must be the 138 of the schema (`Ba_avg` optional in prediction mode), in any order; a missing
 *   or unknown column is a SchemaError naming it. `Date_time` may be a Datetime (naive = UTC, or any time zone,
 *   converted to UTC) or an ISO 8601 string with offset (parsed to UTC).
 */
import { resolve } from "node:path";
import pl from "nodejs-polars";
import { checkNotGivenUp, giveUpColumns } from "../data/frames.js";
import { DATE_FORMAT, loadDataset } from "../data/load.js";
import { COLUMNS, DATE_COLUMN, SENSOR_COLUMNS, TARGET, TURBINE_COLUMN } from "../data/schema.js";
import { SchemaError, WindflowError } from "../errors.js";
import { parquetFile, type Reader, withIO } from "../io/with-io.js";
import { collectGarbageSoon } from "../util/gc.js";

/** The date features, appended after the sensor columns in this order. Int32. */
export const DATE_FEATURES = ["year", "month", "season"] as const;

/** Columns removed by step 5 (besides `Ba_avg` in prediction mode). */
export const DROPPED_COLUMNS: readonly string[] = [TURBINE_COLUMN, "Ba_min", "Ba_max", "Ba_std", DATE_COLUMN];

/** The 135 model inputs in order: the 132 sensor columns left (file order), then year, month, season. */
export const FEATURE_COLUMNS: readonly string[] = [
  ...SENSOR_COLUMNS.filter((c) => !c.startsWith("Ba_")),
  ...DATE_FEATURES,
];

/** Rows of the rolling window of the `Rs_*`/`Rm_*` fill (the current row and the 29 before it). */
export const ROLLING_WINDOW = 30;

const byPrefix = (...prefixes: string[]) =>
  SENSOR_COLUMNS.filter((c) => prefixes.some((p) => c.startsWith(p)));

/** Which columns each fill rule of step 4 applies to, in the order the course applies them. */
export const FILL_RULES = {
  forwardFill: byPrefix("Q_"),
  mean: byPrefix("Va1_"),
  median: byPrefix("Va2_"),
  rollingMean: byPrefix("Rs_", "Rm_"),
} as const satisfies Record<string, readonly string[]>;

export interface PrepareOptions {
  /** Training: keep `Ba_avg` and drop the rows without it. Prediction: drop `Ba_avg` if present. */
  trainingMode: boolean;
  /** What the data is called in error messages (a file path, for instance). @default "the input data" */
  source?: string;
}

/** The columns `prepareFeatures` returns, in order: FEATURE_COLUMNS, with `Ba_avg` first in training mode. */
export function preparedColumns(trainingMode: boolean): string[] {
  return trainingMode ? [TARGET, ...FEATURE_COLUMNS] : [...FEATURE_COLUMNS];
}

/**
 * Steps 4 and 6 as one expression per rule (`input` gives a rule's columns, as one or more expressions). Each `pl.col([...])` expands to its columns pairwise
 * (`pl.col(["a", "b"]).fillNull(pl.col(["a", "b"]).mean())` fills `a` with the mean of `a`): a few multi-column
 * expressions instead of 133 single ones, which cost ~100 ms of nodejs-polars overhead per select.
 */
function fillExprs(columns: readonly string[], input: (names: readonly string[]) => pl.Expr[]): pl.Expr[] {
  const rule = (names: readonly string[]) => names.filter((c) => columns.includes(c));
  const { forwardFill, mean, median, rollingMean } = FILL_RULES;
  const ruled = new Set<string>([...forwardFill, ...mean, ...median, ...rollingMean]);
  const others = columns.filter((c) => !ruled.has(c));
  const group = (names: readonly string[], fill: (c: pl.Expr) => pl.Expr) =>
    names.length === 0 ? [] : input(names).map((c) => fill(c).fillNull(0));
  return [
    ...group(rule(forwardFill), (c) => c.forwardFill()),
    ...group(rule(mean), (c) => c.fillNull(c.mean())),
    ...group(rule(median), (c) => c.fillNull(c.median())),
    ...group(rule(rollingMean), (c) =>
      c.fillNull(c.rollingMean({ windowSize: ROLLING_WINDOW, minPeriods: 1 })),
    ),
    ...group(others, (c) => c),
  ];
}

/** Checks the columns against the schema: all 138 (`Ba_avg` optional in prediction mode), nothing else. */
function checkColumns(columns: readonly string[], trainingMode: boolean, source: string): void {
  const present = new Set(columns);
  const required = COLUMNS.filter((c) => trainingMode || c !== TARGET);
  const missing = required.filter((c) => !present.has(c));
  if (missing.length > 0) {
    throw new SchemaError(
      source,
      `missing required column${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`,
      { column: missing[0] as string },
      missing.includes(TARGET) && missing.length === 1
        ? "training needs the target Ba_avg; for prediction call prepareFeatures with trainingMode: false"
        : "the data must have the 138 columns of the La Haute Borne schema (COLUMNS in src/data/schema.ts)",
    );
  }
  const known = new Set(COLUMNS);
  const unknown = columns.filter((c) => !known.has(c));
  if (unknown.length > 0) {
    throw new SchemaError(
      source,
      `unknown column${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}`,
      { column: unknown[0] as string },
      "select the 138 columns of the La Haute Borne schema before preparing features",
    );
  }
}

/** `Date_time` as a UTC Datetime expression, whatever its input type; errors name the column. */
function utcDate(data: pl.DataFrame, source: string): pl.Expr {
  const dtype = data.getColumn(DATE_COLUMN).dtype;
  const col = pl.col(DATE_COLUMN);
  if (dtype.variant === "Datetime") {
    const timeZone = (dtype as pl.Datetime).inner[1];
    if (!timeZone) return col.dt.replaceTimeZone("UTC"); // naive: already UTC
    return timeZone === "UTC" ? col : col.dt.convertTimeZone("UTC");
  }
  if (dtype.variant === "String" || dtype.variant === "Utf8") {
    return col.str.strptime(pl.Datetime("ms"), DATE_FORMAT).dt.convertTimeZone("UTC");
  }
  throw new SchemaError(
    source,
    `${DATE_COLUMN} has type ${dtype.variant}; expected a Datetime or an ISO 8601 string with offset`,
    { column: DATE_COLUMN },
  );
}

/**
 * The course's feature preparation (see the module comment): returns the features, FEATURE_COLUMNS in order,
 * with `Ba_avg` first in training mode; sensor columns Float64, date features Int32; no missing value left.
 * Throws a SchemaError naming the column when a column is missing or unknown, a sensor column is not numeric,
 * or a date is missing or unparsable.
 */
export function prepareFeatures(data: pl.DataFrame, options: PrepareOptions): pl.DataFrame {
  checkNotGivenUp(data, options.source ?? "the input data");
  const plan = featurePlan(data, options);
  try {
    return plan.assemble([
      data
        .lazy()
        .select(...fillExprs(plan.kept, plan.input))
        .collectSync(),
    ]);
  } catch (error) {
    throw numericError(data, plan.kept, plan.source) ?? error;
  }
}

/** Columns filled per select by `prepareFeaturesConsuming`: the data it still holds shrinks between them. */
const CONSUMED_PER_STEP = 34;

/**
 * `prepareFeatures` for a caller that gives `data` up (a step that read it for this alone, as
 * `prepareFeaturesWithIO`): the same features, made a few columns at a time, each column dropped from `data` (in
 * place) and collected once its features are made. The data and all of its features never exist at once (issue 11:
 * a notebook kernel's peak, and a features task's). `data` is left with the columns the features do not use.
 */
export async function prepareFeaturesConsuming(
  data: pl.DataFrame,
  options: PrepareOptions,
  onProgress?: (columnsDone: number, columns: number) => void,
): Promise<pl.DataFrame> {
  checkNotGivenUp(data, options.source ?? "the input data");
  const plan = featurePlan(data, options);
  const parts: pl.DataFrame[] = [];
  for (let i = 0; i < plan.kept.length; i += CONSUMED_PER_STEP) {
    const names = plan.kept.slice(i, i + CONSUMED_PER_STEP);
    // The columns were checked numeric by featurePlan: an error here is polars' own, passed on as it is
    // (prepareFeatures' slow path would look for columns already dropped).
    parts.push(
      data
        .lazy()
        .select(...fillExprs(names, plan.input))
        .collectSync(),
    );
    giveUpColumns(
      data,
      names,
      "prepareFeaturesConsuming",
      "load the data again (loadDataset) to use it once more: prepareFeaturesConsuming keeps only the features",
    );
    // The dropped columns' memory goes back once their wrappers are collected (util/gc.ts).
    await collectGarbageSoon();
    onProgress?.(i + names.length, plan.kept.length);
  }
  return plan.assemble(parts);
}

/** What both ways of preparing features share: the checked input, the rows' new order, the columns' expressions. */
interface FeaturePlan {
  source: string;
  /** The columns the features are made of (the target first in training mode), in the course's order. */
  kept: readonly string[];
  /** A rule's columns as Float64, NaN made missing where there is any, in the rows' new order (see fillExprs). */
  input(names: readonly string[]): pl.Expr[];
  /** The filled columns (in any grouping), with the date features, in the output's order. */
  assemble(filled: readonly pl.DataFrame[]): pl.DataFrame;
}

function featurePlan(data: pl.DataFrame, options: PrepareOptions): FeaturePlan {
  const { trainingMode } = options;
  const source = options.source ?? "the input data";
  const columns = data.columns;
  checkColumns(columns, trainingMode, source);

  // Dates first: parse once, and refuse missing or unparsable ones (a row without a date cannot be sorted).
  const dates = data.select(utcDate(data, source).alias(DATE_COLUMN)).getColumn(DATE_COLUMN);
  const nullDates = dates.nullCount();
  if (nullDates > 0) {
    const raw = data.getColumn(DATE_COLUMN);
    const emptyDates = raw.nullCount();
    const parsed = dates.toArray();
    const firstBad = raw.toArray().findIndex((v, i) => v !== null && parsed[i] === null);
    throw new SchemaError(
      source,
      emptyDates > 0
        ? `${emptyDates} row${emptyDates > 1 ? "s have" : " has"} no date`
        : `${nullDates} unparsable date${nullDates > 1 ? "s" : ""}, the first one ${JSON.stringify(
            firstBad < 0 ? null : raw.get(firstBad),
          )}`,
      { column: DATE_COLUMN },
      "dates are ISO 8601 with an offset, like 2017-01-01T00:00:00+01:00",
    );
  }

  const sensors = FEATURE_COLUMNS.slice(0, -DATE_FEATURES.length);
  const kept = trainingMode ? [TARGET, ...sensors] : sensors;
  let withNan: string[];
  try {
    // Sensor columns as Float64 (strict: text that is not a number fails here, before any work), NaN as missing
    // like in pandas; the dropped columns take no part in the rules.
    const nanCounts = data.select(pl.col(kept).cast(pl.Float64, true).isNan().sum()).row(0) as number[];
    withNan = kept.filter((_, i) => (nanCounts[i] ?? 0) > 0);
  } catch (error) {
    throw numericError(data, kept, source) ?? error;
  }
  // 1. Target, and 3. stable sort by date (ties keep their input order), as ONE gather of each column, inside
  // the expression that fills it: the order is computed on the dates and row numbers alone, and no sorted copy of
  // the whole frame exists beside the data (filtering then sorting the frame made two full copies while the data
  // was alive: issue 11, a notebook kernel's memory). (Step 2 is computed from the sorted dates: the values are
  // the same, and the course's column order is restored by the last select.)
  const ROW = "__windflow_row";
  const KEEP = "__windflow_keep";
  const keys = [dates];
  // A target that is NaN counts as missing (NaN is missing, as pandas reads it).
  if (trainingMode)
    keys.push(
      data
        .select(pl.col(TARGET).cast(pl.Float64, true).fillNan(null).isNotNull().alias(KEEP))
        .getColumn(KEEP),
    );
  let rows = pl.DataFrame(keys).lazy().withRowIndex(ROW);
  if (trainingMode) rows = rows.filter(pl.col(KEEP));
  // As plain numbers: nodejs-polars 0.24's gather crashes the process when given a Series.
  const order = Array.from(
    rows
      .sort({ by: [DATE_COLUMN, ROW] })
      .select(ROW)
      .collectSync()
      .getColumn(ROW)
      .toArray() as Iterable<number>,
  );
  const nan = new Set(withNan);
  return {
    source,
    kept,
    input: (names) =>
      [names.filter((c) => nan.has(c)), names.filter((c) => !nan.has(c))]
        .filter((part) => part.length > 0)
        .map((part) => {
          const numeric = pl.col([...part]).cast(pl.Float64, true);
          return (nan.has(part[0] as string) ? numeric.fillNan(null) : numeric).gather(order);
        }),
    assemble(filled) {
      // 2. Date features of the UTC instant, in the rows' new order; then the output order (which drops Date_time).
      const date = pl.col(DATE_COLUMN).gather(order);
      const month = date.dt.month().cast(pl.Int32);
      const dateFeatures = pl
        .DataFrame([dates])
        .lazy()
        .select(
          date.dt.year().cast(pl.Int32).alias("year"),
          month.alias("month"),
          month.rem(12).add(3).div(3).floor().cast(pl.Int32).alias("season"),
        )
        .collectSync();
      return pl
        .concat([...filled, dateFeatures], { how: "horizontal" })
        .select(...preparedColumns(trainingMode));
    },
  };
}

/** Slow path after a failure: the first sensor column that does not convert to numbers, as a SchemaError. */
function numericError(
  data: pl.DataFrame,
  columns: readonly string[],
  source: string,
): SchemaError | undefined {
  for (const c of columns) {
    const series = data.getColumn(c);
    try {
      series.cast(pl.Float64, true);
    } catch {
      return new SchemaError(
        source,
        `${c} has values that are not numbers (type ${series.dtype.variant})`,
        { column: c },
        "sensor columns hold decimal numbers, or nothing when missing",
      );
    }
  }
  return undefined;
}

/** What `prepareFeaturesWithIO` wrote. */
export interface PreparedFeatures {
  /** Absolute path of the Parquet file. */
  path: string;
  rows: number;
  /** Column names, in order. */
  columns: string[];
}

/**
 * `prepare_features_with_io`: reads the `;` CSV at `dataPath` (loadDataset), prepares the features, writes them
 * to `featuresPath` as Parquet (snappy) atomically: readers see the old file or the new one, never half of one.
 */
export async function prepareFeaturesWithIO(
  dataPath: string,
  featuresPath: string,
  options: PrepareOptions,
): Promise<PreparedFeatures> {
  const reader: Reader<pl.DataFrame> = {
    what: options.trainingMode ? "data file" : "generated data file",
    hint: options.trainingMode
      ? "run `make dataset` to download or synthesize the La Haute Borne data file"
      : "run the data generator DAG first: it writes data/generated_data/latest.csv",
    read: (path) => loadDataset(path),
  };
  let shape = { rows: 0, columns: [] as string[] };
  const step = withIO(
    async ([data]: [pl.DataFrame]) => {
      // The data was read for this step alone: its columns go as their features are made.
      const features = await prepareFeaturesConsuming(data, { source: dataPath, ...options });
      // An empty features file would train or predict on nothing, and replace a good file.
      if (features.height === 0)
        throw new WindflowError(
          `${dataPath}: no row left to make features from (${data.height} row${data.height === 1 ? "" : "s"} read${
            options.trainingMode && data.height > 0 ? ", none with a pitch angle Ba_avg" : ""
          }); ${featuresPath} is left as it was`,
          {
            hint: options.trainingMode
              ? "train on the La Haute Borne data file (make dataset), whose rows have Ba_avg"
              : "run the data generator DAG first: it writes rows into data/generated_data/latest.csv",
          },
        );
      shape = { rows: features.height, columns: features.columns };
      return features;
    },
    { readers: [reader], writer: parquetFile },
  );
  const [path] = await step([dataPath], resolve(featuresPath), undefined);
  return { path: path as string, ...shape };
}
