/**
 * What is saved next to a model (metadata.json): everything needed to use it again (feature names and order,
 * the fitted scalers) and to judge it (test and validation metrics, how and on what it was trained). Plain JSON,
 * checked field by field when read back, since it comes from a file a person may have edited.
 *
 * Format versions:
 * - 2 (current): `metrics` are on the test rows (the last ones, never trained on nor used to choose the epoch),
 *   `validationMetrics` on the early-stopping rows before them; `training` counts the test rows.
 * - 1 (models saved before the test split): `metrics` are on the validation rows, the same rows that chose the
 *   epoch (optimistic), and there are no test rows. Still read: `parseMetadata` fills `validationMetrics` with
 *   those metrics, and `scoredOn` says "validation" for them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { WindflowError } from "../errors.js";
import type { BackendName } from "./backend.js";
import { type QuantileParams, QuantileTransformer } from "./quantile.js";
import { type ScalerParams, StandardScaler } from "./scaler.js";

export const METADATA_FORMAT = "windflow-model";
export const METADATA_FORMAT_VERSION = 2;
/** The format versions parseMetadata reads (see the top of this file). */
export const READABLE_FORMAT_VERSIONS = [1, 2] as const;
export type MetadataFormatVersion = (typeof READABLE_FORMAT_VERSIONS)[number];

/** Scores on a set of rows (test or validation), in the target's unit (degrees for `Ba_avg`). */
export interface RegressionMetrics {
  rmse: number;
  mae: number;
  /** Coefficient of determination (1 - SSE / SST around the mean of the rows scored, like scikit-learn's r2_score). */
  r2: number;
  /** RMSE of the naive model that always predicts the training mean: the number to beat by far. */
  baselineRmse: number;
  /** How many rows were scored. */
  rows: number;
}

/** The name this type had when the metrics were those of the validation rows (format 1). */
export type ValidationMetrics = RegressionMetrics;

/** One line of the learning curve. */
export interface EpochReport {
  /** 1-based, as printed ("epoch 3 / 30"). */
  epoch: number;
  /** The most epochs this run may take (early stopping may end it sooner). */
  epochs: number;
  /**
   * The training objective averaged over the epoch's batches: mean squared error on the training rows in
   * standardised target units, plus the L2 penalty of the weights (so it can sit above valLoss).
   */
  loss: number;
  /** Mean squared error on the validation rows after the epoch, in standardised target units. */
  valLoss: number;
  /** Validation RMSE in the target's unit. */
  valRmse: number;
  /** Adam's learning rate during the epoch. */
  learningRate: number;
  /** The best validation loss so far (this epoch's weights are the ones kept if so). */
  best: boolean;
  /** Seconds since training started. */
  seconds: number;
}

export interface TrainingSummary {
  /** Rows the model was fitted on (the first ones, in time order). */
  rows: number;
  /** Rows on which early stopping chose the epoch (after the training rows; the last ones in format 1). */
  validationRows: number;
  validationFraction: number;
  /** Rows held out for the test (the last ones). Absent in format 1 (no test rows). */
  testRows?: number;
  /** Absent in format 1. */
  testFraction?: number;
  hiddenUnits: number[];
  /** MLPs averaged (createModel's `members`). Absent in format 1: 1. */
  members?: number;
  /** Intervals between the quantiles of `ranks`; absent without rank inputs. */
  quantiles?: number;
  learningRate: number;
  /** Learning rate of the last epoch (cosine schedule from learningRate). */
  finalLearningRate: number;
  batchSize: number;
  /** The maximum asked for. */
  epochs: number;
  /** Epochs actually run. */
  epochsRun: number;
  /** 1-based epoch whose weights were kept (best validation loss). */
  bestEpoch: number;
  patience: number;
  /** First epoch counted towards patience. */
  startFromEpoch: number;
  seed: number;
  /** Wall-clock training time, data conversion included. */
  seconds: number;
  history: EpochReport[];
}

/** Counts of values in equal-width bins: `counts[i]` values in `[edges[i], edges[i + 1])` (the last closed). */
export interface Histogram {
  edges: number[];
  counts: number[];
}

/** A histogram of `values` in `bins` equal-width bins (NaN ignored). */
export function histogram(values: ArrayLike<number>, bins = 60): Histogram {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (Number.isNaN(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo)) return { edges: [], counts: [] };
  if (hi === lo) hi = lo + 1;
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (Number.isNaN(v)) continue;
    const b = Math.min(bins - 1, Math.floor((v - lo) / width));
    counts[b] = (counts[b] as number) + 1;
  }
  return { edges, counts };
}

export interface ModelMetadata {
  format: typeof METADATA_FORMAT;
  /** METADATA_FORMAT_VERSION when written by this windflow; 1 in older models (see the top of this file). */
  formatVersion: MetadataFormatVersion;
  /** The predicted column (`Ba_avg`). */
  target: string;
  /** Feature names in the model's input order; prediction frames are reordered by these names. */
  features: string[];
  /** Standardisation of the features, fitted on the training rows. */
  scaler: ScalerParams;
  /** Standardisation of the target: the network predicts z, `predict` returns z * scale + mean. */
  targetScaler: ScalerParams;
  /**
   * The quantiles of the features that the model's second input (`ranks`) is computed with, fitted on the
   * training rows. Absent: the model's only input is the standardised features (format 1, or `rankInputs: false`).
   */
  ranks?: QuantileParams;
  /**
   * The model's scores: on the test rows (format 2). In format 1, on the validation rows that also chose the
   * epoch (see `scoredOn`).
   */
  metrics: RegressionMetrics;
  /** Scores on the early-stopping (validation) rows: optimistic, since they chose the epoch. */
  validationMetrics: RegressionMetrics;
  training: TrainingSummary;
  /** The TensorFlow.js backend that trained the model. */
  backend: BackendName | string;
  /** sha256 of the training data: the features file (`trainModelWithIO`), or what the caller gave. */
  dataSha256: string | null;
  /**
   * The distribution of the target over the training rows (equal-width bins): what the UI draws predictions
   * over. Absent in models saved before it existed.
   */
  targetHistogram?: Histogram;
  /** ISO 8601, UTC. */
  createdAt: string;
  windflowVersion: string;
}

let cachedVersion: string | undefined;

/** windflow's version, from its package.json (two levels above this file in src/model/ and in dist/model/). */
export function windflowVersion(): string {
  if (cachedVersion === undefined) {
    try {
      const manifest = JSON.parse(readFileSync(join(__dirname, "..", "..", "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      cachedVersion = manifest.name === "windflow" && manifest.version ? manifest.version : "unknown";
    } catch {
      cachedVersion = "unknown";
    }
  }
  return cachedVersion;
}

/** Which rows `metadata.metrics` were measured on: the test rows, or (format 1) the validation rows. */
export function scoredOn(metadata: Pick<ModelMetadata, "formatVersion">): "test" | "validation" {
  return metadata.formatVersion >= 2 ? "test" : "validation";
}

/**
 * Checks a parsed metadata.json and returns it typed. Format 1 is read too (its `validationMetrics` filled
 * with its `metrics`, which were measured on the validation rows). `source` (the file) is named in the error, which says
 * which field is wrong.
 */
export function parseMetadata(value: unknown, source: string): ModelMetadata {
  const bad = (why: string) =>
    new WindflowError(`${source}: corrupt model metadata: ${why}`, {
      hint: "the model folder is damaged or was edited by hand: train the model again (run the train DAG or `windflow train`)",
    });
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad("not a JSON object");
  const v = value as Record<string, unknown>;
  if (v.format !== METADATA_FORMAT)
    throw bad(`format is ${JSON.stringify(v.format)}, expected "${METADATA_FORMAT}"`);
  const version = v.formatVersion;
  if (!READABLE_FORMAT_VERSIONS.some((n) => n === version)) {
    throw bad(
      `formatVersion ${JSON.stringify(version)} is not supported (this windflow reads ${READABLE_FORMAT_VERSIONS.join(" and ")})`,
    );
  }
  if (typeof v.target !== "string" || v.target === "") throw bad("target must be a column name");
  const features = v.features;
  if (!Array.isArray(features) || features.length === 0 || !features.every((f) => typeof f === "string")) {
    throw bad("features must be a non-empty array of column names");
  }
  if (new Set(features).size !== features.length) throw bad("features has duplicated names");
  for (const field of ["scaler", "targetScaler"] as const) {
    try {
      StandardScaler.fromJSON(v[field]);
    } catch (error) {
      throw bad(`${field}: ${(error as Error).message}`);
    }
  }
  const scaler = v.scaler as ScalerParams;
  if (scaler.columns.join("\u0000") !== features.join("\u0000")) {
    throw bad("scaler.columns differ from features");
  }
  if ((v.targetScaler as ScalerParams).columns.length !== 1) throw bad("targetScaler must have one column");
  if (v.ranks !== undefined) {
    let ranks: QuantileTransformer;
    try {
      ranks = QuantileTransformer.fromJSON(v.ranks);
    } catch (error) {
      throw bad(`ranks: ${(error as Error).message}`);
    }
    if ((v.ranks as QuantileParams).columns.join("\u0000") !== features.join("\u0000") || !ranks.fitted)
      throw bad("ranks.columns differ from features");
  }
  const checkMetrics = (field: "metrics" | "validationMetrics") => {
    const metrics = v[field] as Record<string, unknown> | undefined;
    if (typeof metrics !== "object" || metrics === null) throw bad(`${field} is missing`);
    for (const m of ["rmse", "mae", "r2", "baselineRmse"]) {
      if (typeof metrics[m] !== "number") throw bad(`${field}.${m} must be a number`);
    }
  };
  checkMetrics("metrics");
  if (version !== 1) checkMetrics("validationMetrics");
  const training = v.training as Record<string, unknown> | null | undefined;
  if (typeof training !== "object" || training === null) throw bad("training is missing");
  if (version !== 1 && typeof training.testRows !== "number") throw bad("training.testRows must be a number");
  if (typeof v.createdAt !== "string") throw bad("createdAt must be a date string");
  if (v.targetHistogram !== undefined) {
    const h = v.targetHistogram as Partial<Histogram> | null;
    const numbers = (x: unknown) => Array.isArray(x) && x.every((n) => typeof n === "number");
    if (
      !h ||
      !numbers(h.edges) ||
      !numbers(h.counts) ||
      (h.edges as number[]).length !== (h.counts as number[]).length + 1
    )
      throw bad("targetHistogram must hold edges (one more than counts) and counts");
  }
  if (v.dataSha256 !== null && typeof v.dataSha256 !== "string")
    throw bad("dataSha256 must be a string or null");
  // Format 1: its metrics were those of the validation rows.
  if (version === 1)
    return { ...(value as ModelMetadata), validationMetrics: v.metrics as RegressionMetrics };
  return value as ModelMetadata;
}
