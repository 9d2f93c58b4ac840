// Child process of bench/run.ts: trains the train DAG's model (the defaults) on a training-mode features file with
// one seed (argument 3) and scores it on the last `testFraction` of the rows (argument 4), never trained on nor
// used to choose the epoch. Prints one JSON line: seconds, test and validation metrics, backend, seed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { trainModelWithIO } from "../src/pipeline/steps.js";

void (async () => {
  const [features, seed, testFraction] = [
    process.argv[2] as string,
    Number(process.argv[3]),
    Number(process.argv[4]),
  ];
  const models = mkdtempSync(join(tmpdir(), "windflow-bench-seed-"));
  const start = performance.now();
  let backend = "";
  try {
    const model = await trainModelWithIO(features, models, {
      seed,
      testFraction,
      progress: false,
      log: (line) => {
        backend = /backend: (\w+)/.exec(line)?.[1] ?? backend;
      },
    });
    process.stdout.write(
      `${JSON.stringify({
        seconds: (performance.now() - start) / 1000,
        rssMB: process.resourceUsage().maxRSS / 1024,
        seed,
        backend,
        test: model.metrics,
        validation: model.validationMetrics,
      })}\n`,
    );
  } finally {
    rmSync(models, { recursive: true, force: true });
  }
})();
