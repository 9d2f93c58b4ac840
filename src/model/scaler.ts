/**
 * StandardScaler: z = (x - mean) / scale, per column, like scikit-learn's (population standard deviation,
 * ddof = 0). Fit it on the training split only, so that nothing of the validation rows leaks into the model.
 *
 * - Zero-variance columns (constant in the training split, e.g. the course's entirely empty `Pas_*` columns
 *   filled with 0) get scale 1, as scikit-learn does: they come out as `x - mean` (0 in training) instead of a
 *   division by zero.
 * - `clip: "range"` (optional) clamps every value into the [min, max] seen in the fit before scaling. A ReLU
 *   network extrapolates linearly, so a value outside the training range moves its output without bound, where a
 *   tree would simply stay in its last leaf. With the course's features this matters: `Wa_c_avg` / `Na_c_avg` are
 *   0 in every training row (reported only from late 2017 on) and 0-360 in the validation rows, and `year` is 2017
 *   in all but 24 training rows (scale 0.012: a 2018 row would be z = 85). Clamped, a column that was constant in
 *   training is constant for the model too, and its untrained weights stay harmless. `inverseTransform` clamps
 *   its results into the same range: fitted on a target, the predictions stay within the values seen in training
 *   (the pitch cannot overshoot its -1 deg / 90 deg stops because of the network's linear output).
 * - The parameters are plain JSON (`toJSON` / `fromJSON`), stored in the model's metadata.json.
 */
import type pl from "nodejs-polars";
import { WindflowError } from "../errors.js";
import { assertFinite, type MatrixTarget, numericColumns, target } from "./frame.js";

/** The serialised form of a fitted scaler. */
export interface ScalerParams {
  type: "StandardScaler";
  /** Column names, in the order of `mean` and `scale` and of the transformed matrix's columns. */
  columns: string[];
  mean: number[];
  /** Population standard deviation; 1 for zero-variance columns. */
  scale: number[];
  /** Smallest and largest value seen in the fit, per column. */
  min: number[];
  max: number[];
  /** `"range"`: values are clamped into [min, max] before scaling; null: no clamping. */
  clip: "range" | null;
}

export interface ScalerOptions {
  /** `"range"` clamps values into the range seen in the fit (see above). @default null (no clamping, like scikit-learn) */
  clip?: "range" | null;
}

/** A standard deviation this small relative to the mean is rounding noise of a constant column. */
const ZERO_VARIANCE = 1e-10;
/** Rows per block when interleaving columns into a row-major matrix (keeps writes in cache). */
const BLOCK = 512;

export class StandardScaler {
  private params: ScalerParams | undefined;
  private readonly clip: "range" | null;

  constructor(options: ScalerOptions = {}) {
    const clip = options.clip ?? null;
    if (clip !== null && clip !== "range")
      throw new WindflowError(`scaler clip must be "range" or null, got ${clip}`);
    this.clip = clip;
  }

  /** Fits on the named columns of `frame` (default: all of them). Returns `this`. */
  fit(frame: pl.DataFrame, columns: readonly string[] = frame.columns): this {
    return this.fitColumns(columns, numericColumns(frame, columns));
  }

  /** Fits on column arrays (all of the same length, finite values). Returns `this`. */
  fitColumns(names: readonly string[], columns: readonly ArrayLike<number>[]): this {
    if (names.length !== columns.length) {
      throw new WindflowError(`scaler: ${names.length} names for ${columns.length} columns`);
    }
    if (new Set(names).size !== names.length) throw new WindflowError("scaler: column names must be unique");
    const rows = columns[0]?.length ?? 0;
    if (rows === 0) throw new WindflowError("scaler: cannot fit on zero rows");
    const mean: number[] = [];
    const scale: number[] = [];
    const min: number[] = [];
    const max: number[] = [];
    names.forEach((name, j) => {
      const col = columns[j] as ArrayLike<number>;
      if (col.length !== rows)
        throw new WindflowError(`scaler: column ${name} has ${col.length} rows, not ${rows}`);
      assertFinite(name, col);
      // Two passes in float64: the mean, then the mean squared deviation (no catastrophic cancellation).
      let sum = 0;
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < rows; i++) {
        const v = col[i] as number;
        sum += v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      // A constant column's mean is its value exactly (sum / rows could be off by rounding): z is exactly 0.
      const m = lo === hi ? lo : sum / rows;
      let ss = 0;
      for (let i = 0; i < rows; i++) {
        const d = (col[i] as number) - m;
        ss += d * d;
      }
      const std = Math.sqrt(ss / rows);
      mean.push(m);
      scale.push(std <= ZERO_VARIANCE * Math.max(1, Math.abs(m)) ? 1 : std);
      min.push(lo);
      max.push(hi);
    });
    this.params = { type: "StandardScaler", columns: [...names], mean, scale, min, max, clip: this.clip };
    return this;
  }

  get fitted(): boolean {
    return this.params !== undefined;
  }

  /** The fitted column names, in matrix order. */
  get columns(): readonly string[] {
    return this.fittedParams().columns;
  }

  /**
   * Scales the fitted columns of `frame`, looked up by name (the frame may hold them in any order, and other
   * columns), into one row-major Float32Array of `frame.height * columns.length` values.
   */
  transform(frame: pl.DataFrame): Float32Array {
    const p = this.fittedParams();
    return this.transformColumns(numericColumns(frame, p.columns));
  }

  /**
   * Scales column arrays given in the fitted order into a row-major Float32Array; or, with `into`, into columns
   * `offset ..` of a wider row-major matrix `stride` columns wide (returned).
   */
  transformColumns(columns: readonly ArrayLike<number>[], into?: MatrixTarget): Float32Array {
    const p = this.fittedParams();
    const d = p.columns.length;
    if (columns.length !== d) throw new WindflowError(`scaler: expected ${d} columns, got ${columns.length}`);
    const rows = columns[0]?.length ?? 0;
    const { out, stride, offset } = target(into, rows, d);
    const clamp = p.clip === "range";
    for (let j = 0; j < d; j++) {
      const col = columns[j] as ArrayLike<number>;
      const name = p.columns[j] as string;
      if (col.length !== rows)
        throw new WindflowError(`scaler: column ${name} has ${col.length} rows, not ${rows}`);
      assertFinite(name, col);
    }
    for (let r0 = 0; r0 < rows; r0 += BLOCK) {
      const r1 = Math.min(rows, r0 + BLOCK);
      for (let j = 0; j < d; j++) {
        const col = columns[j] as ArrayLike<number>;
        const m = p.mean[j] as number;
        const s = p.scale[j] as number;
        const lo = clamp ? (p.min[j] as number) : Number.NEGATIVE_INFINITY;
        const hi = clamp ? (p.max[j] as number) : Number.POSITIVE_INFINITY;
        for (let r = r0; r < r1; r++) {
          const v = col[r] as number;
          out[r * stride + offset + j] = (Math.min(hi, Math.max(lo, v)) - m) / s;
        }
      }
    }
    return out;
  }

  /**
   * The inverse of transform for a row-major matrix; with `clip: "range"`, results are clamped into the fitted
   * range (values clamped by transform are not restored).
   */
  inverseTransform(matrix: ArrayLike<number>): Float32Array {
    const p = this.fittedParams();
    const d = p.columns.length;
    if (matrix.length % d !== 0) {
      throw new WindflowError(`scaler: ${matrix.length} values are not rows of ${d} columns`);
    }
    const out = new Float32Array(matrix.length);
    const clamp = p.clip === "range";
    for (let i = 0; i < matrix.length; i++) {
      const j = i % d;
      const v = (matrix[i] as number) * (p.scale[j] as number) + (p.mean[j] as number);
      out[i] = clamp ? Math.min(p.max[j] as number, Math.max(p.min[j] as number, v)) : v;
    }
    return out;
  }

  toJSON(): ScalerParams {
    const p = this.fittedParams();
    return {
      type: p.type,
      columns: [...p.columns],
      mean: [...p.mean],
      scale: [...p.scale],
      min: [...p.min],
      max: [...p.max],
      clip: p.clip,
    };
  }

  /** Rebuilds a fitted scaler from `toJSON()` output, checking every field (the JSON comes from a file). */
  static fromJSON(value: unknown): StandardScaler {
    const bad = (why: string) => new WindflowError(`invalid scaler parameters: ${why}`);
    if (typeof value !== "object" || value === null) throw bad("not an object");
    const v = value as Record<string, unknown>;
    if (v.type !== "StandardScaler")
      throw bad(`type is ${JSON.stringify(v.type)}, expected "StandardScaler"`);
    const { columns, mean, scale, min, max } = v;
    if (!Array.isArray(columns) || !columns.every((c) => typeof c === "string")) {
      throw bad("columns must be an array of strings");
    }
    for (const [field, arr] of [
      ["mean", mean],
      ["scale", scale],
      ["min", min],
      ["max", max],
    ] as const) {
      if (!Array.isArray(arr) || arr.length !== columns.length) {
        throw bad(`${field} must be an array of ${columns.length} numbers`);
      }
      if (!arr.every((x) => typeof x === "number" && Number.isFinite(x)))
        throw bad(`${field} has a non-number`);
    }
    if ((scale as number[]).some((s) => s <= 0)) throw bad("scale values must be positive");
    if ((min as number[]).some((lo, j) => lo > ((max as number[])[j] as number)))
      throw bad("min is above max");
    const clip = v.clip;
    if (clip !== null && clip !== "range") throw bad('clip must be "range" or null');
    const scaler = new StandardScaler({ clip });
    scaler.params = {
      type: "StandardScaler",
      columns: [...(columns as string[])],
      mean: [...(mean as number[])],
      scale: [...(scale as number[])],
      min: [...(min as number[])],
      max: [...(max as number[])],
      clip,
    };
    return scaler;
  }

  private fittedParams(): ScalerParams {
    if (!this.params) throw new WindflowError("the scaler is not fitted: call fit() first");
    return this.params;
  }
}
