/**
 * polars -> numbers for the model, validated at the boundary: every column the model reads must exist, be numeric
 * and have no missing value. Columns come out as Float64Arrays (one `toTypedArray()` each, never `toRecords()`:
 * STACK.md measured 88 s for records on the course file), ready to be interleaved into one row-major Float32Array.
 */
import pl from "nodejs-polars";
import { WindflowError } from "../errors.js";

/**
 * The named columns of `frame` as Float64Arrays (integers and booleans are converted), in the order asked.
 * A missing column, a non-numeric column or a column with nulls is a WindflowError naming it.
 */
export function numericColumns(
  frame: pl.DataFrame,
  names: readonly string[],
  what = "features",
): Float64Array[] {
  const present = new Set(frame.columns);
  const missing = names.filter((n) => !present.has(n));
  if (missing.length > 0) {
    throw new WindflowError(
      `the ${what} frame has no column${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`,
      {
        hint: "the features must be the output of prepare_features (135 columns, see the model's metadata.json)",
      },
    );
  }
  return names.map((name) => {
    const series = frame.getColumn(name);
    if (!series.isNumeric() && !series.isBoolean()) {
      throw new WindflowError(`${what}: column ${name} is ${String(series.dtype)}, expected numbers`, {
        hint: "every feature column must be numeric (prepare_features drops the name and date columns)",
      });
    }
    const nulls = series.nullCount();
    if (nulls > 0) {
      throw new WindflowError(`${what}: column ${name} has ${nulls} missing value${nulls > 1 ? "s" : ""}`, {
        hint: "the model needs complete rows: prepare_features fills the remaining gaps with 0",
      });
    }
    const values = series.dtype.equals(pl.Float64) ? series : series.cast(pl.Float64);
    return values.toTypedArray() as Float64Array;
  });
}

/** Throws a WindflowError naming the column and the row of the first value that is NaN or infinite. */
export function assertFinite(name: string, values: ArrayLike<number>, what = "features"): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i] as number)) {
      throw new WindflowError(`${what}: column ${name} has the value ${values[i]} at row ${i}`, {
        hint: "the model needs finite numbers: fill or drop such rows before training or predicting",
      });
    }
  }
}

/** Where a transformer writes: columns `offset ..` of the row-major matrix `out`, `stride` columns wide. */
export interface MatrixTarget {
  out: Float32Array;
  stride: number;
  offset: number;
}

/** `into`, checked against `rows` x `width` values to write; or a new `rows` x `width` matrix. */
export function target(into: MatrixTarget | undefined, rows: number, width: number): MatrixTarget {
  if (!into) return { out: new Float32Array(rows * width), stride: width, offset: 0 };
  const { out, stride, offset } = into;
  if (offset < 0 || offset + width > stride || out.length !== rows * stride) {
    throw new WindflowError(
      `cannot write ${rows} x ${width} values at column ${offset} of a ${out.length / stride} x ${stride} matrix`,
    );
  }
  return into;
}
