/**
 * The pipeline steps as tasks call them: file in, file out (the course's `*_with_io` functions).
 * Each is a pure function of the features module or the model module, wrapped by `withIO`: inputs are read from
 * files with errors that say which task makes them, outputs are written atomically, and only the paths written
 * come back (small values that a task hands to the next one).
 *
 *   prepare_features: data CSV            -> features Parquet           (prepareFeaturesWithIO, features/)
 *   train_model:      features Parquet    -> models/{YYYYmmdd-HHMMSS}/ + models/latest
 *   predict:          features + model    -> predictions/{YYYYmmdd-HHMMSS}.csv + latest.csv
 *   generate:         data CSV            -> generated_data/{YYYYmmdd-HHMMSS}.csv + latest.csv (data/generate.ts)
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import pl from "nodejs-polars";
import { WindflowError } from "../errors.js";
import { datedCsv, parquetReader, type Reader, type Writer, withIO } from "../io/with-io.js";
import {
  type LoadedModel,
  listModels,
  loadModel,
  resolveModelDir,
  saveToRegistry,
  sha256File,
} from "../model/io.js";
import type { RegressionMetrics } from "../model/metadata.js";
import { predict, type TrainOptions, type TrainResult, trainModel } from "../model/model.js";

export { generateData } from "../data/generate.js";
export { prepareFeaturesWithIO } from "../features/prepare.js";

const trainingFeatures = parquetReader(
  "features file",
  "run the prepare_features task first (the train DAG does, or `windflow features`)",
);
const predictionFeatures = parquetReader(
  "features file",
  "run the predict DAG's prepare_features task first (or `windflow features --prediction`)",
);

/** Reads a model folder, or the latest model of a registry folder such as `models/`. */
export const modelReader: Reader<LoadedModel> = {
  what: "model",
  hint: "run the train DAG first (or `windflow train`)",
  exists: (path) => {
    if (!existsSync(path)) return false;
    try {
      resolveModelDir(path);
      return true;
    } catch {
      return listModels(path).length > 0;
    }
  },
  read: (path) => loadModel(path, { log: () => {} }),
};

export interface TrainWithIOOptions extends TrainOptions {
  /** The time that names the model folder. @default now */
  now?: Date;
}

export interface TrainWithIOResult {
  /** The model folder written, e.g. `models/20261125-173000`. */
  dir: string;
  name: string;
  /** On the test rows: the last ones, used neither for training nor for early stopping. */
  metrics: RegressionMetrics;
  /** On the early-stopping (validation) rows: optimistic, since they chose the epoch. */
  validationMetrics: RegressionMetrics;
}

/**
 * `train_model`: features Parquet -> a new dated folder in the model registry, `latest` pointing at it.
 * The metadata records the sha256 of the features file the model was fitted on (`dataSha256`), unless the
 * caller gives one: which data made a model can be checked later.
 */
export async function trainModelWithIO(
  featuresPath: string,
  modelsDir: string,
  options: TrainWithIOOptions = {},
): Promise<TrainWithIOResult> {
  let saved: TrainWithIOResult | undefined;
  const registry: Writer<TrainResult> = {
    what: "model registry",
    async write({ model, metadata }, folder) {
      const { name, dir } = await saveToRegistry(
        folder,
        model,
        metadata,
        options.now ? { now: options.now } : {},
      );
      saved = { name, dir, metrics: metadata.metrics, validationMetrics: metadata.validationMetrics };
      return [dir];
    },
  };
  // The features were read for this step alone: they go as they enter the model's inputs (consumeFeatures).
  const step = withIO(
    ([features]: [pl.DataFrame], o: TrainOptions) => trainModel(features, { ...o, consumeFeatures: true }),
    {
      readers: [trainingFeatures],
      writer: registry,
    },
  );
  const dataSha256 = options.dataSha256 ?? (existsSync(featuresPath) ? await sha256File(featuresPath) : null);
  await step([featuresPath], resolve(modelsDir), { ...options, dataSha256 });
  return saved as TrainWithIOResult;
}

export interface PredictWithIOOptions {
  /** The run's time: names the file and fills `predictions_time`. @default now */
  now?: Date;
}

export interface PredictWithIOResult {
  /** `{predictionsFolder}/{YYYYmmdd-HHMMSS}.csv` (`_2`, `_3`... if that second is taken: see io/dated.ts). */
  path: string;
  latest: string;
  rows: number;
  /** The model folder used. */
  model: string;
}

/**
 * `predict`: features Parquet + model (a model folder, or a registry such as `models/` for its latest) ->
 * `{predictionsFolder}/{YYYYmmdd-HHMMSS}.csv` and `latest.csv`, with exactly the course's two columns
 * `predictions,predictions_time` (comma-separated, no index; one stamp on every row).
 * The features must be the model's: a missing or extra column is an error naming it.
 */
export async function predictWithIO(
  featuresPath: string,
  modelPath: string,
  predictionsFolder: string,
  options: PredictWithIOOptions = {},
): Promise<PredictWithIOResult> {
  let rows = 0;
  let modelDir = "";
  const step = withIO(
    ([features, loaded]: [pl.DataFrame, LoadedModel]) => {
      if (features.height === 0) {
        loaded.model.dispose();
        // An empty predictions file would replace latest.csv, the last good predictions.
        throw new WindflowError(`${featuresPath} has no rows: nothing to predict, no file written`, {
          hint: "its rows come from the data generator's latest.csv: run get_data_from_engie_hub, then predict",
        });
      }
      const values = predict(loaded.model, loaded.metadata, features);
      rows = values.length;
      modelDir = loaded.dir;
      loaded.model.dispose();
      return (stamp: string) =>
        pl.DataFrame({
          predictions: pl.Series("predictions", values, pl.Float64),
          predictions_time: Array.from({ length: values.length }, () => stamp),
        });
    },
    { readers: [predictionFeatures, modelReader], writer: datedCsv(",", () => options.now ?? new Date()) },
  );
  const [path, latest] = await step([featuresPath, modelPath], resolve(predictionsFolder), undefined);
  return { path: path as string, latest: latest as string, rows, model: modelDir };
}
