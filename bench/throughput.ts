// Child process of bench/run.ts: what one TensorFlow.js backend (argument 2: tensorflow | wasm | cpu) does on
// this CPU, in one process so that the backend is the only one loaded.
// - ceiling: GFLOP/s of a 1024 x 1024 float32 matrix product (2 n^3 operations), the best of 5 after a warm-up:
//   what the backend's matmul kernel reaches at best on this machine;
// - training: samples/s of the `train` DAG's model (createModel's defaults: 135 features and their ranks,
//   270 -> 128 -> 64 -> 1) on random rows, batch TRAIN_DEFAULTS.batchSize, 3 epochs after a warm-up epoch, and the
//   GFLOP/s that makes (a dense layer costs 2 in x out per sample forward and twice that backward: 6 in x out);
// Prints one JSON line.
import * as tf from "@tensorflow/tfjs";
import { ensureBackend } from "../src/model/backend.js";
import { createModel, MODEL_DEFAULTS, TRAIN_DEFAULTS } from "../src/model/model.js";

void (async () => {
  const backend = process.argv[2] as "tensorflow" | "wasm" | "cpu";
  const choice = await ensureBackend({ prefer: backend, log: () => {} });
  const clock = () => Number(process.hrtime.bigint()) / 1e9;

  // 1. The matmul ceiling.
  const n = 1024;
  const a = tf.randomUniform([n, n], -1, 1, "float32", 1);
  const b = tf.randomUniform([n, n], -1, 1, "float32", 2);
  (await tf.matMul(a, b).data()).at(0);
  let bestSeconds = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    const t = clock();
    const c = tf.matMul(a, b);
    await c.data();
    bestSeconds = Math.min(bestSeconds, clock() - t);
    c.dispose();
  }
  const ceilingGflops = (2 * n ** 3) / bestSeconds / 1e9;
  tf.dispose([a, b]);

  // 2. Training throughput of the default model.
  const features = 135;
  const rows = 32_768;
  const batchSize = TRAIN_DEFAULTS.batchSize;
  const model = createModel(features);
  const inputs = model.inputs.map((_, i) => tf.randomNormal([rows, features], 0, 1, "float32", 10 + i));
  const y = tf.randomNormal([rows, 1], 0, 1, "float32", 20);
  const fit = (epochs: number) => model.fit(inputs, y, { batchSize, epochs, shuffle: true, verbose: 0 });
  await fit(1);
  const epochs = 3;
  const t = clock();
  await fit(epochs);
  const samplesPerSecond = (rows * epochs) / (clock() - t);
  const widths = [features * model.inputs.length, ...MODEL_DEFAULTS.hiddenUnits, 1];
  let macs = 0;
  for (let i = 1; i < widths.length; i++) macs += (widths[i - 1] as number) * (widths[i] as number);
  const trainingGflops = (samplesPerSecond * 6 * macs) / 1e9;
  tf.dispose([...inputs, y]);
  model.dispose();
  process.stdout.write(
    `${JSON.stringify({
      backend: choice.backend,
      ceilingGflops,
      samplesPerSecond,
      trainingGflops,
      batchSize,
      layers: widths,
      seconds: 0,
      rssMB: process.resourceUsage().maxRSS / 1024,
    })}\n`,
  );
})();
