/**
 * The files the UI shows: the dated prediction CSVs, the model registry and the tasks' logs. Every name that
 * comes from a request is checked against what the folder holds (a name pattern, then a listing), never
 * joined onto a path as given: `../` and absolute names reach nothing.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { WindflowError } from "../errors.js";
import { newestDated } from "../io/dated.js";
import { listModels, readMetadata } from "../model/io.js";
import { type Histogram, type RegressionMetrics, scoredOn } from "../model/metadata.js";

/** A dated prediction file's name: `{YYYYmmdd-HHMMSS}.csv`, `_n` for a second run in the same second. */
const PREDICTION_FILE = /^(\d{8})-(\d{6})(?:_(\d+))?\.csv$/;

/** A request named a file that is not there, or that may not be read (a 404 for the API). */
export class NotFoundError extends WindflowError {
  readonly retryable = false;
}

export interface PredictionFile {
  name: string;
  /** The run's stamp, `YYYYmmdd-HHMMSS`. */
  stamp: string;
  /** The stamp as an ISO 8601 instant (stamps are UTC). */
  time: string;
  bytes: number;
  modifiedAt: string;
}

const stampTime = (date: string, time: string) =>
  `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${time.slice(0, 2)}:${time.slice(2, 4)}:${time.slice(4, 6)}.000Z`;

/** The dated prediction CSVs of `folder`, newest stamp first (`latest.csv` is not listed: it is a copy). */
export function listPredictions(folder: string): PredictionFile[] {
  if (!existsSync(folder)) return [];
  const files: PredictionFile[] = [];
  for (const name of readdirSync(folder)) {
    const m = PREDICTION_FILE.exec(name);
    if (!m) continue;
    const s = statSync(join(folder, name));
    if (!s.isFile()) continue;
    files.push({
      name,
      stamp: `${m[1]}-${m[2]}`,
      time: stampTime(m[1] as string, m[2] as string),
      bytes: s.size,
      modifiedAt: s.mtime.toISOString(),
    });
  }
  // Newest first: by stamp, then `_n` as a number (`_10` after `_9`; a plain name sort puts it before `_2`).
  const n = (name: string) => Number(PREDICTION_FILE.exec(name)?.[3] ?? 1);
  return files.sort((a, b) => (a.stamp === b.stamp ? n(b.name) - n(a.name) : a.stamp < b.stamp ? 1 : -1));
}

/** Rows of a prediction CSV (`predictions,predictions_time`). */
export interface PredictionRows {
  name: string;
  predictions: number[];
  predictionsTime: string[];
  /** More rows than `maxRows`: only the first ones are here. */
  truncated: boolean;
  rows: number;
}

/** Reads one dated prediction file of `folder` by name (`latest.csv` too); a NotFoundError otherwise. */
export async function readPredictions(
  folder: string,
  name: string,
  maxRows = 10_000,
): Promise<PredictionRows> {
  if (name !== "latest.csv" && !PREDICTION_FILE.test(name))
    throw new NotFoundError(`no prediction file ${JSON.stringify(name)}`, {
      hint: "names look like 20261125-173005.csv (GET /api/v1/predictions lists them)",
    });
  // latest.csv is the newest dated file's copy: read that file (a writer killed between its two steps can
  // leave latest.csv one file behind until the next write repairs it).
  const path =
    name === "latest.csv" ? (newestDated(folder, ".csv") ?? join(folder, name)) : join(folder, name);
  if (!existsSync(path)) throw new NotFoundError(`no prediction file ${name} in the predictions folder`);
  const pl = (await import("nodejs-polars")).default;
  const df = pl.readCSV(path, { sep: ",", dtypes: { predictions: pl.Float64, predictions_time: pl.Utf8 } });
  if (df.columns.join(",") !== "predictions,predictions_time")
    throw new WindflowError(
      `${name}: columns are ${df.columns.join(",")}, expected predictions,predictions_time`,
    );
  const head = df.head(maxRows);
  return {
    name,
    predictions: head.getColumn("predictions").toArray() as number[],
    predictionsTime: head.getColumn("predictions_time").toArray() as string[],
    truncated: df.height > maxRows,
    rows: df.height,
  };
}

export interface ModelJson {
  name: string;
  latest: boolean;
  createdAt: string;
  backend: string;
  /**
   * The model's scores, null for a model folder whose metadata does not read (`error` says why): on the test
   * rows, or, for models saved before the test split (metadata format 1), on the validation rows (`scoredOn`).
   */
  metrics: RegressionMetrics | null;
  /** Which rows `metrics` were measured on; null with `metrics`. */
  scoredOn: "test" | "validation" | null;
  /** Scores on the early-stopping rows (optimistic: they chose the epoch); null with `metrics`. */
  validationMetrics: RegressionMetrics | null;
  trainingRows: number;
  validationRows: number;
  /** 0 for models saved before the test split. */
  testRows: number;
  epochsRun: number;
  bestEpoch: number;
  trainingSeconds: number;
  hiddenUnits: number[];
  features: number;
  dataSha256: string | null;
  targetHistogram: Histogram | null;
  /** A model folder whose metadata does not read: why. */
  error?: string;
}

/** The models of a registry folder, newest first, with their metrics. */
export function listModelsJson(modelsDir: string): ModelJson[] {
  if (!existsSync(modelsDir)) return [];
  const latestFile = join(modelsDir, "latest");
  const latest = existsSync(latestFile) ? readFileSync(latestFile, "utf8").trim() : undefined;
  return listModels(modelsDir)
    .slice()
    .sort((a, b) => (a < b ? 1 : -1))
    .map((name): ModelJson => {
      try {
        const m = readMetadata(join(modelsDir, name));
        return {
          name,
          latest: name === latest,
          createdAt: m.createdAt,
          backend: String(m.backend),
          metrics: m.metrics,
          scoredOn: scoredOn(m),
          validationMetrics: m.validationMetrics,
          trainingRows: m.training.rows,
          validationRows: m.training.validationRows,
          testRows: m.training.testRows ?? 0,
          epochsRun: m.training.epochsRun,
          bestEpoch: m.training.bestEpoch,
          trainingSeconds: m.training.seconds,
          hiddenUnits: m.training.hiddenUnits,
          features: m.features.length,
          dataSha256: m.dataSha256,
          targetHistogram: m.targetHistogram ?? null,
        };
      } catch (error) {
        return {
          name,
          latest: name === latest,
          createdAt: "",
          backend: "",
          metrics: null,
          scoredOn: null,
          validationMetrics: null,
          trainingRows: 0,
          validationRows: 0,
          testRows: 0,
          epochsRun: 0,
          bestEpoch: 0,
          trainingSeconds: 0,
          hiddenUnits: [],
          features: 0,
          dataSha256: null,
          targetHistogram: null,
          error: (error as Error).message,
        };
      }
    });
}
