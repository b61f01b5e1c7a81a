// Per-feature mean/std for input standardisation, kept as mergeable Welford moments so statistics
// can later be updated from new data windows without re-reading old ones.
import { assertFiniteMatrix, assertMatrixShape, type DatasetMatrix } from './dataset-matrix';

/** Welford running moments of one feature: m2 is the sum of squared deviations from mean. */
export interface FeatureMoments {
  count: number;
  mean: number;
  m2: number;
}

export interface Standardization {
  mean: number[];
  std: number[];
}

/**
 * Smallest std used as-is. Below it the std is replaced by 1 (see standardizationFromMoments).
 * It is float32's smallest normal number because the ONNX graph divides in float32: a smaller std
 * would round to 0 or a subnormal there and turn finite inputs into Infinity/NaN.
 */
export const MIN_STD = 1.1754943508222875e-38;

export function emptyMoments(cols: number): FeatureMoments[] {
  return Array.from({ length: cols }, () => ({ count: 0, mean: 0, m2: 0 }));
}

/**
 * Folds the rows of X into the moments (returns new objects; the input is not mutated).
 * Welford's update avoids the catastrophic cancellation of sum(x^2) - n*mean^2 for features
 * with a large offset (timestamps, ids) relative to their spread.
 */
export function accumulateMoments(moments: readonly FeatureMoments[], X: DatasetMatrix): FeatureMoments[] {
  assertMatrixShape(X);
  assertFiniteMatrix(X);
  if (moments.length !== X.cols) {
    throw new Error(`accumulateMoments: ${moments.length} feature moments but X has ${X.cols} columns`);
  }
  const { rows, cols, data } = X;
  const out = moments.map((m) => ({ ...m }));
  for (let j = 0; j < cols; j++) {
    const acc = out[j];
    let { count, mean, m2 } = acc;
    for (let i = 0; i < rows; i++) {
      const x = data[i * cols + j];
      count += 1;
      const delta = x - mean;
      mean += delta / count;
      m2 += delta * (x - mean);
    }
    acc.count = count;
    acc.mean = mean;
    acc.m2 = m2;
  }
  return out;
}

/** Combines moments of two disjoint samples (Chan et al.), equal to accumulating both in one pass. */
export function mergeMoments(a: readonly FeatureMoments[], b: readonly FeatureMoments[]): FeatureMoments[] {
  if (a.length !== b.length) throw new Error(`mergeMoments: ${a.length} features vs ${b.length} features`);
  return a.map((left, j) => {
    const right = b[j];
    const count = left.count + right.count;
    if (count === 0) return { count: 0, mean: 0, m2: 0 };
    const delta = right.mean - left.mean;
    return {
      count,
      mean: left.mean + (delta * right.count) / count,
      m2: left.m2 + right.m2 + (delta * delta * left.count * right.count) / count,
    };
  });
}

export function computeMoments(X: DatasetMatrix): FeatureMoments[] {
  return accumulateMoments(emptyMoments(X.cols), X);
}

/**
 * Population std (divide by n, as scikit-learn's StandardScaler does): it only has to put features
 * on a common scale, and it stays defined for a single row.
 *
 * A std of 0 (a constant feature, or a single row) becomes 1. Dividing by 0 would produce
 * NaN/Infinity in both the TypeScript forward pass and the ONNX graph. With 1 the centred value is
 * exactly 0 for every training row, so the feature gets no gradient and contributes nothing, which
 * is the right answer for a feature that carried no information; and if the feature later starts
 * to vary, predictions stay finite instead of exploding.
 */
export function standardizationFromMoments(moments: readonly FeatureMoments[]): Standardization {
  const mean: number[] = [];
  const std: number[] = [];
  moments.forEach((m, j) => {
    if (m.count <= 0) throw new Error(`standardizationFromMoments: feature ${j} has no observations`);
    const s = Math.sqrt(Math.max(m.m2, 0) / m.count);
    mean.push(m.mean);
    std.push(Number.isFinite(s) && s >= MIN_STD ? s : 1);
  });
  return { mean, std };
}

export function fitStandardizer(X: DatasetMatrix): Standardization {
  if (X.rows === 0) throw new Error('fitStandardizer: X has 0 rows; need at least one row to compute mean and std');
  return standardizationFromMoments(computeMoments(X));
}

/** (x - mean) / std for every element, row-major like the input. */
export function standardizeMatrix(X: DatasetMatrix, s: Standardization): Float64Array {
  const { rows, cols, data } = X;
  if (s.mean.length !== cols || s.std.length !== cols) {
    throw new Error(`standardizeMatrix: standardizer has ${s.mean.length} features but X has ${cols} columns`);
  }
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let j = 0; j < cols; j++) out[base + j] = (data[base + j] - s.mean[j]) / s.std[j];
  }
  return out;
}
