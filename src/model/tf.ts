/**
 * TensorFlow.js, loaded on first use. `import * as tf from "@tensorflow/tfjs"` costs 0.3-1.4 s (more on a busy
 * machine) and every process that imports `windflow` paid it at start: a DAG file's task that only prepares
 * features, the DAG processor parsing `dags/*.ts`, `windflow doctor`. Here `tf` is the same namespace, required
 * the first time one of its members is read (`tf.tidy`, `tf.Tensor`, ...); types come from the `TF` type-only
 * import in each file (`TF.Tensor2D`). Loading it twice is impossible: Node caches the module, and the backends
 * (`tfjs-node-native`, wasm) register into that one tfjs-core whenever they are loaded.
 */
import type * as TF from "@tensorflow/tfjs";

let loaded: typeof TF | undefined;

/** The `@tensorflow/tfjs` module (loads it if this is the first use). */
export function tfjs(): typeof TF {
  loaded ??= require("@tensorflow/tfjs") as typeof TF;
  return loaded;
}

export const tf: typeof TF = new Proxy({} as typeof TF, {
  get: (_target, key) => Reflect.get(tfjs(), key),
  has: (_target, key) => key in tfjs(),
  ownKeys: () => Reflect.ownKeys(tfjs()),
  getOwnPropertyDescriptor: (_target, key) => {
    const d = Reflect.getOwnPropertyDescriptor(tfjs(), key);
    return d && { ...d, configurable: true };
  },
});
