/**
 * polars -> danfojs, for notebooks: trainees explore with danfojs (the pandas-like API), pipelines compute with
 * polars. The fast path (STACK.md): per column, nulls filled with NaN, then the typed array handed to danfojs;
 * `toRecords()` takes 88 s on the full file and is not used. The full 217k x 138 frame costs ~1.7 GB in danfojs:
 * ask for the columns you need, or a sample (`rows`).
 */
import type { DataFrame as DanfoFrame } from "danfojs-node";
import pl from "nodejs-polars";
import { WindflowError } from "../errors.js";

export interface ToDanfoOptions {
  /** Columns to convert. @default all */
  columns?: readonly string[];
  /** Keep at most this many rows, sampled evenly with a fixed seed (reproducible charts). @default all */
  rows?: number;
  /** Seed of the sample. @default 0 */
  seed?: number;
}

/** Converts a polars DataFrame to a danfojs DataFrame; dates become ISO strings, missing numbers NaN. */
export function toDanfo(df: pl.DataFrame, options: ToDanfoOptions = {}): DanfoFrame {
  const columns = options.columns ?? df.columns;
  const unknown = columns.filter((c) => !df.columns.includes(c));
  if (unknown.length > 0) {
    throw new WindflowError(`no column ${unknown.join(", ")} in this DataFrame`, {
      hint: `available: ${df.columns.slice(0, 8).join(", ")}${df.columns.length > 8 ? ", ..." : ""}`,
    });
  }
  let frame = df.select(...columns);
  if (options.rows !== undefined && options.rows < frame.height) {
    frame = frame.sample(options.rows, undefined, false, options.seed ?? 0);
  }
  const data: Record<string, unknown[]> = {};
  for (const name of columns) {
    const series = frame.getColumn(name);
    const dtype = series.dtype;
    if (dtype.equals(pl.Float64) || dtype.equals(pl.Float32) || series.isNumeric()) {
      const filled = frame.select(pl.col(name).cast(pl.Float64).fillNull(pl.lit(Number.NaN))).getColumn(name);
      data[name] = Array.from(filled.toTypedArray() as Float64Array);
    } else if (String(dtype).startsWith("DataType(Datetime") || dtype.equals(pl.Date)) {
      data[name] = (series.toArray() as unknown as (Date | null)[]).map((d) => (d ? d.toISOString() : null));
    } else {
      data[name] = series.toArray() as unknown[];
    }
  }
  // danfojs-node pulls TensorFlow.js in; load it only when a notebook asks for a danfojs frame.
  const dfd = require("danfojs-node") as typeof import("danfojs-node");
  return new dfd.DataFrame(data);
}

/** The statistics of `describeColumns`, in its rows' order (pandas' `describe()` plus the missing count). */
export const DESCRIBE_STATS = ["count", "missing", "mean", "std", "min", "25%", "50%", "75%", "max"] as const;

/**
 * pandas' `describe()` for a danfojs DataFrame, missing values skipped: danfojs' own `describe()` counts a NaN
 * (a missing value from `toDanfo`) into the mean, std and quantiles, which then read NaN, and throws on null.
 * Per numeric column: the values present (`count`), the missing ones, mean, standard deviation (sample, n - 1,
 * as pandas), min, quartiles (linear interpolation, as pandas) and max. Returns a danfojs DataFrame indexed by
 * the statistic's name, to `.print()`.
 */
export function describeColumns(df: DanfoFrame): DanfoFrame {
  const dfd = require("danfojs-node") as typeof import("danfojs-node");
  const out: Record<string, number[]> = {};
  for (const name of df.columns) {
    const raw = df.column(name).values as unknown[];
    if (!raw.every((v) => typeof v === "number" || v === null || v === undefined)) continue;
    const values = (raw as (number | null | undefined)[])
      .filter((v): v is number => typeof v === "number" && !Number.isNaN(v))
      .sort((a, b) => a - b);
    const n = values.length;
    const mean = n > 0 ? values.reduce((a, b) => a + b, 0) / n : Number.NaN;
    const std = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : Number.NaN;
    const quantile = (q: number) => {
      if (n === 0) return Number.NaN;
      const at = (n - 1) * q;
      const lo = Math.floor(at);
      const hi = Math.ceil(at);
      return (values[lo] as number) + ((values[hi] as number) - (values[lo] as number)) * (at - lo);
    };
    out[name] = [
      n,
      raw.length - n,
      mean,
      std,
      n > 0 ? (values[0] as number) : Number.NaN,
      quantile(0.25),
      quantile(0.5),
      quantile(0.75),
      n > 0 ? (values[n - 1] as number) : Number.NaN,
    ];
  }
  if (Object.keys(out).length === 0)
    throw new WindflowError("no numeric column to describe", {
      hint: "toDanfo(data, { columns: [...] }) with sensor columns such as Ba_avg, Ws_avg",
    });
  return new dfd.DataFrame(out, { index: [...DESCRIBE_STATS] });
}
