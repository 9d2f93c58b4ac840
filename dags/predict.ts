/**
 * The predict DAG (the course's dags/predict.py): features of the latest generated records (prediction mode,
 * a dated features file), then predictions with the latest model into a dated CSV and `latest.csv`.
 * In the lab, the `predict` task is the exercise: trainees write it.
 */
import { join, resolve } from "node:path";
import { dag, predictWithIO, prepareFeaturesWithIO } from "windflow";

/** Paths in params are relative to the project folder (the parent of dags/), or absolute. */
const project = join(__dirname, "..");

export default dag(
  {
    id: "predict",
    description:
      "Predicts the pitch angle of the latest generated records: **prepare_features** (prediction mode, " +
      "`data/prepared_features_{stamp}.parquet`), then **predict** with `models/latest` into " +
      "`data/predictions/{stamp}.csv` and `latest.csv`.",
    schedule: { every: "2m" },
    startDate: "2026-01-01T00:00:00Z",
    catchup: false,
    tags: ["ml", "inference"],
    outputs: ["data/prepared_features_{stamp}.parquet", "data/predictions/{stamp}.csv"],
    params: {
      inputPath: "data/generated_data/latest.csv",
      featuresFolder: "data",
      modelPath: "models",
      predictionsFolder: "data/predictions",
    },
  },
  (d) => {
    const features = d.task("prepare_features", async (ctx) => {
      const written = await prepareFeaturesWithIO(
        resolve(project, ctx.params.inputPath),
        join(resolve(project, ctx.params.featuresFolder), `prepared_features_${ctx.stamp}.parquet`),
        { trainingMode: false },
      );
      return written.path;
    });
    // BEGIN SOLUTION Exercise 4: the predict task, after prepare_features (notebooks/04-orchestration.ipynb)
    const predict = d.task("predict", async (ctx) => {
      const written = await predictWithIO(
        ctx.xcom(features),
        resolve(project, ctx.params.modelPath),
        resolve(project, ctx.params.predictionsFolder),
        { now: ctx.logicalDate },
      );
      ctx.log(`${written.rows} predictions with ${written.model}`);
      return written.path;
    });
    features.before(predict);
    // END SOLUTION
  },
);
