// Child process of bench/run.ts: windflow's pipeline end to end, the way the DAGs run it (file to file):
// data CSV -> prepare_features -> features Parquet -> train_model -> model registry -> predict every row of the
// features file -> dated predictions CSV. Prints one JSON line: stage times, peak RSS, the test metrics (the last
// `testFraction` of the rows, argument 3) and the early-stopping rows' (validation), backend.
import { join } from "node:path";
import pl from "nodejs-polars";
import { prepareFeaturesWithIO } from "../src/features/prepare.js";
import { predictWithIO, trainModelWithIO } from "../src/pipeline/steps.js";

void (async () => {
  const [data, work, testFraction] = [
    process.argv[2] as string,
    process.argv[3] as string,
    Number(process.argv[4]),
  ];
  const stages: Record<string, number> = {};
  const clock = () => Number(process.hrtime.bigint()) / 1e9;
  const start = clock();
  let mark = start;
  const lap = (name: string) => {
    const t = clock();
    stages[name] = t - mark;
    mark = t;
  };
  const features = await prepareFeaturesWithIO(data, join(work, "features.parquet"), { trainingMode: true });
  lap("features");
  let backend = "";
  const model = await trainModelWithIO(features.path, join(work, "models"), {
    testFraction,
    progress: false,
    log: (line) => {
      backend = /backend: (\w+)/.exec(line)?.[1] ?? backend;
    },
  });
  lap("train");
  // Predict on the same rows, as a prediction-mode features file (the target dropped).
  pl.readParquet(features.path).drop("Ba_avg").writeParquet(join(work, "predict.parquet"));
  const predictions = await predictWithIO(
    join(work, "predict.parquet"),
    model.dir,
    join(work, "predictions"),
  );
  lap("predict");
  process.stdout.write(
    `${JSON.stringify({
      seconds: clock() - start,
      stages,
      rssMB: process.resourceUsage().maxRSS / 1024,
      rows: features.rows,
      test: model.metrics,
      validation: model.validationMetrics,
      backend,
      predictions: predictions.rows,
    })}\n`,
  );
})();
