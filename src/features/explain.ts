/**
 * `prepareFeatures`, one rule at a time, for teaching: the frame after each of the course's steps, and a few
 * rows where the step changed something, before and after. The last step's frame is exactly what
 * `prepareFeatures` returns (a test holds them equal); the pipeline itself uses `prepareFeatures`, which does
 * all the steps in one lazy query.
 */
import pl from "nodejs-polars";
import { checkNotGivenUp, ownedCopy } from "../data/frames.js";
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
  /**
   * A few consecutive rows where the step changed a value, before and after it, of its first columns (at most
   * EXAMPLE_COLUMNS of `columns`; the rows are where the first one changed); null: none.
   */
  example: { before: pl.DataFrame; after: pl.DataFrame } | null;
}

/** Rows shown in an example. */
const EXAMPLE_ROWS = 6;
/** Columns shown in an example, at most (the first ones the step acted on). */
const EXAMPLE_COLUMNS = 8;
/** Rows kept of each step's frame. */
const HEAD_ROWS = 10;

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
    before: ownedCopy(before.select(...columns).slice(start, EXAMPLE_ROWS)),
    after: ownedCopy(after.select(...columns).slice(start, EXAMPLE_ROWS)),
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
  // The last steps' frames are garbage now, in native memory V8 does not see (util/gc.ts).
  await collectGarbageSoon();
  return steps;
}

/** Data columns per group, beside the date and the target (see runSteps): each group's frames are tens of MB. */
const GROUP_COLUMNS = 24;

/**
 * The steps, and with `keepLast` the last step's whole frame (for sameAsPrepareFeatures); `onFrame` sees every
 * frame made (for tests).
 *
 * The caller keeps `data` (a notebook's variable): a whole frame per step beside it took the kernel from 520 MB to
 * 1,000 MB on the course file (issue 11). The rules act on each column alone once the rows are chosen and sorted,
 * and the rows are chosen and sorted by the date and the target alone: so the steps run on groups of
 * GROUP_COLUMNS columns (with the date and the target) one after the other, and each step's first rows, counts and
 * columns are put together from the groups'. Each fill rule's example is then made on the date, the target and
 * the rule's first EXAMPLE_COLUMNS columns alone (the rows shown depend on the first column only). A group's
 * frames are dropped as the next ones are made, and collected once the group is done (polars' columns are native
 * memory V8 does not count, and their finalizers run on a later turn: hence async). A collection after each step
 * too took 2.4 s instead of 1.6 s on the course file, for about 20 MB less at the peak.
 */
export async function runSteps(
  data: pl.DataFrame,
  options: { trainingMode: boolean },
  keepLast: boolean,
  onFrame?: (frame: pl.DataFrame) => void,
): Promise<{ steps: PrepareStep[]; last?: pl.DataFrame }> {
  checkNotGivenUp(data, "the data");
  const keys = [DATE_COLUMN, TARGET].filter((c) => data.columns.includes(c));
  const others = data.columns.filter((c) => !keys.includes(c));
  const groups: string[][] = [];
  for (let i = 0; i < others.length || i === 0; i += GROUP_COLUMNS)
    groups.push(others.slice(i, i + GROUP_COLUMNS));
  // Each step's columns in the order of the whole frame's: the steps on no rows.
  const template = (await chain(data.head(0), options, null)).parts;
  const parts: StepPart[][] = [];
  const lasts: pl.DataFrame[] = [];
  for (const group of groups) {
    const run = await chain(data.select(...keys, ...group), options, null, onFrame);
    parts.push(run.parts);
    if (keepLast) lasts.push(run.last);
    await collectGarbageSoon();
  }
  const steps: PrepareStep[] = [];
  for (const [i, shape] of template.entries()) {
    const order = shape.head.columns;
    const ofGroups = parts.map((p) => p[i] as StepPart);
    const head = joined(ofGroups.map((p) => p.head)).select(...order);
    const acted = new Set(ofGroups.flatMap((p) => p.columns));
    // In the rule's own order (a fill rule's, or step 3's: date then turbine), then the frame's.
    const columns = [...new Set([...shape.columns, ...order])].filter((c) => acted.has(c));
    let example: PrepareStep["example"] = null;
    if (shape.examples && columns.length > 0) {
      const shown = columns.slice(0, EXAMPLE_COLUMNS).filter((c) => !keys.includes(c));
      const run = await chain(data.select(...keys, ...shown), options, shape.step, onFrame);
      example = run.parts[i]?.example ?? null;
      await collectGarbageSoon();
    }
    steps.push({
      step: shape.step,
      rule: shape.rule,
      columns,
      height: ofGroups[0]?.height ?? 0,
      width: head.width,
      head,
      example,
    });
  }
  if (!keepLast) return { steps };
  // Not even in the returned object unless asked: the caller's awaited promise would keep it alive.
  return { steps, last: joined(lasts).select(...(template.at(-1)?.head.columns ?? [])) };
}

/** Frames of the same rows side by side, each column once (the date and the target are in every group). */
function joined(frames: readonly pl.DataFrame[]): pl.DataFrame {
  const seen = new Set<string>();
  const fresh = frames.map((f) => {
    const own = f.columns.filter((c) => !seen.has(c));
    for (const c of own) seen.add(c);
    return f.select(...own);
  });
  return pl.concat(fresh, { how: "horizontal" });
}

/** A step as one run of the rules sees it (see runSteps). */
interface StepPart {
  step: string;
  rule: string;
  columns: string[];
  height: number;
  head: pl.DataFrame;
  /** Whether the step shows an example (the fill rules and the last step). */
  examples: boolean;
  example: PrepareStep["example"];
}

/**
 * The rules, one after the other, on `data` (all of it or a group of its columns): each step's first rows,
 * counts and columns, and the example of step `exampleStep` (only that one: a search for the changed rows reads a
 * whole column). Exported for tests: on the whole frame, it is what runSteps' groups must add up to.
 */
export async function chain(
  data: pl.DataFrame,
  options: { trainingMode: boolean },
  exampleStep: string | null,
  onFrame?: (frame: pl.DataFrame) => void,
): Promise<{ parts: StepPart[]; last: pl.DataFrame }> {
  const { trainingMode } = options;
  const parts: StepPart[] = [];
  const add = (
    step: string,
    rule: string,
    columns: string[],
    frame: pl.DataFrame,
    previous?: pl.DataFrame,
  ) => {
    onFrame?.(frame);
    parts.push({
      step,
      rule,
      columns,
      height: frame.height,
      head: ownedCopy(frame.head(HEAD_ROWS)),
      examples: previous !== undefined,
      example: previous && exampleStep === step ? exampleOf(previous, frame, columns) : null,
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
  const before = df;
  const values = df.columns.filter((c) => !["year", "month", "season"].includes(c));
  df = add(
    "6",
    "every value still missing: 0",
    values.filter((c) => before.getColumn(c).nullCount() > 0),
    df.withColumns(pl.col(values).fillNull(0)),
    before,
  );
  return { parts, last: df };
}

/** The frame `prepareFeaturesSteps` ends with, checked against `prepareFeatures` (for tests and doubters). */
export async function sameAsPrepareFeatures(
  data: pl.DataFrame,
  options: { trainingMode: boolean },
): Promise<boolean> {
  const { last } = await runSteps(data, options, true);
  return last?.frameEqual(prepareFeatures(data, options), true) === true;
}
