// Float64 forward pass, losses and mini-batch gradients of a dense network over one flat parameter
// vector (layer 0 weights, layer 0 bias, layer 1 weights, ...), shared by training, evaluation and
// the parity tests against onnxruntime.
import type { HiddenActivation, TabularTask } from './model';

export type OutputHead = 'sigmoid' | 'softmax' | 'identity';

export function headFor(task: TabularTask): OutputHead {
  return task === 'binary_classification' ? 'sigmoid' : task === 'multiclass' ? 'softmax' : 'identity';
}

export class DenseNetwork {
  /** Offset of each layer's weights and biases in the flat parameter vector. */
  readonly weightOffsets: number[] = [];
  readonly biasOffsets: number[] = [];
  readonly paramCount: number;
  private readonly activations: Float64Array[];
  private readonly deltas: Float64Array[];

  /** sizes = [input width, hidden..., outputs]. */
  constructor(
    readonly sizes: readonly number[],
    readonly activation: HiddenActivation,
    readonly head: OutputHead,
  ) {
    if (sizes.length < 2 || sizes.some((s) => !Number.isInteger(s) || s < 1)) {
      throw new Error(`network sizes must be at least [inputs, outputs] of positive integers, got [${sizes.join(', ')}]`);
    }
    let offset = 0;
    for (let l = 0; l + 1 < sizes.length; l++) {
      this.weightOffsets.push(offset);
      offset += sizes[l] * sizes[l + 1];
      this.biasOffsets.push(offset);
      offset += sizes[l + 1];
    }
    this.paramCount = offset;
    // Scratch buffers reused for every row: training allocates nothing per step.
    this.activations = sizes.map((s) => new Float64Array(s));
    this.deltas = sizes.map((s) => new Float64Array(s));
  }

  get outputs(): number {
    return this.sizes[this.sizes.length - 1];
  }

  /** Output pre-activations (logits, or the standardised regression value) of row i of Z. */
  forwardRow(params: Float64Array, Z: Float64Array, i: number): Float64Array {
    const input = this.activations[0];
    const width = this.sizes[0];
    for (let k = 0; k < width; k++) input[k] = Z[i * width + k];
    const last = this.sizes.length - 2;
    for (let l = 0; l <= last; l++) {
      const inSize = this.sizes[l];
      const outSize = this.sizes[l + 1];
      const a = this.activations[l];
      const out = this.activations[l + 1];
      const w = this.weightOffsets[l];
      const b = this.biasOffsets[l];
      for (let o = 0; o < outSize; o++) out[o] = params[b + o];
      // Row-major [in, out] weights: the inner loop walks contiguous memory.
      for (let k = 0; k < inSize; k++) {
        const ak = a[k];
        if (ak === 0) continue; // one-hot blocks and ReLU zeros are common
        const row = w + k * outSize;
        for (let o = 0; o < outSize; o++) out[o] += ak * params[row + o];
      }
      if (l < last) {
        if (this.activation === 'relu') for (let o = 0; o < outSize; o++) out[o] = out[o] > 0 ? out[o] : 0;
        else for (let o = 0; o < outSize; o++) out[o] = Math.tanh(out[o]);
      }
    }
    return this.activations[last + 1];
  }

  /** The head's output per row: P(y = 1), class probabilities, or the standardised value. */
  predict(params: Float64Array, Z: Float64Array, rows: number): Float64Array {
    const k = this.outputs;
    const out = new Float64Array(rows * k);
    for (let i = 0; i < rows; i++) {
      const z = this.forwardRow(params, Z, i);
      if (this.head === 'sigmoid') out[i] = sigmoid(z[0]);
      else if (this.head === 'identity') out[i] = z[0];
      else softmaxInto(z, out, i * k);
    }
    return out;
  }

  /** Mean loss over all rows (no penalty term, so train and validation losses compare). */
  meanLoss(params: Float64Array, Z: Float64Array, y: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < y.length; i++) total += this.rowLoss(this.forwardRow(params, Z, i), y[i]);
    return total / y.length;
  }

  /**
   * Gradient of the mean loss over rows order[start..end) plus (l2 / 2)·||weights||² (biases are not
   * penalised), written into grad. Returns the batch's summed loss.
   */
  batchGradient(params: Float64Array, Z: Float64Array, y: ArrayLike<number>, order: Int32Array, start: number, end: number, l2: number, grad: Float64Array): number {
    grad.fill(0);
    const last = this.sizes.length - 2;
    let lossSum = 0;
    for (let r = start; r < end; r++) {
      const i = order[r];
      const z = this.forwardRow(params, Z, i);
      lossSum += this.rowLoss(z, y[i]);
      this.outputDelta(z, y[i], this.deltas[last + 1]);
      for (let l = last; l >= 0; l--) {
        const inSize = this.sizes[l];
        const outSize = this.sizes[l + 1];
        const a = this.activations[l];
        const delta = this.deltas[l + 1];
        const w = this.weightOffsets[l];
        const b = this.biasOffsets[l];
        for (let o = 0; o < outSize; o++) grad[b + o] += delta[o];
        const prev = this.deltas[l];
        for (let k = 0; k < inSize; k++) {
          const ak = a[k];
          const row = w + k * outSize;
          if (l === 0) {
            // Nothing flows back into the inputs; zero inputs (one-hot blocks) add nothing.
            if (ak !== 0) for (let o = 0; o < outSize; o++) grad[row + o] += ak * delta[o];
            continue;
          }
          let back = 0;
          for (let o = 0; o < outSize; o++) {
            grad[row + o] += ak * delta[o];
            back += params[row + o] * delta[o];
          }
          // Derivatives from the post-activation value: ReLU' = [a > 0], tanh' = 1 - a².
          prev[k] = this.activation === 'relu' ? (ak > 0 ? back : 0) : back * (1 - ak * ak);
        }
      }
    }
    const size = end - start;
    for (let l = 0; l <= last; l++) {
      const w = this.weightOffsets[l];
      const b = this.biasOffsets[l];
      for (let p = w; p < b; p++) grad[p] = grad[p] / size + l2 * params[p];
      for (let p = b; p < b + this.sizes[l + 1]; p++) grad[p] /= size;
    }
    return lossSum;
  }

  private rowLoss(z: Float64Array, label: number): number {
    if (this.head === 'sigmoid') return logLossFromLogit(z[0], label);
    if (this.head === 'identity') return (z[0] - label) * (z[0] - label);
    // Cross-entropy = logsumexp(z) - z[label], shifted by the max so exp never overflows.
    let max = -Infinity;
    for (let k = 0; k < z.length; k++) if (z[k] > max) max = z[k];
    let sum = 0;
    for (let k = 0; k < z.length; k++) sum += Math.exp(z[k] - max);
    return max + Math.log(sum) - z[label];
  }

  /** d(row loss) / d(output pre-activation). */
  private outputDelta(z: Float64Array, label: number, delta: Float64Array): void {
    if (this.head === 'sigmoid') delta[0] = sigmoid(z[0]) - label;
    else if (this.head === 'identity') delta[0] = 2 * (z[0] - label);
    else {
      softmaxInto(z, delta, 0);
      delta[label] -= 1;
    }
  }
}

/** Logistic function without overflow: exp is only taken of non-positive numbers. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** log(1 + e^z) - y z: binary cross-entropy of sigmoid(z) without overflow or log(0). */
export function logLossFromLogit(z: number, label: number): number {
  return Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - label * z;
}

function softmaxInto(z: ArrayLike<number>, out: Float64Array, offset: number): void {
  let max = -Infinity;
  for (let k = 0; k < z.length; k++) if (z[k] > max) max = z[k];
  let sum = 0;
  for (let k = 0; k < z.length; k++) {
    out[offset + k] = Math.exp(z[k] - max);
    sum += out[offset + k];
  }
  for (let k = 0; k < z.length; k++) out[offset + k] /= sum;
}
