// Child process of bench/run.ts: what one TensorFlow.js backend (argument 2: tensorflow | wasm | cpu) does on
// this CPU, in one process so that the backend is the only one loaded.
// - ceiling: GFLOP/s of a 1024 x 1024 float32 matrix product (2 n^3 operations), the best of 5 after a warm-up:
//   what the backend's matmul kernel reaches at best on this machine;
// - training: samples/s of the `train` DAG's model (createModel's defaults: 135 features and their ranks,
//   270 -> 64 -> 32 -> 1) on random rows, batch TRAIN_DEFAULTS.batchSize, 3 epochs after a warm-up epoch, trained
//   as trainModel does (FlatTrainer), and the GFLOP/s that makes (a dense layer costs 2 in x out per sample forward
//   and twice that backward: 6 in x out); then the same through layers' model.fit (fitSamplesPerSecond);
// Prints one JSON line.
import * as tf from "@tensorflow/tfjs";
import { ensureBackend } from "../src/model/backend.js";
import { createModel, MODEL_DEFAULTS, TRAIN_DEFAULTS } from "../src/model/model.js";
import { FlatTrainer, RowBatches } from "../src/model/trainer.js";

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

  // 2. Training throughput of the default model, the way trainModel trains it (FlatTrainer, batches copied out of
  //    one row-major matrix in a shuffled order), then through layers' model.fit (what trainModel used before
  //    issue 10), in the same process: their ratio is the gain of the hand-written step.
  const features = 135;
  const rows = 32_768;
  const batchSize = TRAIN_DEFAULTS.batchSize;
  const model = createModel(features);
  const width = features * model.inputs.length;
  const x = new Float32Array(rows * width);
  const y = new Float32Array(rows);
  let state = 1;
  const random = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
  for (let i = 0; i < x.length; i++) x[i] = random();
  for (let i = 0; i < rows; i++) y[i] = random();
  const order = Int32Array.from({ length: rows }, (_, i) => (i * 7919) % rows);
  const trainer = new FlatTrainer(model, {
    members: 1,
    depth: MODEL_DEFAULTS.hiddenUnits.length,
    l2: MODEL_DEFAULTS.l2,
  });
  const feed = new RowBatches(x, y, width, batchSize);
  const epoch = () => {
    for (let b = 0; b < feed.count(rows); b++) feed.step(trainer, order, b, 1e-3);
    trainer.takeLoss();
  };
  epoch();
  const epochs = 3;
  let t = clock();
  for (let e = 0; e < epochs; e++) epoch();
  const samplesPerSecond = (rows * epochs) / (clock() - t);
  trainer.dispose();
  const inputs = model.inputs.map((_, i) => tf.randomNormal([rows, features], 0, 1, "float32", 10 + i));
  const ys = tf.randomNormal([rows, 1], 0, 1, "float32", 20);
  const fit = (n: number) => model.fit(inputs, ys, { batchSize, epochs: n, shuffle: true, verbose: 0 });
  await fit(1);
  t = clock();
  await fit(epochs);
  const fitSamplesPerSecond = (rows * epochs) / (clock() - t);
  const widths = [width, ...MODEL_DEFAULTS.hiddenUnits, 1];
  let macs = 0;
  for (let i = 1; i < widths.length; i++) macs += (widths[i - 1] as number) * (widths[i] as number);
  const trainingGflops = (samplesPerSecond * 6 * macs) / 1e9;
  tf.dispose([...inputs, ys]);
  model.dispose();
  process.stdout.write(
    `${JSON.stringify({
      backend: choice.backend,
      ceilingGflops,
      samplesPerSecond,
      fitSamplesPerSecond,
      trainingGflops,
      batchSize,
      layers: widths,
      seconds: 0,
      rssMB: process.resourceUsage().maxRSS / 1024,
    })}\n`,
  );
})();
