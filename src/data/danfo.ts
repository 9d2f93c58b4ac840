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
