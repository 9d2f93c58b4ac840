/**
 * A speed fix for training on the wasm backend. tfjs-backend-wasm 4.22 multiplies matrices fast (XNNPACK,
 * 8-11 GMAC/s here) only when neither operand is transposed; with `transposeA` or `transposeB` it falls back to a
 * plain loop at 0.3-0.7 GMAC/s. Backpropagation through a dense layer needs exactly those two products
 * (dW = x^T dy, dx = dy W^T), so without the fix a 135-128-64-1 network spends most of each epoch in them.
 *
 * The fix wraps the wasm `BatchMatMul` and `_FusedMatMul` kernels: a transposed operand is first materialised by
 * the wasm `Transpose` kernel (a memory copy, small next to the product), then the fast path runs. Same numbers
 * (same products, summed by XNNPACK), 12-30x faster products, about 4x faster epochs. Only the wasm backend is
 * touched, once per process; other backends have their own fast transposed products.
 */
import type * as TF from "@tensorflow/tfjs";
import { tf } from "./tf.js";

const WRAPPED = ["BatchMatMul", "_FusedMatMul"] as const;
const patched = new Set<string>();

/**
 * Installs the wrapper on the wasm kernels if the wasm backend is registered (idempotent). Returns whether the
 * kernels are wrapped.
 */
export function speedUpWasmMatMul(): boolean {
  const transpose = tf.getKernel("Transpose", "wasm");
  if (!transpose) return false;
  for (const name of WRAPPED) {
    if (patched.has(name)) continue;
    const original = tf.getKernel(name, "wasm");
    if (!original) return false;
    const kernelFunc: TF.KernelFunc = ({ inputs, backend, attrs }) => {
      const { transposeA, transposeB } = (attrs ?? {}) as { transposeA?: boolean; transposeB?: boolean };
      if (!transposeA && !transposeB) return original.kernelFunc({ inputs, backend, attrs });
      const made: TF.TensorInfo[] = [];
      const transposed = (x: TF.TensorInfo): TF.TensorInfo => {
        const perm = x.shape.map((_, i) => i);
        const r = perm.length;
        perm[r - 1] = r - 2;
        perm[r - 2] = r - 1;
        const y = transpose.kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as TF.TensorInfo;
        made.push(y);
        return y;
      };
      const a = inputs.a as TF.TensorInfo;
      const b = inputs.b as TF.TensorInfo;
      try {
        return original.kernelFunc({
          inputs: { ...inputs, a: transposeA ? transposed(a) : a, b: transposeB ? transposed(b) : b },
          backend,
          attrs: { ...attrs, transposeA: false, transposeB: false },
        });
      } finally {
        // Intermediate results of a kernel are freed by the kernel (the engine never sees them).
        for (const t of made) (backend as TF.KernelBackend).disposeData(t.dataId);
      }
    };
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel({ ...original, kernelFunc });
    patched.add(name);
  }
  return true;
}
