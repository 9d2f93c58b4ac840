/**
 * QuantileTransformer: each value becomes its rank among the training values of its column, like
 * scikit-learn's `QuantileTransformer(output_distribution="uniform")`, then centred: z = (rank - 0.5) * sqrt(12)
 * (zero mean and unit variance for a continuous column; a constant column gives 0).
 *
 * Why the model reads ranks as well as standardised values: the tree of the course splits the pitch regimes on
 * small differences at one end of wide columns (idling at 45 deg vs feathered at 90 deg: active power `P_avg`
 * around -1 kW vs -2.4 kW, a column reaching 2000 kW). Standardised, these rows are 0.003 apart, and a ReLU
 * network needs huge weights to step between them; as ranks they are 0.1 apart. Ranks alone lose the linear
 * relations of the pitch ramp (above rated wind), so the model takes both (see createModel's `rankInputs`).
 * Gorishniy et al., "On Embeddings for Numerical Features in Tabular Deep Learning" (NeurIPS 2022), measure
 * the same effect of quantile-based encodings on MLPs.
 *
 * - `quantiles` evenly spaced ranks 0, 1/n, ..., 1: the column's values at those ranks (linear interpolation
 *   between the sorted training values, numpy's default) are the references, stored in the model's metadata.
 * - A value between two references gets the linearly interpolated rank; a value equal to a run of equal
 *   references (a column with many identical values, such as 0) gets the middle of the run, as scikit-learn
 *   does; values outside the training range get rank 0 or 1 (the rank clamps by construction).
 * - The parameters are plain JSON (`toJSON` / `fromJSON`).
 */
import type pl from "nodejs-polars";
import { WindflowError } from "../errors.js";
import { assertFinite, type MatrixTarget, numericColumns, target } from "./frame.js";

/** The serialised form of a fitted transformer. */
export interface QuantileParams {
  type: "QuantileTransformer";
  /** Column names, in the order of `references` and of the transformed matrix's columns. */
  columns: string[];
  /** Per column, `quantiles + 1` non-decreasing values: the column's values at ranks 0, 1/n, ..., 1. */
  references: number[][];
}

export interface QuantileOptions {
  /**
   * Intervals between the references (scikit-learn's `n_quantiles` is this + 1). 100 separates regimes that
   * hold 1 % of the rows, and keeps the metadata small (135 columns x 101 numbers). @default 100
   */
  quantiles?: number;
}

/** sqrt(12): the standard deviation of a uniform rank in [0, 1] is 1 / sqrt(12). */
const UNIT = Math.sqrt(12);
const BLOCK = 512;

export class QuantileTransformer {
  private params: QuantileParams | undefined;
  readonly quantiles: number;

  constructor(options: QuantileOptions = {}) {
    const quantiles = options.quantiles ?? 100;
    if (!Number.isInteger(quantiles) || quantiles < 1)
      throw new WindflowError(`quantiles must be a positive integer, got ${quantiles}`);
    this.quantiles = quantiles;
  }

  /** Fits on column arrays (all of the same length, finite values). Returns `this`. */
  fitColumns(names: readonly string[], columns: readonly ArrayLike<number>[]): this {
    if (names.length !== columns.length)
      throw new WindflowError(`quantiles: ${names.length} names for ${columns.length} columns`);
    if (new Set(names).size !== names.length)
      throw new WindflowError("quantiles: column names must be unique");
    const rows = columns[0]?.length ?? 0;
    if (rows === 0) throw new WindflowError("quantiles: cannot fit on zero rows");
    const n = this.quantiles;
    const references = names.map((name, j) => {
      const col = columns[j] as ArrayLike<number>;
      if (col.length !== rows)
        throw new WindflowError(`quantiles: column ${name} has ${col.length} rows, not ${rows}`);
      assertFinite(name, col);
      // new Float64Array(typed array) is a block copy (Float64Array.from iterates); the sort without a comparator
      // is V8's native one.
      const sorted = new Float64Array(col as ArrayLike<number>).sort();
      return Array.from({ length: n + 1 }, (_, i) => {
        const at = (i / n) * (rows - 1);
        const lo = Math.floor(at);
        const a = sorted[lo] as number;
        const b = sorted[Math.min(lo + 1, rows - 1)] as number;
        return a === b ? a : a + (at - lo) * (b - a);
      });
    });
    this.params = { type: "QuantileTransformer", columns: [...names], references };
    return this;
  }

  get fitted(): boolean {
    return this.params !== undefined;
  }

  /** The fitted columns of `frame`, by name, as centred ranks in one row-major Float32Array. */
  transform(frame: pl.DataFrame): Float32Array {
    return this.transformColumns(numericColumns(frame, this.fittedParams().columns));
  }

  /**
   * Column arrays given in the fitted order -> centred ranks, row-major; or, with `into`, written into columns
   * `offset ..` of a wider row-major matrix `stride` columns wide (returned).
   */
  transformColumns(columns: readonly ArrayLike<number>[], into?: MatrixTarget): Float32Array {
    const p = this.fittedParams();
    const d = p.columns.length;
    if (columns.length !== d)
      throw new WindflowError(`quantiles: expected ${d} columns, got ${columns.length}`);
    const rows = columns[0]?.length ?? 0;
    columns.forEach((col, j) => {
      const name = p.columns[j] as string;
      if (col.length !== rows)
        throw new WindflowError(`quantiles: column ${name} has ${col.length} rows, not ${rows}`);
      assertFinite(name, col);
    });
    const { out, stride, offset } = target(into, rows, d);
    for (let r0 = 0; r0 < rows; r0 += BLOCK) {
      const r1 = Math.min(rows, r0 + BLOCK);
      for (let j = 0; j < d; j++) {
        const col = columns[j] as ArrayLike<number>;
        const ref = p.references[j] as number[];
        // Consecutive rows often repeat a value (a sensor at 0, a stopped turbine): its rank is not searched
        // again (3x faster on the course's columns).
        let last = Number.NaN;
        let z = 0;
        for (let r = r0; r < r1; r++) {
          const v = col[r] as number;
          if (v !== last) {
            last = v;
            z = (rank(ref, v) - 0.5) * UNIT;
          }
          out[r * stride + offset + j] = z;
        }
      }
    }
    return out;
  }

  toJSON(): QuantileParams {
    const p = this.fittedParams();
    return { type: p.type, columns: [...p.columns], references: p.references.map((r) => [...r]) };
  }

  /** Rebuilds a fitted transformer from `toJSON()` output, checking every field (the JSON comes from a file). */
  static fromJSON(value: unknown): QuantileTransformer {
    const bad = (why: string) => new WindflowError(`invalid quantile parameters: ${why}`);
    if (typeof value !== "object" || value === null) throw bad("not an object");
    const v = value as Record<string, unknown>;
    if (v.type !== "QuantileTransformer")
      throw bad(`type is ${JSON.stringify(v.type)}, expected "QuantileTransformer"`);
    const { columns, references } = v;
    if (!Array.isArray(columns) || !columns.every((c) => typeof c === "string"))
      throw bad("columns must be an array of strings");
    if (!Array.isArray(references) || references.length !== columns.length)
      throw bad(`references must be an array of ${columns.length} arrays`);
    const first = references[0] as unknown;
    const length = Array.isArray(first) ? first.length : 0;
    if (length < 2) throw bad("references must hold at least 2 values per column");
    references.forEach((r: unknown, j) => {
      const ok =
        Array.isArray(r) &&
        r.length === length &&
        r.every((x, i) => Number.isFinite(x) && (i === 0 || (x as number) >= (r[i - 1] as number)));
      if (!ok) throw bad(`references of ${columns[j]} must be ${length} finite non-decreasing numbers`);
    });
    const t = new QuantileTransformer({ quantiles: length - 1 });
    t.params = {
      type: "QuantileTransformer",
      columns: [...(columns as string[])],
      references: (references as number[][]).map((r) => [...r]),
    };
    return t;
  }

  private fittedParams(): QuantileParams {
    if (!this.params) throw new WindflowError("the quantile transformer is not fitted: call fit first");
    return this.params;
  }
}

/**
 * The rank in [0, 1] of `x` among the references `ref` (non-decreasing, n + 1 values at ranks i / n): linear
 * between two references, the middle of a run of references equal to `x`, 0 or 1 outside.
 */
export function rank(ref: readonly number[], x: number): number {
  const n = ref.length - 1;
  // first: the first index whose reference is >= x; after: the first whose reference is > x.
  let a = 0;
  let b = n + 1;
  while (a < b) {
    const m = (a + b) >> 1;
    if ((ref[m] as number) < x) a = m + 1;
    else b = m;
  }
  const first = a;
  if (first > n) return 1; // above every reference
  if ((ref[first] as number) === x) {
    // x equals ref[first .. after - 1]: the middle of the run (a second search, only for such values).
    b = n + 1;
    while (a < b) {
      const m = (a + b) >> 1;
      if ((ref[m] as number) <= x) a = m + 1;
      else b = m;
    }
    return (first + a - 1) / 2 / n;
  }
  if (first === 0) return 0; // below every reference
  const lo = ref[first - 1] as number;
  const hi = ref[first] as number;
  return (first - 1 + (x - lo) / (hi - lo)) / n;
}
