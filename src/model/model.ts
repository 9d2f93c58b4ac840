/**
 * The regression model of the pitch angle `Ba_avg`: a TensorFlow.js multilayer perceptron on the 135 features
 * of prepare_features. Cut like tfjs-examples abalone-node: `createModel` is pure (architecture + compile),
 * `trainModel` does the data work and the fitting, `predict` applies a trained model to a features frame.
 *
 * Training, in order:
 * 1. time-ordered three-way split (splitRows; the features are sorted by date, nothing is shuffled across it):
 *    the first rows train, the next `validationFraction` (10 %) choose the epoch (early stopping), the last
 *    `testFraction` (10 %) are the test: never trained on, never used to choose anything, read once at the end;
 * 2. the model's two inputs, fitted on the training rows only: the standardised features, clamped into the
 *    training range (StandardScaler `clip: "range"`: some course columns only start reporting in later months,
 *    and an MLP would extrapolate them linearly), and the features' ranks among the training values
 *    (QuantileTransformer: see there why); the target standardised the same way;
 * 3. Adam on mean squared error with a cosine learning-rate decay, mini-batches reshuffled every epoch with a
 *    seeded generator, stepped by FlatTrainer (trainer.ts: the same mathematics as layers' `model.fit` in a fifth
 *    of the TensorFlow.js operations, which is what a step costs at these batch sizes), the data one row-major
 *    matrix in JS from which each batch is copied (modelInputs: the only copy of the data while training);
 * 4. early stopping on the validation loss, restoring the weights of the best epoch (Keras'
 *    `restore_best_weights`, which `tf.callbacks.earlyStopping` lacks);
 * 5. metrics in degrees (RMSE, MAE, R^2, and the RMSE of always predicting the training mean) on the test rows:
 *    the model's metrics; and on the validation rows, kept apart (optimistic: they chose the epoch).
 *
 * Reproducibility: the kernel initialisers and the shuffling are seeded; on one backend (cpu, wasm) the same
 * seed and data give the same weights. Different backends differ in float rounding.
 *
 * Accuracy reference: the course's model, scikit-learn `RandomForestRegressor(n_estimators=1, max_depth=10)`,
 * fitted on every row before the test rows (it needs no early stopping) and scored on the same test rows
 * (tests/oracle/course_model.py). On the full-size synthetic file (seed 42, 215,636 rows, 21,563 test rows),
 * native backend, mean of 3 seeds (docs: the report of issue 10, item 4):
 *   the course's tree (random_state 0, 1, 2)                    test RMSE 0.549 (0.515 .. 0.583)
 *   standardised features only, batch 256, 40 epochs            test RMSE 0.641 (0.600 .. 0.710)
 *   + rank inputs, batch 1024, 40 epochs                        test RMSE 0.548 (0.510 .. 0.588)
 *   + rank inputs, batch 512, learning rate 0.004, 40 epochs    test RMSE 0.491 (0.449 .. 0.563; 128-64 units)
 *   the same, 64-32 units                                       test RMSE 0.455 (0.433 .. 0.468)
 *   64-32 units, batch 256, 20 epochs (the defaults)            test RMSE 0.462 (0.451 .. 0.468)
 * Why: the error of a ReLU MLP on standardised features came from imprecision on the plateaus of the pitch
 * (-1, 45, 90 deg, where the tree's leaves are exact), not from capacity: it split idling from feathered blades
 * poorly (active power -1 kW vs -2.4 kW in a column reaching 2000 kW). The ranks make such splits easy; the
 * standardised values keep the linear ramp above rated wind, which ranks alone lost (0.668 on seed 1).
 * Batch 1024 took too few steps in 40 epochs (see below for batch 256 and 512). A longer schedule with a decaying rate, a little L2 and clamping the predictions into the
 * target's training range helped before; adding width or depth did not. Averaging MLPs (`members`) lowers the
 * error further (3 seeds averaged: 0.424) for `members` times the training time.
 * Fewer steps cost accuracy (issue 10, FlatTrainer, seed 1 unless said; the tree: 0.549): batch 512 for 40 epochs
 * 0.444; 20 epochs 0.513 (seed 2: 0.593, above the tree); batch 1024, learning rate 0.006, 30 epochs 0.655, 15
 * epochs 0.984. What counts is the number of steps, not the width: a second round (3 seeds each, 42-44, native,
 * the machine loaded by other work) gave 64-32 units 0.455 at batch 512 x 40 epochs, 0.462 at batch 256 x 20
 * epochs (the same steps), 0.493 at 256 x 15; 32-16 units 0.487 at 512 x 40, 0.493 at 256 x 20, 0.53 at 256 x
 * 15; 128-64 units at 512 x 20 0.54-0.57, batch 1024 x 20 0.76-0.92. At batch 256 a step is mostly TensorFlow.js'
 * per-operation cost, so 64-32 units at 256 x 20 take about 0.6x the time of 64-32 at 512 x 40 and about a third
 * of the former defaults (128-64 at 512 x 40), for a lower error: the defaults since issue 10's second round.
 */
import type * as TF from "@tensorflow/tfjs";
import type pl from "nodejs-polars";
import { checkNotGivenUp, giveUpColumns, ownedCopy } from "../data/frames.js";
import { Rng } from "../data/random.js";
import { WindflowError } from "../errors.js";
import { collectGarbageSoon } from "../util/gc.js";
import { type Progress, progress } from "../util/progress.js";
import { type BackendName, ensureBackend } from "./backend.js";
import { assertFinite, numericColumns } from "./frame.js";
import {
  type EpochReport,
  histogram,
  METADATA_FORMAT,
  METADATA_FORMAT_VERSION,
  type ModelMetadata,
  type RegressionMetrics,
  windflowVersion,
} from "./metadata.js";
import { type QuantileParams, QuantileTransformer } from "./quantile.js";
import { type ScalerParams, StandardScaler } from "./scaler.js";
import { tf } from "./tf.js";
import { FlatTrainer, RowBatches } from "./trainer.js";
import { speedUpWasmMatMul } from "./wasm-matmul.js";

/** The course's target: the average pitch angle of the blades over the 10 minutes, in degrees. */
export const TARGET = "Ba_avg";
/**
 * Rows per prediction batch: wasm predicts 100k rows in 45 ms with 4096, 4 s with tfjs' default 32 (STACK.md).
 * Each batch is uploaded from JS on its own: on wasm, slicing a batch out of one big tensor (what
 * `model.predict(x, {batchSize})` does) copies the whole tensor every time (172k x 135: 3.3 s instead of 0.6 s).
 */
export const PREDICT_BATCH_SIZE = 4096;

export interface CreateModelOptions {
  /**
   * Units of the hidden ReLU layers. 135 inputs, many of them redundant (avg/min/max/std of the same sensor):
   * a first layer about as wide as the input, then a narrower one, separates the regimes of the pitch (fine
   * pitch -1 deg below rated wind, a ramp above it, 45 deg idling, 90 deg feathered when stopped) with sharp
   * piecewise-linear edges. Measured on the course-size synthetic file, 30 epochs each: 256-128 was no more
   * accurate for twice the time, 128-64-32 overfitted, 64-64 was less accurate; then (module comment) 64-32 was
   * more accurate than 128-64 for the same steps, at half the arithmetic.
   * @default [64, 32]
   */
  hiddenUnits?: readonly number[];
  /** Adam's (initial) learning rate. @default 0.004 */
  learningRate?: number;
  /** Seed of the kernel initialisers (layer i uses seed + i). @default 42 */
  seed?: number;
  /**
   * L2 penalty on the hidden layers' kernels: a little keeps the weights small where the validation months
   * (autumn, winter) leave the training distribution. @default 1e-5
   */
  l2?: number;
  /**
   * Members of the ensemble: independent MLPs of the same shape (member m's layers seeded from
   * `seed + m * (hiddenUnits.length + 1)`) whose predictions are averaged. Each member is fitted on its own
   * error (see trainModel), so their mistakes differ and the average cancels part of them. 1: a plain MLP.
   * @default 1
   */
  members?: number;
  /**
   * A second input of the same width, `ranks`: each feature's rank among its training values (see
   * QuantileTransformer for why), concatenated with the standardised features before the first layer.
   * @default true
   */
  rankInputs?: boolean;
}

export const MODEL_DEFAULTS = {
  hiddenUnits: [64, 32],
  learningRate: 4e-3,
  seed: 42,
  l2: 1e-5,
  members: 1,
  rankInputs: true,
} as const;

/**
 * A compiled multilayer perceptron `inputSize -> hiddenUnits (ReLU) -> 1 (linear)` trained on mean squared
 * error with Adam. With `rankInputs` (the default) it has two inputs, `features` and `ranks`, both `inputSize`
 * wide, concatenated; with `members` > 1 the output `pitch` averages that many such MLPs (their outputs
 * `member_{m}_pitch`). Without either, a plain Sequential model. Pure: no data, no backend choice (call
 * ensureBackend first to pick the backend).
 */
export function createModel(inputSize: number, options: CreateModelOptions = {}): TF.LayersModel {
  const hiddenUnits = options.hiddenUnits ?? MODEL_DEFAULTS.hiddenUnits;
  const learningRate = options.learningRate ?? MODEL_DEFAULTS.learningRate;
  const seed = options.seed ?? MODEL_DEFAULTS.seed;
  const l2 = options.l2 ?? MODEL_DEFAULTS.l2;
  const members = options.members ?? MODEL_DEFAULTS.members;
  const rankInputs = options.rankInputs ?? MODEL_DEFAULTS.rankInputs;
  if (!Number.isInteger(members) || members < 1) {
    throw new WindflowError(`createModel: members must be a positive integer, got ${members}`);
  }
  if (!Number.isInteger(inputSize) || inputSize < 1) {
    throw new WindflowError(`createModel: inputSize must be a positive integer, got ${inputSize}`);
  }
  if (!hiddenUnits.every((u) => Number.isInteger(u) && u > 0)) {
    throw new WindflowError(
      `createModel: hiddenUnits must be positive integers, got ${hiddenUnits.join(", ")}`,
    );
  }
  if (!(learningRate > 0))
    throw new WindflowError(`createModel: learningRate must be > 0, got ${learningRate}`);
  /** The dense layers of one MLP: hidden ReLU layers, then the linear output (the first one given `input`). */
  const mlp = (first: number, prefix: string, memberL2: number, input?: number[]): TF.layers.Layer[] => [
    ...hiddenUnits.map((units, i) =>
      tf.layers.dense({
        ...(i === 0 && input ? { inputShape: input } : {}),
        units,
        activation: "relu",
        // He initialisation suits ReLU (Glorot would shrink the signal layer after layer).
        kernelInitializer: tf.initializers.heNormal({ seed: first + i }),
        ...(memberL2 > 0 ? { kernelRegularizer: tf.regularizers.l2({ l2: memberL2 }) } : {}),
        name: `${prefix}hidden_${i + 1}`,
      }),
    ),
    tf.layers.dense({
      ...(hiddenUnits.length === 0 && input ? { inputShape: input } : {}),
      units: 1,
      kernelInitializer: tf.initializers.glorotUniform({ seed: first + hiddenUnits.length }),
      name: `${prefix}pitch`,
    }),
  ];
  let model: TF.LayersModel;
  if (members === 1 && !rankInputs) {
    const sequential = tf.sequential({ name: "windflow_pitch_mlp" });
    for (const layer of mlp(seed, "", l2, [inputSize])) sequential.add(layer);
    model = sequential;
  } else {
    const inputs = [
      tf.input({ shape: [inputSize], name: "features" }),
      ...(rankInputs ? [tf.input({ shape: [inputSize], name: "ranks" })] : []),
    ];
    const x = rankInputs
      ? (tf.layers.concatenate({ name: "features_and_ranks" }).apply(inputs) as TF.SymbolicTensor)
      : (inputs[0] as TF.SymbolicTensor);
    const apply = (layers: TF.layers.Layer[]) =>
      layers.reduce<TF.SymbolicTensor>((h, layer) => layer.apply(h) as TF.SymbolicTensor, x);
    let pitch: TF.SymbolicTensor;
    if (members === 1) {
      pitch = apply(mlp(seed, "", l2));
    } else {
      // The members are trained together on the sum of their own losses divided by `members` (trainModel's
      // ensembleView); the penalty is divided the same way, so each member's gradient is that of its own
      // training, scaled by 1 / members, which Adam's normalisation undoes.
      const outputs = Array.from({ length: members }, (_, m) =>
        apply(mlp(seed + m * (hiddenUnits.length + 1), `member_${m + 1}_`, l2 / members)),
      );
      pitch = tf.layers.average({ name: "pitch" }).apply(outputs) as TF.SymbolicTensor;
    }
    model = tf.model({
      name: members === 1 ? "windflow_pitch_mlp" : "windflow_pitch_ensemble",
      inputs,
      outputs: pitch,
    });
  }
  // By name, so that the model owns its optimiser and model.dispose() frees Adam's moment estimates too
  // (an optimiser passed as an object outlives the model); the learning rate is set right after.
  model.compile({ optimizer: "adam", loss: "meanSquaredError" });
  setLearningRate(model, learningRate);
  return model;
}

export interface TrainOptions extends CreateModelOptions, SplitOptions {
  /** The column to predict; every other column of the frame is a feature. @default "Ba_avg" */
  target?: string;
  /** Most epochs to run (early stopping may end sooner). @default 20 */
  epochs?: number;
  /**
   * Learning rate at the last epoch: the rate follows a cosine from `learningRate` down to this over `epochs`
   * (large steps first, then fine ones: the noise of Adam's steps is what limits the accuracy at the end).
   * Set it equal to `learningRate` for a constant rate. @default learningRate / 100
   */
  finalLearningRate?: number;
  /**
   * Rows per gradient step. The accuracy follows the number of steps: 256 x 20 epochs is about as accurate as
   * 512 x 40 for 0.6x its time on the native backend; 1024 takes too few steps (test RMSE 0.548 at 40 epochs
   * instead of about 0.47 on the full-size synthetic file). On wasm, larger batches are not faster per epoch.
   * @default 256
   */
  batchSize?: number;
  /** Epochs without a better validation loss before stopping (counted from `startFromEpoch`). @default 8 */
  patience?: number;
  /**
   * First epoch (1-based) whose lack of improvement counts towards `patience`: before it the learning rate is
   * high and the validation loss jumps from epoch to epoch (the best weights are still kept from epoch 1). With
   * the cosine schedule the best epochs come in the last quarter: counted from half of 40 epochs, one seed
   * stopped at epoch 28 on a noisy validation loss and scored 0.563 instead of about 0.47.
   * @default three quarters of `epochs`, rounded up
   */
  startFromEpoch?: number;
  /** Improvement of the validation loss (standardised units) that counts as better. @default 0 */
  minDelta?: number;
  /**
   * Clamp the features into the range seen in the training rows before scaling, and the predictions into the
   * target's training range (see StandardScaler: an MLP extrapolates linearly; columns constant in training,
   * like the course's `Wa_c_avg`, stay constant; the predicted pitch stays within its -1 / 90 deg stops).
   * @default true
   */
  clipToTrainingRange?: boolean;
  /**
   * Intervals between the quantiles of each feature that `rankInputs` ranks against (QuantileTransformer).
   * @default 100
   */
  quantiles?: number;
  /** Called after each epoch, e.g. by a notebook to draw the learning curve. */
  onEpoch?: (report: EpochReport) => void | Promise<void>;
  /** Show a progress bar on stderr. @default true when stderr is a terminal */
  progress?: boolean;
  /** Force a TensorFlow.js backend (see ensureBackend). @default the fastest available */
  backend?: BackendName;
  /** Where the backend choice is logged. @default ensureBackend's (stderr) */
  log?: (line: string) => void;
  /** sha256 of the data file, recorded in the metadata. @default null */
  dataSha256?: string | null;
  /**
   * The caller gives the features frame up (a step that read it for this alone, as `trainModelWithIO`): each
   * column is dropped from it (in place) once copied into the model's inputs, and collected, so the frame and the
   * inputs never exist whole at once (issue 11: a train task's peak, and notebook 04's kernel). The frame is left
   * without columns. @default false
   */
  consumeFeatures?: boolean;
}

export const TRAIN_DEFAULTS = {
  target: TARGET,
  validationFraction: 0.1,
  testFraction: 0.1,
  epochs: 20,
  batchSize: 256,
  patience: 8,
  minDelta: 0,
  clipToTrainingRange: true,
  quantiles: 100,
} as const;

export interface TrainResult {
  model: TF.LayersModel;
  metadata: ModelMetadata;
  /**
   * The held-out test rows of the features (the last `testFraction`, target included), on which `metadata.metrics`
   * were scored: to look at the model's predictions. A view of the features' rows; with `consumeFeatures`, a copy
   * of its own (the features are gone).
   */
  test: pl.DataFrame;
}

export interface SplitOptions {
  /**
   * Share of all the rows, the ones just before the test rows, on which early stopping measures each epoch
   * (the "validation" rows: they choose the epoch, so their score is optimistic). @default 0.1
   */
  validationFraction?: number;
  /**
   * Share of all the rows, the last ones, held out for the test: never trained on, never used to choose the
   * epoch; the model's metrics are measured on them. @default 0.1
   */
  testFraction?: number;
}

/** How many rows fall in each part of the time-ordered split, in this order: train, validation, test. */
export interface Split {
  /** Rows `[0, train)`: the model is fitted on them (and the scalers). */
  train: number;
  /** Rows `[train, train + validation)`: early stopping chooses the epoch on them. */
  validation: number;
  /** Rows `[train + validation, rows)`: the test, scored once at the end. */
  test: number;
}

/** The rows cannot be split as asked: a fraction out of range, or a part that would be empty. */
export class SplitError extends WindflowError {
  constructor(
    readonly rows: number,
    readonly validationFraction: number,
    readonly testFraction: number,
    detail: string,
    hint?: string,
  ) {
    super(`cannot split ${rows} rows for training: ${detail}`, hint === undefined ? {} : { hint });
  }
}

/**
 * Where the time-ordered split falls: `test = floor(rows * testFraction)` rows at the end, before them
 * `validation = floor(rows * validationFraction)` rows for early stopping, and the rest, first, for training.
 * Both fractions are shares of all the rows. tests/oracle/course_model.py applies the same floor rule to the
 * test rows (and fits the course's tree on all the rows before them). A fraction outside (0, 1), fractions
 * summing to 1 or more, or a part left empty is a SplitError.
 */
export function splitRows(rows: number, options: SplitOptions = {}): Split {
  const validationFraction = options.validationFraction ?? TRAIN_DEFAULTS.validationFraction;
  const testFraction = options.testFraction ?? TRAIN_DEFAULTS.testFraction;
  const refuse = (detail: string, hint?: string) =>
    new SplitError(rows, validationFraction, testFraction, detail, hint);
  if (!Number.isInteger(rows) || rows < 0) throw refuse("the row count must be a whole number");
  for (const [name, value] of [
    ["validationFraction", validationFraction],
    ["testFraction", testFraction],
  ] as const) {
    if (!(value > 0 && value < 1)) throw refuse(`${name} must be between 0 and 1 (exclusive), got ${value}`);
  }
  if (validationFraction + testFraction >= 1) {
    throw refuse(
      `validationFraction ${validationFraction} + testFraction ${testFraction} leave no rows to train on`,
      "keep their sum well below 1 (the defaults hold out 0.1 + 0.1)",
    );
  }
  const test = Math.floor(rows * testFraction);
  const validation = Math.floor(rows * validationFraction);
  const train = rows - validation - test;
  const empty = [
    test < 1 ? `test (${testFraction * 100}%)` : "",
    validation < 1 ? `validation (${validationFraction * 100}%)` : "",
    train < 1 ? "training" : "",
  ].filter(Boolean);
  if (empty.length > 0) {
    throw refuse(
      `the ${empty.join(" and ")} part${empty.length > 1 ? "s" : ""} would be empty`,
      "train on more rows (the features file looks almost empty)",
    );
  }
  return { train, validation, test };
}

/**
 * Early stopping on the validation loss that keeps a copy of the best weights and puts them back at the end.
 * Epochs without improvement are counted from `startFromEpoch` on (Keras' `start_from_epoch`: no stop during the
 * warm-up, where a large learning rate makes the validation loss jump), but the best weights are tracked from
 * the first epoch. A validation loss that is NaN (diverged training) stops at once.
 */
export class EarlyStopping {
  bestLoss = Number.POSITIVE_INFINITY;
  /** 1-based epoch of the best loss; 0 before the first update. */
  bestEpoch = 0;
  private wait = 0;
  private best: TF.Tensor[] | undefined;

  constructor(
    readonly patience: number,
    readonly minDelta = 0,
    readonly startFromEpoch = 1,
  ) {}

  /**
   * Records one epoch (1-based); `stop` says whether training should end now. The weights are those of a layers
   * model or of the FlatTrainer that trains it.
   */
  update(
    model: TF.LayersModel | FlatTrainer,
    epoch: number,
    valLoss: number,
  ): { improved: boolean; stop: boolean } {
    if (Number.isNaN(valLoss)) return { improved: false, stop: true };
    if (valLoss < this.bestLoss - this.minDelta) {
      this.bestLoss = valLoss;
      this.bestEpoch = epoch;
      this.wait = 0;
      for (const t of this.best ?? []) t.dispose();
      // getWeights() returns the variables' current values; the optimiser later assigns new tensors to the
      // variables, so clones keep this epoch's numbers.
      this.best =
        model instanceof FlatTrainer ? [model.snapshot()] : model.getWeights().map((w) => w.clone());
      return { improved: true, stop: false };
    }
    if (epoch >= this.startFromEpoch) this.wait++;
    return { improved: false, stop: this.wait >= this.patience };
  }

  /** Puts the best weights back into `model` (no-op before any improvement) and frees the copy. */
  restore(model: TF.LayersModel | FlatTrainer): void {
    if (this.best) {
      if (model instanceof FlatTrainer) model.restore(this.best[0] as TF.Tensor);
      else model.setWeights(this.best);
    }
    this.dispose();
  }

  dispose(): void {
    for (const t of this.best ?? []) t.dispose();
    this.best = undefined;
  }
}

/** RMSE, MAE and R^2 of `predicted` against `actual`, plus the RMSE of always predicting `trainMean`. */
export function regressionMetrics(
  actual: ArrayLike<number>,
  predicted: ArrayLike<number>,
  trainMean: number,
): RegressionMetrics {
  const n = actual.length;
  if (n === 0 || predicted.length !== n) {
    throw new WindflowError(`metrics need as many predictions as rows (${predicted.length} vs ${n})`);
  }
  let mean = 0;
  for (let i = 0; i < n; i++) mean += actual[i] as number;
  mean /= n;
  let sse = 0;
  let sae = 0;
  let sst = 0;
  let sbase = 0;
  for (let i = 0; i < n; i++) {
    const a = actual[i] as number;
    const e = (predicted[i] as number) - a;
    sse += e * e;
    sae += Math.abs(e);
    sst += (a - mean) * (a - mean);
    sbase += (trainMean - a) * (trainMean - a);
  }
  return {
    rmse: Math.sqrt(sse / n),
    mae: sae / n,
    // scikit-learn's convention for a constant target: 1 if predicted perfectly, else 0.
    r2: sst > 0 ? 1 - sse / sst : sse === 0 ? 1 : 0,
    baselineRmse: Math.sqrt(sbase / n),
    rows: n,
  };
}

/**
 * Trains a model on a training-mode features frame (features + target, rows in time order). Returns the model
 * with its best weights and the metadata to save with it (see saveModel / saveToRegistry).
 */
export async function trainModel(features: pl.DataFrame, options: TrainOptions = {}): Promise<TrainResult> {
  const started = performance.now();
  const target = options.target ?? TRAIN_DEFAULTS.target;
  const validationFraction = options.validationFraction ?? TRAIN_DEFAULTS.validationFraction;
  const testFraction = options.testFraction ?? TRAIN_DEFAULTS.testFraction;
  const epochs = options.epochs ?? TRAIN_DEFAULTS.epochs;
  const batchSize = options.batchSize ?? TRAIN_DEFAULTS.batchSize;
  const patience = options.patience ?? TRAIN_DEFAULTS.patience;
  const minDelta = options.minDelta ?? TRAIN_DEFAULTS.minDelta;
  const startFromEpoch = options.startFromEpoch ?? Math.ceil((epochs * 3) / 4);
  const clip = (options.clipToTrainingRange ?? TRAIN_DEFAULTS.clipToTrainingRange) ? "range" : null;
  const hiddenUnits = [...(options.hiddenUnits ?? MODEL_DEFAULTS.hiddenUnits)];
  const learningRate = options.learningRate ?? MODEL_DEFAULTS.learningRate;
  const seed = options.seed ?? MODEL_DEFAULTS.seed;
  const members = options.members ?? MODEL_DEFAULTS.members;
  const rankInputs = options.rankInputs ?? MODEL_DEFAULTS.rankInputs;
  const finalLearningRate = options.finalLearningRate ?? learningRate / 100;
  if (!(finalLearningRate > 0 && finalLearningRate <= learningRate)) {
    throw new WindflowError(`finalLearningRate must be in (0, learningRate], got ${finalLearningRate}`);
  }
  for (const [name, value] of [
    ["epochs", epochs],
    ["batchSize", batchSize],
    ["patience", patience],
    ["startFromEpoch", startFromEpoch],
  ] as const) {
    if (!Number.isInteger(value) || value < 1)
      throw new WindflowError(`${name} must be a positive integer, got ${value}`);
  }

  checkNotGivenUp(features, "the features frame");
  const columns = features.columns;
  if (!columns.includes(target)) {
    throw new WindflowError(`the features frame has no target column ${target}`, {
      hint: "train on features prepared in training mode (prepare_features keeps Ba_avg)",
    });
  }
  const featureNames = columns.filter((c) => c !== target);
  if (featureNames.length === 0) throw new WindflowError("the features frame has no feature column");
  const rows = features.height;
  const split = splitRows(rows, { validationFraction, testFraction });
  const testStart = split.train + split.validation;

  // Frames the caller dropped before training (a notebook's intermediate steps) still hold native memory until a
  // collection runs: free them before the model's inputs are built (util/gc.ts).
  await collectGarbageSoon();

  // polars -> the model's inputs as ONE row-major Float32Array, rows x inputs (the standardised features, then
  // with rankInputs their ranks: the layers model's `features` and `ranks` side by side), built a column at a
  // time: each float64 column is read from polars, fitted on its training rows, written into its places in the
  // matrix and dropped (issue 11: all 135 float64 columns at once were 230 MB on the course file, the two
  // matrices and their shuffled copies another 700 MB). This matrix is the only copy of the data while training.
  const yColumn = numericColumns(features, [target], "target")[0] as Float64Array;
  const d = featureNames.length;
  // The test rows before the columns go (a copy of its own then: a view would keep every column's buffer alive).
  const test = options.consumeFeatures
    ? ownedCopy(features.slice(testStart, split.test))
    : features.slice(testStart, split.test);
  // With consumeFeatures, each group of columns leaves the frame once in the matrix, and is collected.
  const dropped = options.consumeFeatures
    ? async (names: readonly string[]) => {
        giveUpColumns(
          features,
          names,
          "trainModel (consumeFeatures)",
          "prepare the features again to train once more, or train without consumeFeatures to keep them",
        );
        await collectGarbageSoon();
      }
    : undefined;
  const { x, scaler, ranker } = await modelInputs(features, featureNames, split.train, {
    clip,
    quantiles: rankInputs ? (options.quantiles ?? TRAIN_DEFAULTS.quantiles) : null,
    ...(dropped ? { afterGroup: dropped } : {}),
  });
  await dropped?.([target]);
  // TensorFlow is loaded once the inputs are built: its library and the features are not in memory at once.
  const backend = await ensureBackend({
    ...(options.backend ? { prefer: options.backend } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  if (backend.backend === "wasm") speedUpWasmMatMul();
  const width = rankInputs ? 2 * d : d;
  const targetScaler = new StandardScaler({ clip }).fitColumns([target], [yColumn.subarray(0, split.train)]);
  const targetHistogram = histogram(yColumn.subarray(0, split.train));
  const y = targetScaler.transformColumns([yColumn]);
  const targetParams = targetScaler.toJSON();
  const trainMean = targetParams.mean[0] as number;
  const yScale = targetParams.scale[0] as number;
  // The validation loss is measured on what predict() returns: clamped into the target's range if asked.
  const zRange: [number, number] =
    clip === "range"
      ? [
          ((targetParams.min[0] as number) - trainMean) / yScale,
          ((targetParams.max[0] as number) - trainMean) / yScale,
        ]
      : [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];

  const l2 = options.l2 ?? MODEL_DEFAULTS.l2;
  const model = createModel(d, { hiddenUnits, learningRate, seed, l2, members, rankInputs });
  // The hand-written training step (trainer.ts): the model's layers give it their initial weights and take the
  // trained ones back. An ensemble's members are each fitted on their own error (FlatTrainer, see there).
  const trainer = new FlatTrainer(model, {
    members,
    depth: hiddenUnits.length,
    l2: members === 1 ? l2 : l2 / members,
  });
  // The early-stopping rows, then the test rows: the test rows are only read once training is over.
  const xVal = x.subarray(split.train * width, testStart * width);
  const yVal = y.subarray(split.train, testStart);
  const xTest = x.subarray(testStart * width);
  const stopper = new EarlyStopping(patience, minDelta, startFromEpoch);
  const rng = new Rng(seed, "windflow", "shuffle");
  const order = new Int32Array(split.train);
  const feed = new RowBatches(x, y, width, batchSize);
  const batches = feed.count(split.train);
  const showProgress = options.progress ?? process.stderr.isTTY === true;
  const bar: Progress | undefined = showProgress
    ? progress("training", epochs, { unit: "epochs" })
    : undefined;
  const history: EpochReport[] = [];

  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const rate = cosine(learningRate, finalLearningRate, epoch, epochs);
      // Reshuffle the training rows with the seeded generator (tfjs' own shuffle uses Math.random): an order
      // of row indices, each batch's rows copied out of the matrix (RowBatches).
      for (let i = 0; i < order.length; i++) order[i] = i;
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const a = order[i] as number;
        order[i] = order[j] as number;
        order[j] = a;
      }
      for (let b = 0; b < batches; b++) {
        feed.step(trainer, order, b, rate);
        if (bar && (b & 15) === 15) bar.update(epoch - 1 + (b + 1) / batches);
      }
      const loss = trainer.takeLoss();
      const valLoss = meanSquaredError(
        predictMatrix((t) => trainer.predict(t), xVal, width),
        yVal,
        zRange,
      );
      const { improved, stop } = stopper.update(trainer, epoch, valLoss);
      const report: EpochReport = {
        epoch,
        epochs,
        loss,
        valLoss,
        valRmse: Math.sqrt(valLoss) * yScale,
        learningRate: rate,
        best: improved,
        seconds: (performance.now() - started) / 1000,
      };
      history.push(report);
      bar?.update(epoch);
      await options.onEpoch?.(report);
      if (stop) break;
    }
    if (stopper.bestEpoch === 0) {
      throw new WindflowError("training diverged: the validation loss is NaN from the first epoch", {
        hint: "lower the learning rate, or check the features for huge values",
      });
    }
    stopper.restore(trainer);
    trainer.writeTo();
    bar?.update(history.length, history.length);
  } catch (error) {
    stopper.dispose();
    model.dispose();
    throw error;
  } finally {
    trainer.dispose();
    bar?.stop();
  }

  // Scored through the layers model, as it will predict once saved: its inputs are the matrix's two halves.
  const throughModel = (t: TF.Tensor2D) =>
    model.predict(rankInputs ? tf.split(t, [d, d], 1) : t, { batchSize: PREDICT_BATCH_SIZE }) as TF.Tensor;
  const score = (from: number, to: number, xs: Float32Array) =>
    regressionMetrics(
      yColumn.subarray(from, to),
      targetScaler.inverseTransform(predictMatrix(throughModel, xs, width)),
      trainMean,
    );
  const validationMetrics = score(split.train, testStart, xVal);
  const metrics = score(testStart, rows, xTest);

  const metadata: ModelMetadata = {
    format: METADATA_FORMAT,
    formatVersion: METADATA_FORMAT_VERSION,
    target,
    features: featureNames,
    scaler,
    targetScaler: targetScaler.toJSON(),
    ...(ranker ? { ranks: ranker } : {}),
    metrics,
    validationMetrics,
    training: {
      rows: split.train,
      validationRows: split.validation,
      validationFraction,
      testRows: split.test,
      testFraction,
      hiddenUnits,
      members,
      ...(ranker ? { quantiles: options.quantiles ?? TRAIN_DEFAULTS.quantiles } : {}),
      learningRate,
      finalLearningRate,
      batchSize,
      epochs,
      epochsRun: history.length,
      bestEpoch: stopper.bestEpoch,
      patience,
      startFromEpoch,
      seed,
      seconds: (performance.now() - started) / 1000,
      history,
    },
    backend: backend.backend,
    dataSha256: options.dataSha256 ?? null,
    targetHistogram,
    createdAt: new Date().toISOString(),
    windflowVersion: windflowVersion(),
  };
  return { model, metadata, test };
}

/** Cosine annealing from `start` (epoch 1) to `end` (epoch `epochs`). */
export function cosine(start: number, end: number, epoch: number, epochs: number): number {
  if (epochs <= 1) return start;
  const t = (epoch - 1) / (epochs - 1);
  return end + 0.5 * (start - end) * (1 + Math.cos(Math.PI * t));
}

/** tfjs optimisers read `learningRate` at every step but declare it protected: set it through a cast. */
function setLearningRate(model: TF.LayersModel, rate: number): void {
  (model.optimizer as unknown as { learningRate: number }).learningRate = rate;
}

/** MSE of `predicted` (clamped into `range`) against `actual`. */
function meanSquaredError(predicted: Float32Array, actual: Float32Array, [lo, hi]: [number, number]): number {
  let sum = 0;
  for (let i = 0; i < actual.length; i++) {
    const p = predicted[i] as number;
    const e = (p < lo ? lo : p > hi ? hi : p) - (actual[i] as number);
    sum += e * e;
  }
  return sum / actual.length;
}

/** Feature columns read from polars and turned into inputs together (see modelInputs). */
const GROUP = 16;
/** Rows of a block of the inputs while they are built (see modelInputs): 16 MB of the matrix on the course file. */
const BLOCK_ROWS = 16_384;

/**
 * The model's inputs for every row of `frame` as one row-major Float32Array of `rows x width`: the standardised
 * `names` (StandardScaler fitted on the first `trainRows` rows), then, unless `quantiles` is null, their ranks
 * (QuantileTransformer, same rows). The scalers fit each column on its own (same parameters as one fit on all the
 * columns).
 *
 * Built in two passes, so that the frame (when `afterGroup` drops its columns) and the matrix are never whole at
 * once (issue 11: a notebook kernel's peak): a row-major matrix is touched in every page by its first column, so
 * writing it from the frame's columns made it whole while the frame still was. First, GROUP columns at a time,
 * each column is read from polars as float64, fitted, and written as float32 into tiles of BLOCK_ROWS rows (the
 * group's inputs side by side), and the group is given to `afterGroup`; then, a block of rows at a time, the
 * matrix's rows are copied from the tiles, which are dropped.
 */
export async function modelInputs(
  frame: pl.DataFrame,
  names: readonly string[],
  trainRows: number,
  options: {
    clip: "range" | null;
    quantiles: number | null;
    /** Called once a group's columns are in the tiles (trainModel's consumeFeatures drops them). */
    afterGroup?: (names: readonly string[]) => Promise<void>;
  },
): Promise<{ x: Float32Array; width: number; scaler: ScalerParams; ranker: QuantileParams | null }> {
  const rows = frame.height;
  const d = names.length;
  const ranks = options.quantiles !== null;
  const width = ranks ? 2 * d : d;
  const scaler: ScalerParams = {
    type: "StandardScaler",
    columns: [...names],
    mean: [],
    scale: [],
    min: [],
    max: [],
    clip: options.clip,
  };
  const ranker: QuantileParams | null = ranks
    ? { type: "QuantileTransformer", columns: [...names], references: [] }
    : null;
  const blocks = Math.ceil(rows / BLOCK_ROWS);
  const block = (b: number): [number, number] => [b * BLOCK_ROWS, Math.min(rows, (b + 1) * BLOCK_ROWS)];
  // tiles[g][b]: group g's inputs (its standardised columns, then their ranks) for the rows of block b.
  const tiles: (Float32Array | null)[][] = [];
  for (let j0 = 0; j0 < d; j0 += GROUP) {
    const group = names.slice(j0, j0 + GROUP);
    const k = group.length;
    const columns = numericColumns(frame, group);
    // Here, on whole columns: the blocks below would name a row by its place in its block.
    for (const [j, c] of columns.entries()) assertFinite(group[j] as string, c);
    const training = columns.map((c) => c.subarray(0, trainRows));
    const fitted = new StandardScaler({ clip: options.clip }).fitColumns(group, training);
    const p = fitted.toJSON();
    scaler.mean.push(...p.mean);
    scaler.scale.push(...p.scale);
    scaler.min.push(...p.min);
    scaler.max.push(...p.max);
    const q =
      ranker && options.quantiles !== null
        ? new QuantileTransformer({ quantiles: options.quantiles }).fitColumns(group, training)
        : null;
    if (ranker && q) ranker.references.push(...q.toJSON().references);
    const stride = ranks ? 2 * k : k;
    const own: Float32Array[] = [];
    for (let b = 0; b < blocks; b++) {
      const [r0, r1] = block(b);
      const part = columns.map((c) => c.subarray(r0, r1));
      const tile = new Float32Array((r1 - r0) * stride);
      fitted.transformColumns(part, { out: tile, stride, offset: 0 });
      q?.transformColumns(part, { out: tile, stride, offset: k });
      own.push(tile);
    }
    tiles.push(own);
    await options.afterGroup?.(group);
  }
  const x = new Float32Array(rows * width);
  for (let b = 0; b < blocks; b++) {
    const [r0, r1] = block(b);
    for (const [g, own] of tiles.entries()) {
      const tile = own[b] as Float32Array;
      own[b] = null;
      const j0 = g * GROUP;
      const k = Math.min(GROUP, d - j0);
      const stride = ranks ? 2 * k : k;
      for (let r = r0; r < r1; r++) {
        const from = (r - r0) * stride;
        const to = r * width + j0;
        for (let j = 0; j < k; j++) x[to + j] = tile[from + j] as number;
        if (ranks) for (let j = 0; j < k; j++) x[to + d + j] = tile[from + k + j] as number;
      }
    }
    // The copied tiles' memory goes back at a collection; one every few blocks.
    if (b % 4 === 3) await collectGarbageSoon();
  }
  return { x, width, scaler, ranker };
}

/** `forward` applied to the rows of a row-major matrix `width` wide, PREDICT_BATCH_SIZE rows at a time. */
function predictMatrix(forward: (x: TF.Tensor2D) => TF.Tensor, x: Float32Array, width: number): Float32Array {
  const rows = x.length / width;
  const out = new Float32Array(rows);
  for (let start = 0; start < rows; start += PREDICT_BATCH_SIZE) {
    const n = Math.min(PREDICT_BATCH_SIZE, rows - start);
    const batch = tf.tidy(() =>
      forward(tf.tensor2d(x.subarray(start * width, (start + n) * width), [n, width])),
    );
    try {
      out.set(batch.dataSync() as Float32Array, start);
    } finally {
      batch.dispose();
    }
  }
  return out;
}

/**
 * The model's outputs for its inputs (row-major matrices of `d` columns, one per model input, in the model's
 * order), uploaded and predicted PREDICT_BATCH_SIZE rows at a time (see PREDICT_BATCH_SIZE for why not one big
 * tensor).
 */
export function predictRows(
  model: TF.LayersModel,
  x: Float32Array | readonly Float32Array[],
  d: number,
): Float32Array {
  const inputs = x instanceof Float32Array ? [x] : x;
  const rows = (inputs[0]?.length ?? 0) / d;
  const out = new Float32Array(rows);
  for (let start = 0; start < rows; start += PREDICT_BATCH_SIZE) {
    const n = Math.min(PREDICT_BATCH_SIZE, rows - start);
    const batch = tf.tidy(() => {
      const tensors = inputs.map((m) => tf.tensor2d(m.subarray(start * d, (start + n) * d), [n, d]));
      return model.predict(tensors.length === 1 ? (tensors[0] as TF.Tensor) : tensors, {
        batchSize: PREDICT_BATCH_SIZE,
      }) as TF.Tensor;
    });
    try {
      out.set(batch.dataSync() as Float32Array, start);
    } finally {
      batch.dispose();
    }
  }
  return out;
}

/** What `predict` needs from a model's metadata. */
export type PredictionSpec = Pick<ModelMetadata, "features" | "scaler" | "targetScaler" | "target" | "ranks">;

/**
 * Predicts the target for every row of `features`, in row order. The frame's columns must be exactly the
 * model's features, in any order (they are taken by name in the metadata's order); the target column, if
 * present (a training-mode frame), is ignored. A missing or an extra column is a WindflowError naming it.
 */
export function predict(
  model: TF.LayersModel,
  metadata: PredictionSpec,
  features: pl.DataFrame,
): Float32Array {
  checkNotGivenUp(features, "the features frame");
  const expected = new Set(metadata.features);
  const present = features.columns;
  const presentSet = new Set(present);
  const missing = metadata.features.filter((f) => !presentSet.has(f));
  const extra = present.filter((c) => !expected.has(c) && c !== metadata.target);
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      missing.length > 0
        ? `missing feature column${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`
        : "",
      extra.length > 0 ? `unexpected column${extra.length > 1 ? "s" : ""} ${extra.join(", ")}` : "",
    ].filter(Boolean);
    throw new WindflowError(`the features do not match the model: ${parts.join("; ")}`, {
      hint: "prepare the features with the same prepare_features as the training data (the model's metadata.json lists its features)",
    });
  }
  const inputSize = model.inputs[0]?.shape[1];
  if (inputSize !== metadata.features.length) {
    throw new WindflowError(
      `the model takes ${inputSize} inputs but its metadata lists ${metadata.features.length} features`,
      { hint: "the model folder mixes files of two models: train again" },
    );
  }
  const expectedInputs = metadata.ranks ? 2 : 1;
  if (model.inputs.length !== expectedInputs) {
    throw new WindflowError(
      `the model has ${model.inputs.length} inputs but its metadata describes ${expectedInputs} (${metadata.ranks ? "features and ranks" : "features"})`,
      { hint: "the model folder mixes files of two models: train again" },
    );
  }
  const rows = features.height;
  if (rows === 0) return new Float32Array(0);
  const scaler = StandardScaler.fromJSON(metadata.scaler);
  const targetScaler = StandardScaler.fromJSON(metadata.targetScaler);
  const columns = numericColumns(features, metadata.features);
  const inputs = [
    scaler.transformColumns(columns),
    ...(metadata.ranks ? [QuantileTransformer.fromJSON(metadata.ranks).transformColumns(columns)] : []),
  ];
  return targetScaler.inverseTransform(predictRows(model, inputs, metadata.features.length));
}
