/**
 * The model on both real backends that `make install` provides: native `tensorflow` (tfjs-node built from
 * TensorFlow's wheel, scripts/native-tf.sh) and `wasm`. Each trains, saves and loads; a model saved on one loads
 * and predicts on the other with the same numbers, to float32 rounding. The native backend must be there: this
 * is what proves that `make install` built it (NATIVE_TF=0 installs leave it out, and this file then fails,
 * saying so).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import type pl from "nodejs-polars";
import { type BackendName, ensureBackend } from "../src/model/backend.js";
import { loadModel, saveModel } from "../src/model/io.js";
import { predict, trainModel } from "../src/model/model.js";
import { tempDir } from "./helpers/csv.js";
import { syntheticFeatures } from "./helpers/model-features.js";

const tmp = tempDir("windflow-model-backends-");
after(() => tmp.cleanup());

/**
 * Largest difference allowed between the predictions of one model on two backends, in degrees. Both compute in
 * float32 but sum in different orders (libtensorflow's blocked matmul vs XNNPACK in wasm): the differences seen
 * are around 1e-5 deg on pitch angles of -1..90 deg; 1e-3 deg leaves room and still catches a wrong weight.
 */
const TOLERANCE_DEG = 1e-3;

let features: pl.DataFrame;
const predictions = new Map<BackendName, Float32Array>();

async function use(backend: BackendName): Promise<void> {
  const choice = await ensureBackend({ prefer: backend, log: () => {} });
  assert.equal(choice.backend, backend);
  assert.equal(tf.getBackend(), backend);
}

before(async () => {
  features = await syntheticFeatures({ seed: 3, days: 3 });
});

describe("the model on the native and the wasm backends", () => {
  for (const backend of ["tensorflow", "wasm"] as const) {
    test(`${backend}: trains, saves and loads back the same predictions`, async () => {
      try {
        await use(backend);
      } catch (error) {
        if (backend === "tensorflow")
          assert.fail(
            `the native backend is not installed: run \`make install\` (scripts/native-tf.sh says why it could not build it); ${(error as Error).message}`,
          );
        throw error;
      }
      const { model, metadata } = await trainModel(features, {
        hiddenUnits: [32, 16],
        epochs: 3,
        batchSize: 128,
        progress: false,
        log: () => {},
      });
      assert.equal(metadata.backend, backend);
      assert.ok(Number.isFinite(metadata.metrics.rmse));
      assert.ok(metadata.metrics.rmse < metadata.metrics.baselineRmse, "it learned something");
      const dir = await saveModel(join(tmp.dir, backend), model, metadata);
      const before = predict(model, metadata, features);
      model.dispose();
      const loaded = await loadModel(dir, { log: () => {} });
      assert.deepEqual(Array.from(predict(loaded.model, loaded.metadata, features)), Array.from(before));
      loaded.model.dispose();
      predictions.set(backend, before);
    });
  }

  test(`a model saved on one backend predicts the same on the other (within ${TOLERANCE_DEG} deg)`, async (t) => {
    for (const [from, to] of [
      ["tensorflow", "wasm"],
      ["wasm", "tensorflow"],
    ] as const) {
      const expected = predictions.get(from);
      assert.ok(expected, `the ${from} test ran first`);
      await use(to);
      const loaded = await loadModel(join(tmp.dir, from), { log: () => {} });
      const got = predict(loaded.model, loaded.metadata, features);
      loaded.model.dispose();
      let worst = 0;
      for (let i = 0; i < got.length; i++)
        worst = Math.max(worst, Math.abs((got[i] as number) - (expected[i] as number)));
      assert.equal(got.length, expected.length);
      t.diagnostic(`saved on ${from}, predicted on ${to}: off by up to ${worst.toExponential(2)} deg`);
      assert.ok(worst <= TOLERANCE_DEG, `saved on ${from}, predicted on ${to}: off by up to ${worst} deg`);
    }
  });
});
