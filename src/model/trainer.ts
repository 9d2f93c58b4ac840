/**
 * The training step of createModel's networks, written by hand: what `model.fit` does, in a fraction of the
 * TensorFlow.js operations. At the batch sizes that train well here (512-1024 rows), a step's arithmetic takes
 * about a millisecond and the time goes into per-operation overhead (tfjs-node: one N-API call and one
 * TensorFlow eager op each; layers' fit: the tape, the regularisers, ten Adam ops per variable, a loss read
 * back to JS after every batch). Here:
 * - all the weights of the network (every member of an ensemble) live in one flat variable, so Adam's update
 *   is a dozen ops on one vector whatever the number of layers, and its moments are two more such vectors;
 * - forward and backward passes are written out (dense layers, ReLU, mean squared error): about 5 ops per layer
 *   each way, no tape, no gradient of the input;
 * - the batch loss is summed on the backend and read once per epoch.
 * Same mathematics as `model.compile({optimizer: "adam", loss: "meanSquaredError"})` with the layers' L2
 * kernel regularisers (Adam as tfjs': beta1 0.9, beta2 0.999, epsilon 1e-7, bias corrections in the rate);
 * an ensemble is fitted as trainModel documents (each member on its own error). The weights start from and go
 * back to the layers model (`writeTo`), which is what is saved and what predicts.
 */
import type * as TF from "@tensorflow/tfjs";
import { WindflowError } from "../errors.js";
import { tf } from "./tf.js";

/** One dense layer of one member, as it sits in the flat parameter vector. */
interface DenseSlot {
  layer: TF.layers.Layer;
  inputs: number;
  units: number;
  /** Offset of the kernel (inputs x units, row-major) in the flat vector; the bias (units) follows it. */
  offset: number;
  relu: boolean;
}

export interface FlatTrainerOptions {
  /** Members of the ensemble (createModel's `members`). */
  members: number;
  /** Hidden layers per member (createModel's `hiddenUnits.length`). */
  depth: number;
  /** L2 penalty of each member's hidden kernels, as createModel gives it (`l2 / members` for an ensemble). */
  l2: number;
}

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-7;

export class FlatTrainer {
  private readonly members: DenseSlot[][];
  private readonly size: number;
  private readonly params: TF.Variable;
  private readonly m: TF.Variable;
  private readonly v: TF.Variable;
  /** 2 x L2 where a hidden kernel sits, 0 elsewhere: the penalty's gradient is `decay * params`. */
  private readonly decay: TF.Tensor | null;
  private readonly constants: {
    beta1: TF.Scalar;
    beta2: TF.Scalar;
    one1: TF.Scalar;
    one2: TF.Scalar;
    epsilon: TF.Scalar;
  };
  /** 2 / (rows x members), the derivative of the mean squared error, for the usual batch size. */
  private scale: { rows: number; value: TF.Scalar } | undefined;
  private lossSum: TF.Tensor;
  private lossRows = 0;
  private steps = 0;

  constructor(model: TF.LayersModel, options: FlatTrainerOptions) {
    const { members, depth, l2 } = options;
    const prefix = (m: number) => (members === 1 ? "" : `member_${m + 1}_`);
    let offset = 0;
    this.members = Array.from({ length: members }, (_, m) =>
      Array.from({ length: depth + 1 }, (_, i) => {
        const name = i < depth ? `${prefix(m)}hidden_${i + 1}` : `${prefix(m)}pitch`;
        const layer = model.getLayer(name);
        const [kernel] = layer.getWeights();
        if (kernel?.shape.length !== 2)
          throw new WindflowError(`FlatTrainer: layer ${name} has no dense kernel`);
        const [inputs, units] = kernel.shape as [number, number];
        const slot = { layer, inputs, units, offset, relu: i < depth };
        offset += inputs * units + units;
        return slot;
      }),
    );
    this.size = offset;
    const slots = this.members.flat();
    const initial = tf.tidy(() =>
      tf.concat(slots.flatMap((s) => s.layer.getWeights().map((w) => w.reshape([-1])))),
    );
    this.params = tf.variable(initial, true, `flat_params_${model.name}`);
    initial.dispose();
    // A variable shares its initial tensor's data: the zeros are freed, the variables keep the data.
    [this.m, this.v] = tf.tidy(() => [
      tf.variable(tf.zeros([this.size]), false),
      tf.variable(tf.zeros([this.size]), false),
    ]);
    if (l2 > 0) {
      const mask = new Float32Array(this.size);
      for (const s of slots) if (s.relu) mask.fill(2 * l2, s.offset, s.offset + s.inputs * s.units);
      this.decay = tf.tensor1d(mask);
    } else this.decay = null;
    this.constants = {
      beta1: tf.scalar(BETA1),
      beta2: tf.scalar(BETA2),
      one1: tf.scalar(1 - BETA1),
      one2: tf.scalar(1 - BETA2),
      epsilon: tf.scalar(EPSILON),
    };
    this.lossSum = tf.zeros([1, 1]);
  }

  /**
   * Every layer's kernel and bias, cut out of the flat vector by one split (inside a tidy). On tfjs-node a slice
   * or a reshape costs an op plus the upload of its shape: one split for all the pieces, a reshape per kernel.
   */
  private weights(): Map<DenseSlot, [TF.Tensor2D, TF.Tensor1D]> {
    const slots = this.members.flat();
    const pieces = tf.split(
      this.params,
      slots.flatMap((s) => [s.inputs * s.units, s.units]),
    );
    return new Map(
      slots.map((s, i) => [
        s,
        [
          (pieces[2 * i] as TF.Tensor).reshape([s.inputs, s.units]) as TF.Tensor2D,
          pieces[2 * i + 1] as TF.Tensor1D,
        ],
      ]),
    );
  }

  /** One member's forward pass; keeps every layer's output (the input first) for the backward pass. */
  private forward(
    member: DenseSlot[],
    weights: Map<DenseSlot, [TF.Tensor2D, TF.Tensor1D]>,
    x: TF.Tensor2D,
  ): TF.Tensor2D[] {
    const outputs = [x];
    for (const slot of member) {
      const [w, b] = weights.get(slot) as [TF.Tensor2D, TF.Tensor1D];
      const z = tf.add(tf.matMul(outputs.at(-1) as TF.Tensor2D, w), b) as TF.Tensor2D;
      outputs.push(slot.relu ? tf.relu(z) : z);
    }
    return outputs;
  }

  /**
   * One Adam step on a batch: `x` (rows x inputs, the model's inputs side by side) and `y` (rows x 1, the
   * standardised target). Neither is disposed.
   */
  step(x: TF.Tensor2D, y: TF.Tensor2D, learningRate: number): void {
    const rows = x.shape[0];
    const members = this.members.length;
    this.steps++;
    const t = this.steps;
    if (this.scale?.rows !== rows) {
      this.scale?.value.dispose();
      this.scale = { rows, value: tf.scalar(2 / (rows * members)) };
    }
    const scale = this.scale.value;
    tf.tidy(() => {
      const grads: TF.Tensor[] = [];
      let loss: TF.Tensor | undefined;
      const weights = this.weights();
      for (const member of this.members) {
        const outs = this.forward(member, weights, x);
        const error = tf.sub(outs.at(-1) as TF.Tensor2D, y);
        // error^T error: the sum of squares in one op (square + sum is two, plus the upload of the axis).
        const squared = tf.matMul(error, error, true, false);
        loss = loss ? tf.add(loss, squared) : squared;
        // d(mean over rows and members of error^2) / d(output)
        let delta = tf.mul(error, scale) as TF.Tensor2D;
        const memberGrads: TF.Tensor[] = [];
        for (let i = member.length - 1; i >= 0; i--) {
          const slot = member[i] as DenseSlot;
          const input = outs[i] as TF.Tensor2D;
          memberGrads.unshift(tf.matMul(input, delta, true, false).reshape([-1]), tf.sum(delta, 0));
          if (i > 0) {
            const [w] = weights.get(slot) as [TF.Tensor2D, TF.Tensor1D];
            const back = tf.matMul(delta, w, false, true);
            // ReLU's derivative: 1 where the layer's output is positive, i.e. its sign (the output is >= 0);
            // one op, where tf.step is seven on tfjs-node.
            delta = tf.mul(back, tf.sign(input)) as TF.Tensor2D;
          }
        }
        grads.push(...memberGrads);
      }
      let g = tf.concat(grads);
      if (this.decay) g = tf.add(g, tf.mul(this.decay, this.params));
      const { beta1, beta2, one1, one2, epsilon } = this.constants;
      const m = tf.add(tf.mul(this.m, beta1), tf.mul(g, one1));
      const v = tf.add(tf.mul(this.v, beta2), tf.mul(tf.square(g), one2));
      // tfjs' Adam: p -= lr / (1 - beta1^t) * m / (sqrt(v / (1 - beta2^t)) + epsilon)
      const rate = learningRate / (1 - BETA1 ** t);
      const denominator = tf.add(tf.sqrt(tf.mul(v, tf.scalar(1 / (1 - BETA2 ** t)))), epsilon);
      this.params.assign(tf.sub(this.params, tf.mul(tf.div(m, denominator), tf.scalar(rate))));
      this.m.assign(m);
      this.v.assign(v);
      const total = tf.add(this.lossSum, loss as TF.Tensor);
      this.lossSum.dispose();
      this.lossSum = tf.keep(total);
    });
    this.lossRows += rows * members;
  }

  /** Mean squared error of the batches since the last call (one read from the backend), then resets it. */
  takeLoss(): number {
    const loss = (this.lossSum.dataSync()[0] as number) / Math.max(1, this.lossRows);
    this.lossSum.dispose();
    this.lossSum = tf.zeros([1, 1]);
    this.lossRows = 0;
    return loss;
  }

  /** The averaged prediction of the members for `x` (rows x 1). */
  predict(x: TF.Tensor2D): TF.Tensor2D {
    return tf.tidy(() => {
      const weights = this.weights();
      const outs = this.members.map((member) => this.forward(member, weights, x).at(-1) as TF.Tensor2D);
      return (outs.length === 1 ? outs[0] : tf.div(tf.addN(outs), outs.length)) as TF.Tensor2D;
    });
  }

  /** A copy of the current weights (for early stopping). */
  snapshot(): TF.Tensor {
    return this.params.clone();
  }

  /** Sets the weights from a snapshot (not disposed). */
  restore(snapshot: TF.Tensor): void {
    this.params.assign(snapshot);
  }

  /** Copies the weights into the layers model (what is saved and what predicts). */
  writeTo(): void {
    // setWeights assigns the values to the layers' variables (which keep them): the pieces can go.
    tf.tidy(() => {
      for (const [slot, pair] of this.weights()) slot.layer.setWeights(pair);
    });
  }

  dispose(): void {
    tf.dispose([this.params, this.m, this.v, this.lossSum, ...Object.values(this.constants)]);
    this.scale?.value.dispose();
    this.decay?.dispose();
  }
}

/**
 * The batches of an epoch: rows copied out of one row-major matrix in a shuffled order into one reused buffer
 * (no shuffled copy of the data; copying rows of a Float32Array is 5x faster than tf.gather on wasm; one buffer
 * for every batch makes steps 12 % faster than a new one each time: less for the collector). Overwriting the
 * buffer is safe once a step is done: the step consumes the batch's tensors synchronously and they are disposed
 * (tfjs-node and wasm copy the values into the backend; the cpu backend reads them during the step only).
 */
export class RowBatches {
  private readonly xBatch: Float32Array;
  private readonly yBatch: Float32Array;

  constructor(
    private readonly x: Float32Array,
    private readonly y: Float32Array,
    private readonly width: number,
    readonly batchSize: number,
  ) {
    this.xBatch = new Float32Array(batchSize * width);
    this.yBatch = new Float32Array(batchSize);
  }

  /** How many batches cover `rows` rows (the last one may be short). */
  count(rows: number): number {
    return Math.ceil(rows / this.batchSize);
  }

  /** One step of `trainer` at learning rate `rate` on the batch `b` of the rows listed in `order`. */
  step(trainer: FlatTrainer, order: Int32Array, b: number, rate: number): void {
    const { x, y, width, batchSize } = this;
    const from = b * batchSize;
    const n = Math.min(batchSize, order.length - from);
    const xb = n === batchSize ? this.xBatch : this.xBatch.subarray(0, n * width);
    const yb = n === batchSize ? this.yBatch : this.yBatch.subarray(0, n);
    for (let i = 0; i < n; i++) {
      const r = order[from + i] as number;
      xb.set(x.subarray(r * width, r * width + width), i * width);
      yb[i] = y[r] as number;
    }
    const xs = tf.tensor2d(xb, [n, width]);
    const ys = tf.tensor2d(yb, [n, 1]);
    try {
      trainer.step(xs, ys, rate);
    } finally {
      tf.dispose([xs, ys]);
    }
  }
}
