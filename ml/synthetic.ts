// Seeded synthetic binary-classification data with known true weights, for tests, demos and
// benchmarks where the right answer must be known in advance.
import { createMatrix, type DatasetMatrix } from './dataset-matrix';
import { createRng } from './random';

export interface SyntheticLogisticSpec {
  rows: number;
  /** True weights on standardised features; their count sets the number of features. */
  weights: readonly number[];
  intercept?: number;
  /** Per-feature mean and scale of the raw features (default 0 and 1), to exercise standardisation. */
  offsets?: readonly number[];
  scales?: readonly number[];
  seed: number;
}

export interface SyntheticDataset {
  X: DatasetMatrix;
  y: Float64Array;
  /** The true P(y = 1 | x) each label was drawn from. */
  probabilities: Float64Array;
}

/** x_j = offset_j + scale_j * N(0, 1); y ~ Bernoulli(sigmoid(intercept + sum_j w_j * N_j)). */
export function syntheticLogisticData(spec: SyntheticLogisticSpec): SyntheticDataset {
  const f = spec.weights.length;
  const rng = createRng(spec.seed);
  const X = createMatrix(Array.from({ length: f }, (_, j) => `x${j}`), spec.rows);
  const y = new Float64Array(spec.rows);
  const probabilities = new Float64Array(spec.rows);
  for (let i = 0; i < spec.rows; i++) {
    let z = spec.intercept ?? 0;
    for (let j = 0; j < f; j++) {
      const u = rng.normal();
      z += spec.weights[j] * u;
      X.data[i * f + j] = (spec.offsets?.[j] ?? 0) + (spec.scales?.[j] ?? 1) * u;
    }
    probabilities[i] = 1 / (1 + Math.exp(-z));
    y[i] = rng.next() < probabilities[i] ? 1 : 0;
  }
  return { X, y, probabilities };
}
