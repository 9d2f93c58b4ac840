/**
 * The train DAG (the course's dags/train.py): prepare the training features from the data file, then train
 * a model on them. The first task hands the features file's path to the second (its return value).
 */
import { join, resolve } from "node:path";
import { dag, prepareFeaturesWithIO, trainModelWithIO } from "windflow";

/** Paths in params are relative to the project folder (the parent of dags/), or absolute. */
const project = join(__dirname, "..");

export default dag(
  {
    id: "train",
    description:
      "Trains the pitch-angle model: **prepare_features** (training mode) on the La Haute Borne data file, " +
      "then **train_model** (TensorFlow.js) into `models/{YYYYmmdd-HHMMSS}/`, `models/latest` pointing at it.",
    schedule: { every: "28d" }, // every 4 weeks
    startDate: "2026-01-01T00:00:00Z",
    catchup: false,
    // The run that turning the DAG ON creates (the latest complete interval) and the trainee's Trigger run side
    // by side, as in Airflow (16 runs at once by default): a triggered run never waits for one nobody asked for.
    // Each training uses one core (TF_NUM_INTRAOP_THREADS=1): two fit a 2-core machine; a third run waits.
    maxActiveRuns: 2,
    tags: ["ml", "training"],
    outputs: ["models/{stamp}/"],
    params: {
      dataPath: "data/la-haute-borne-data-2017-2020.csv",
      featuresPath: "data/prepared_features_train.parquet",
      modelsDir: "models",
      /** Most training epochs (early stopping may end sooner). */
      epochs: 20,
    },
  },
  (d) => {
    const features = d.task("prepare_features", async (ctx) => {
      const written = await prepareFeaturesWithIO(
        resolve(project, ctx.params.dataPath),
        resolve(project, ctx.params.featuresPath),
        { trainingMode: true },
      );
      ctx.log(`${written.rows} rows x ${written.columns.length} columns`);
      return written.path;
    });
    const train = d.task("train_model", async (ctx) => {
      const model = await trainModelWithIO(ctx.xcom(features), resolve(project, ctx.params.modelsDir), {
        now: ctx.logicalDate,
        epochs: ctx.params.epochs,
        progress: false,
        log: ctx.log,
        // One log line per epoch: the task's log shows training progress live.
        onEpoch: (e) =>
          ctx.log(
            `epoch ${e.epoch}/${e.epochs}: loss ${e.loss.toFixed(4)}, validation RMSE ${e.valRmse.toFixed(3)} deg` +
              `${e.best ? " (best)" : ""}, ${e.seconds.toFixed(0)} s`,
          ),
      });
      // The test rows (the last ones) were used neither for training nor for choosing the epoch.
      ctx.log(
        `test RMSE ${model.metrics.rmse.toFixed(3)} deg, R^2 ${model.metrics.r2.toFixed(4)} ` +
          `(${model.metrics.rows} rows never seen); validation RMSE ${model.validationMetrics.rmse.toFixed(3)} (early stopping)`,
      );
      return model.dir;
    });
    features.before(train);
  },
);
