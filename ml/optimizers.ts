// Gradient-step rules over one flat parameter vector, so every built-in trainer (logistic,
// softmax, MLP) shares the same SGD and Adam code.

export type OptimizerKind = 'sgd' | 'adam';

export interface Optimizer {
  /** Updates params in place from the gradient of the objective (already including any penalty). */
  step(params: Float64Array, grad: Float64Array): void;
  /** A JSON-safe copy of the internal state, so a checkpoint can continue exactly where this stopped. */
  state(): OptimizerState;
}

/** Optimizer state as stored in checkpoints (plain arrays: JSON round-trips doubles exactly). */
export type OptimizerState = { kind: 'sgd' } | { kind: 'adam'; t: number; m: number[]; v: number[] };

export interface AdamSettings {
  beta1: number;
  beta2: number;
  epsilon: number;
}

// The defaults of Kingma & Ba, which PyTorch and Keras also use, so results are comparable.
export const ADAM_DEFAULTS: AdamSettings = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

/**
 * `initial` restores a saved state (resume or warm start); it must be of the same kind and size,
 * because Adam's moments are per parameter.
 */
export function createOptimizer(
  kind: OptimizerKind,
  learningRate: number,
  size: number,
  adam: AdamSettings = ADAM_DEFAULTS,
  initial?: OptimizerState,
): Optimizer {
  if (initial && initial.kind !== kind) {
    throw new Error(`optimizer state is for "${initial.kind}" but the optimizer is "${kind}"; start without the saved state`);
  }
  if (kind === 'sgd') {
    return {
      step(params, grad) {
        for (let k = 0; k < size; k++) params[k] -= learningRate * grad[k];
      },
      state: () => ({ kind: 'sgd' }),
    };
  }
  if (kind === 'adam') {
    const m = new Float64Array(size);
    const v = new Float64Array(size);
    const { beta1, beta2, epsilon } = adam;
    let t = 0;
    if (initial?.kind === 'adam') {
      if (initial.m.length !== size || initial.v.length !== size) {
        throw new Error(`Adam state has ${initial.m.length} moments but the model has ${size} parameters; start without the saved state`);
      }
      m.set(initial.m);
      v.set(initial.v);
      t = initial.t;
    }
    return {
      state: () => ({ kind: 'adam', t, m: Array.from(m), v: Array.from(v) }),
      step(params, grad) {
        t += 1;
        // Bias correction matters in the first steps, when m and v are still near their zero start.
        const c1 = 1 - Math.pow(beta1, t);
        const c2 = 1 - Math.pow(beta2, t);
        for (let k = 0; k < size; k++) {
          const g = grad[k];
          m[k] = beta1 * m[k] + (1 - beta1) * g;
          v[k] = beta2 * v[k] + (1 - beta2) * g * g;
          params[k] -= (learningRate * (m[k] / c1)) / (Math.sqrt(v[k] / c2) + epsilon);
        }
      },
    };
  }
  throw new Error(`unknown optimizer "${String(kind)}"; use 'sgd' or 'adam'`);
}
