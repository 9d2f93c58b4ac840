/**
 * Test data and oracle plumbing for tests/features.test.ts: the course's 9-row fixture (never copied into the
 * repository), synthetic CSVs with holes punched where each fill rule acts, small hand-made frames, the pandas
 * oracle (tests/oracle/*.py in .venv-oracle) and a frame comparison with a tolerance.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import pl from "nodejs-polars";
import { COLUMNS, DATE_COLUMN, SEPARATOR, TURBINE_COLUMN } from "../../src/data/schema.js";

const run = promisify(execFile);
const ROOT = resolve(__dirname, "..", "..");

/** `<repo>/../shared`, or WINDFLOW_SHARED_DIR. */
export function sharedDir(): string {
  return process.env.WINDFLOW_SHARED_DIR ?? resolve(ROOT, "..", "shared");
}

/** The course's 9-row extract (`sub_eolienne_data.csv`), read in place. */
export function courseFixture(): string {
  return join(sharedDir(), "data", "la-haute-borne", "sub_eolienne_data.csv");
}

/**
 * The `Date_time` of each row of the course fixture, in its (unsorted) order: turbine R80711, January 2013.
 * Only the layout is kept here (the extract itself is never copied into the repository).
 */
export const COURSE_FIXTURE_DATES = [
  "2013-01-07T01:20:00+01:00",
  "2013-01-05T22:20:00+01:00",
  "2013-01-06T08:30:00+01:00",
  "2013-01-05T21:10:00+01:00",
  "2013-01-06T11:20:00+01:00",
  "2013-01-06T09:50:00+01:00",
  "2013-01-10T03:30:00+01:00",
  "2013-01-06T07:30:00+01:00",
  "2013-01-11T02:10:00+01:00",
] as const;

/** The columns empty on every row of the course fixture. */
export const COURSE_FIXTURE_EMPTY = [
  ...["Va1", "Va2", "Pas"].flatMap((v) => ["avg", "min", "max", "std"].map((s) => `${v}_${s}`)),
  ...["Wa_c", "Na_c"].flatMap((v) => ["min", "max", "std"].map((s) => `${v}_${s}`)),
];

/**
 * A stand-in for the course fixture when the shared folder is not next to the clone (a CI machine): the same
 * turbine, the same nine date-times in the same unsorted order, the same empty columns, synthetic values.
 */
export function courseFixtureStandIn(synthesize: (start: string, days: number) => string): string {
  const csv = synthesize("2013-01-05T00:00:00+01:00", 7);
  const lines = csv.replace(/\n$/, "").split("\n");
  const header = (lines[0] as string).split(SEPARATOR);
  const at = (c: string) => {
    const i = header.indexOf(c);
    if (i < 0) throw new Error(`no column ${c}`);
    return i;
  };
  const [turbine, date] = [at(TURBINE_COLUMN), at(DATE_COLUMN)];
  const empty = COURSE_FIXTURE_EMPTY.map(at);
  const byDate = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const row = line.split(SEPARATOR);
    if (row[turbine] === "R80711") byDate.set(row[date] as string, row);
  }
  const rows = COURSE_FIXTURE_DATES.map((d) => {
    const row = byDate.get(d);
    if (!row) throw new Error(`the synthetic slice has no R80711 row at ${d}`);
    for (const i of empty) row[i] = "";
    return row.join(SEPARATOR);
  });
  return `${[lines[0], ...rows].join("\n")}\n`;
}

export const ORACLE_PYTHON = join(ROOT, ".venv-oracle", "bin", "python");
const ORACLE_DIR = join(ROOT, "tests", "oracle");

/** Runs the pandas oracle: `prepare_features.py IN.csv OUT.parquet --training|--prediction`. */
export async function runOracle(csv: string, parquet: string, trainingMode: boolean): Promise<void> {
  await run(ORACLE_PYTHON, [
    join(ORACLE_DIR, "prepare_features.py"),
    csv,
    parquet,
    trainingMode ? "--training" : "--prediction",
  ]);
}

/** What pyarrow sees in a Parquet file (tests/oracle/read_parquet.py). */
export interface ParquetInfo {
  columns: string[];
  /** Arrow types: "double", "int32"... */
  types: Record<string, string>;
  /** pandas dtypes after `to_pandas()`. */
  dtypes: Record<string, string>;
  shape: [number, number];
  nulls: number;
  compression: string[];
}

export async function readParquetWithPyarrow(parquet: string): Promise<ParquetInfo> {
  const { stdout } = await run(ORACLE_PYTHON, [join(ORACLE_DIR, "read_parquet.py"), parquet]);
  return JSON.parse(stdout) as ParquetInfo;
}

/** Where in the file (0-based data row) each row lands after a stable sort by UTC instant. */
function sortedOrder(rows: string[][], dateIndex: number): number[] {
  const keys = rows.map((r) => Date.parse(r[dateIndex] as string));
  return keys.map((_, i) => i).sort((a, b) => (keys[a] as number) - (keys[b] as number) || a - b);
}

/**
 * What to blank in a CSV, by position in the date-sorted order (so that runs are runs after the sort):
 * each entry sets `columns` to `value` (default empty) in the sorted rows `rows`.
 */
export interface Hole {
  columns: readonly string[];
  rows: Iterable<number>;
  value?: string;
}

export const range = (from: number, to: number, step = 1): number[] =>
  Array.from({ length: Math.ceil((to - from) / step) }, (_, i) => from + i * step);

/** Applies holes to a `;` CSV text (header + data lines). Sorted positions past the end are ignored. */
export function punchHoles(csv: string, holes: readonly Hole[]): string {
  const lines = csv.replace(/\n$/, "").split("\n");
  const header = (lines[0] as string).split(SEPARATOR);
  const index = new Map(header.map((c, i) => [c, i]));
  const rows = lines.slice(1).map((l) => l.split(SEPARATOR));
  const order = sortedOrder(rows, index.get(DATE_COLUMN) as number);
  for (const hole of holes) {
    for (const position of hole.rows) {
      const row = order[position] === undefined ? undefined : rows[order[position] as number];
      if (!row) continue;
      for (const c of hole.columns) {
        const i = index.get(c);
        if (i === undefined) throw new Error(`no column ${c}`);
        row[i] = hole.value ?? "";
      }
    }
  }
  return `${[lines[0], ...rows.map((r) => r.join(SEPARATOR))].join("\n")}\n`;
}

/** Column names of one variable's four statistics, e.g. `stats("Rs")`. */
export const stats = (variable: string) => ["avg", "min", "max", "std"].map((s) => `${variable}_${s}`);

/**
 * The holes of the parity slices: every fill rule gets work to do, before and after the sort matters.
 * - Q: missing in the first 3 sorted rows (forward fill has nothing before: 0), in a run of 5, and scattered;
 * - Va1, Va2: scattered (mean, median); Rs, Rm: scattered (windows with nulls inside) and a run of 45 Rs rows
 *   (from its 30th row on the window holds no value: the rule leaves null, then 0);
 * - columns without a rule (P, Ws, Ot): scattered, filled with 0; a few `NaN` texts (missing for pandas);
 * - the target: missing every 23rd row (dropped in training mode); the rows of the runs above keep a target,
 *   so the runs survive the training filter.
 */
export function slicesHoles(): Hole[] {
  return [
    { columns: ["Ba_avg"], rows: range(7, 5000, 23) },
    { columns: ["Ba_avg"], rows: [...range(0, 3), ...range(200, 245), ...range(400, 405)], value: "3.25" },
    { columns: stats("Q"), rows: [...range(0, 3), ...range(400, 405), ...range(50, 5000, 37)] },
    { columns: ["Q_avg"], rows: range(90, 5000, 101), value: "NaN" },
    { columns: stats("Va1"), rows: range(3, 5000, 11) },
    { columns: stats("Va2"), rows: range(5, 5000, 13) },
    { columns: stats("Rs"), rows: [...range(200, 245), ...range(10, 5000, 17)] },
    { columns: stats("Rm"), rows: [...range(12, 5000, 7), ...range(600, 612)] },
    { columns: ["Rm_avg"], rows: range(33, 5000, 97), value: "NaN" },
    { columns: ["P_avg", "Ws_avg", "Ot_min"], rows: range(1, 5000, 19) },
    { columns: ["Ws_std"], rows: range(4, 5000, 53), value: "NaN" },
  ];
}

/** Sensor value of the small frames when not given. */
const DEFAULT_VALUE = 1;

/**
 * A small hand-made frame with the 138 schema columns: each row gives `Date_time` (ISO with offset) and the
 * values it cares about; other sensors are 1, the turbine R80711. `null` is a missing value. `drop` removes
 * columns (e.g. Ba_avg for prediction input).
 */
export function frame(
  rows: readonly Record<string, number | string | null>[],
  options: { drop?: readonly string[] } = {},
): pl.DataFrame {
  const columns = COLUMNS.filter((c) => !options.drop?.includes(c));
  const data: Record<string, pl.Series> = {};
  for (const c of columns) {
    if (c === TURBINE_COLUMN || c === DATE_COLUMN) {
      const values = rows.map((r) => (c in r ? r[c] : c === TURBINE_COLUMN ? "R80711" : null));
      data[c] = pl.Series(c, values as (string | null)[], pl.Utf8);
    } else {
      const values = rows.map((r) => (c in r ? r[c] : DEFAULT_VALUE));
      data[c] = pl.Series(c, values as (number | null)[], pl.Float64);
    }
  }
  return pl.DataFrame(Object.values(data));
}

/** A column's values as numbers (null stays null). */
export function values(df: pl.DataFrame, column: string): (number | null)[] {
  return df.getColumn(column).toArray() as (number | null)[];
}

/**
 * Compares two frames: same columns in the same order, same row count, same dtypes, no nulls, and values
 * equal within `tolerance`, absolute below magnitude 1 and relative above (|a - b| <= tol * max(1, |a|, |b|)).
 * Returns the problems (empty when equal) and the largest scaled difference seen.
 */
export function compareFrames(
  actual: pl.DataFrame,
  expected: pl.DataFrame,
  tolerance = 1e-9,
): { problems: string[]; maxScaledDiff: number } {
  const problems: string[] = [];
  let maxScaledDiff = 0;
  if (actual.columns.join() !== expected.columns.join()) {
    problems.push(`columns differ: ${actual.columns.join()} vs ${expected.columns.join()}`);
    return { problems, maxScaledDiff };
  }
  if (actual.height !== expected.height) problems.push(`rows: ${actual.height} vs ${expected.height}`);
  const actualTypes = actual.dtypes.map(String);
  const expectedTypes = expected.dtypes.map(String);
  actual.columns.forEach((c, i) => {
    if (actualTypes[i] !== expectedTypes[i])
      problems.push(`${c}: dtype ${actualTypes[i]} vs ${expectedTypes[i]}`);
  });
  if (problems.length > 0) return { problems, maxScaledDiff };
  for (const c of actual.columns) {
    const a = actual.getColumn(c);
    const e = expected.getColumn(c);
    if (a.nullCount() > 0 || e.nullCount() > 0)
      problems.push(`${c}: nulls ${a.nullCount()} vs ${e.nullCount()}`);
    const av = a.toTypedArray() as ArrayLike<number>;
    const ev = e.toTypedArray() as ArrayLike<number>;
    let bad = 0;
    let first = -1;
    for (let i = 0; i < av.length; i++) {
      const x = av[i] as number;
      const y = ev[i] as number;
      const scaled = Math.abs(x - y) / Math.max(1, Math.abs(x), Math.abs(y));
      if (!(scaled <= tolerance)) {
        bad++;
        if (first < 0) first = i;
      } else if (scaled > maxScaledDiff) maxScaledDiff = scaled;
    }
    if (bad > 0)
      problems.push(`${c}: ${bad} values differ, first at row ${first}: ${av[first]} vs ${ev[first]}`);
  }
  return { problems, maxScaledDiff };
}

/** True when the oracle's Python is there (created by `make .venv-oracle/.installed`). */
export const oracleAvailable = () => existsSync(ORACLE_PYTHON);
