// Drift on high-dimensional inputs and on the model's outputs. Per-feature checks miss a shift
// spread thinly over many features and multiply false alarms; the seed lecture's remedy is to test
// low-dimensional projections: here seeded random linear projections of the standardised numeric
// features (each projection tested like a numeric feature), and prediction drift (scores, class
// probabilities or predicted labels tested as features).

import { createRng } from '../ml/random';
import type { CategoricalSample } from './categorical-drift';
import { evaluateFeatureDrift, resolveDriftPolicy, type DriftPolicy, type DriftSignal, type EvaluateOptions, type NumericDriftSignal, type ResolvedDriftPolicy } from './thresholds';
import { CompensatedSum } from './special-functions';
import { assertNumericSample, type WindowRole } from './validate';

export type NumericColumns = Readonly<Record<string, Float64Array>>;

export interface ProjectionOptions {
  /** Number of random directions. */
  count: number;
  seed: number;
  /** Columns to project, in a fixed order; default: every reference column, sorted by name. */
  features?: readonly string[];
}

export interface Standardizer {
  features: string[];
  mean: Float64Array;
  /** Population std per feature; 0 for a constant reference column. */
  std: Float64Array;
}

/** Signal name of projection i. */
export function projectionName(index: number): string {
  return `projection:${index}`;
}

function columnLength(columns: NumericColumns, features: readonly string[], role: WindowRole): number {
  let rows = -1;
  for (const name of features) {
    const column = columns[name];
    if (!column) throw new Error(`drift projections: the ${role} window has no numeric column '${name}'`);
    assertNumericSample(column, name, role);
    if (rows >= 0 && column.length !== rows) {
      throw new Error(
        `drift projections: ${role} column '${name}' has ${column.length} rows but '${features[0]}' has ${rows}; ` +
          `projections need aligned rows (drop incomplete rows first, e.g. WindowAccumulator's completeRows)`,
      );
    }
    rows = column.length;
  }
  return rows;
}

/** Mean and population std of each reference column; the current window is scaled with these. */
export function fitStandardizer(reference: NumericColumns, features: readonly string[]): Standardizer {
  columnLength(reference, features, 'reference');
  const mean = new Float64Array(features.length);
  const std = new Float64Array(features.length);
  features.forEach((name, j) => {
    const column = reference[name];
    const sum = new CompensatedSum();
    for (let i = 0; i < column.length; i++) sum.add(column[i]);
    mean[j] = sum.value / column.length;
    const sq = new CompensatedSum();
    for (let i = 0; i < column.length; i++) sq.add((column[i] - mean[j]) ** 2);
    std[j] = Math.sqrt(sq.value / column.length);
  });
  return { features: [...features], mean, std };
}

/**
 * `count` directions in R^dimension with i.i.d. standard normal entries, scaled to unit length: a
 * projection of independent standardised features then has variance about 1. Deterministic in
 * (seed, dimension, count), so a reference and a current window see the same directions.
 */
export function randomDirections(dimension: number, count: number, seed: number): Float64Array[] {
  if (!Number.isInteger(dimension) || dimension < 1) throw new Error(`drift projections: need at least one numeric feature, got ${dimension}`);
  if (!Number.isInteger(count) || count < 1) throw new Error(`drift projections: count must be a positive integer, got ${count}`);
  const rng = createRng(seed);
  const directions: Float64Array[] = [];
  for (let p = 0; p < count; p++) {
    const w = new Float64Array(dimension);
    let norm = 0;
    for (let j = 0; j < dimension; j++) {
      w[j] = rng.normal();
      norm += w[j] * w[j];
    }
    norm = Math.sqrt(norm);
    for (let j = 0; j < dimension; j++) w[j] /= norm;
    directions.push(w);
  }
  return directions;
}

/**
 * Projects each row of standardised columns on each direction. A column that is constant in the
 * reference (std 0) gets weight 0: it has no scale to standardise by, and its own per-feature
 * signal (normalised Wasserstein = Infinity on any change) already reports it.
 */
export function projectColumns(columns: NumericColumns, standardizer: Standardizer, directions: readonly Float64Array[], role: WindowRole = 'current'): Float64Array[] {
  const { features, mean, std } = standardizer;
  const rows = columnLength(columns, features, role);
  const projected = directions.map(() => new Float64Array(rows));
  features.forEach((name, j) => {
    if (std[j] === 0) return;
    const column = columns[name];
    const m = mean[j];
    const s = std[j];
    for (let p = 0; p < directions.length; p++) {
      const weight = directions[p][j];
      const out = projected[p];
      for (let i = 0; i < rows; i++) out[i] += ((column[i] - m) / s) * weight;
    }
  });
  return projected;
}

/**
 * Random-projection drift: standardise both windows with the reference's mean/std, project on
 * `count` seeded directions and evaluate each projection as a numeric feature named
 * `projection:<i>` (so the policy can override it like any feature).
 */
export function projectionDriftSignals(
  reference: NumericColumns,
  current: NumericColumns,
  options: ProjectionOptions,
  policy?: DriftPolicy | ResolvedDriftPolicy,
  evaluateOptions: Omit<EvaluateOptions, 'source'> = {},
): NumericDriftSignal[] {
  const features = options.features ? [...options.features] : Object.keys(reference).sort();
  const standardizer = fitStandardizer(reference, features);
  const directions = randomDirections(features.length, options.count, options.seed);
  const refProjected = projectColumns(reference, standardizer, directions, 'reference');
  const curProjected = projectColumns(current, standardizer, directions, 'current');
  const resolved = resolveDriftPolicy(policy);
  return directions.map((_, p) =>
    evaluateFeatureDrift('numeric', refProjected[p], curProjected[p], resolved, projectionName(p), { ...evaluateOptions, source: 'projection' }),
  );
}

/** The model's outputs for one window. */
export type PredictionSample =
  /** One score per row (regression output, or P(positive) of a binary classifier). */
  | Float64Array
  /** Class probabilities, row-major rows x classes.length. */
  | { probabilities: Float64Array; classes: readonly string[] }
  /** Predicted labels (or their counts). */
  | CategoricalSample;

function isProbabilities(sample: PredictionSample): sample is { probabilities: Float64Array; classes: readonly string[] } {
  return !(sample instanceof Float64Array) && !Array.isArray(sample) && 'probabilities' in sample;
}

function probabilityColumn(sample: { probabilities: Float64Array; classes: readonly string[] }, k: number, name: string, role: WindowRole): Float64Array {
  const width = sample.classes.length;
  if (width === 0 || sample.probabilities.length % width !== 0) {
    throw new Error(`drift: ${role} '${name}' probabilities have ${sample.probabilities.length} values, not a multiple of ${width} classes`);
  }
  const rows = sample.probabilities.length / width;
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) out[i] = sample.probabilities[i * width + k];
  return out;
}

/**
 * Prediction drift: often the most useful single signal (the lecture: "measure drift on the
 * outputs of the model" for low-dimensional outputs). Scores become one numeric signal `name`;
 * class probabilities one numeric signal per class (`name:<class>`); labels one categorical signal.
 */
export function predictionDriftSignals(
  reference: PredictionSample,
  current: PredictionSample,
  policy?: DriftPolicy | ResolvedDriftPolicy,
  name = 'prediction',
  evaluateOptions: Omit<EvaluateOptions, 'source'> = {},
): DriftSignal[] {
  const resolved = resolveDriftPolicy(policy);
  const options: EvaluateOptions = { ...evaluateOptions, source: 'prediction' };
  if (reference instanceof Float64Array || current instanceof Float64Array) {
    if (!(reference instanceof Float64Array && current instanceof Float64Array)) {
      throw new Error(`drift: '${name}' must be scores (Float64Array) in both windows`);
    }
    return [evaluateFeatureDrift('numeric', reference, current, resolved, name, options)];
  }
  if (isProbabilities(reference) || isProbabilities(current)) {
    if (!(isProbabilities(reference) && isProbabilities(current))) {
      throw new Error(`drift: '${name}' must be class probabilities in both windows`);
    }
    if (reference.classes.join('\u0000') !== current.classes.join('\u0000')) {
      throw new Error(`drift: '${name}' classes differ between windows: [${reference.classes.join(', ')}] vs [${current.classes.join(', ')}]`);
    }
    return reference.classes.map((cls, k) =>
      evaluateFeatureDrift('numeric', probabilityColumn(reference, k, name, 'reference'), probabilityColumn(current, k, name, 'current'), resolved, `${name}:${cls}`, options),
    );
  }
  return [evaluateFeatureDrift('categorical', reference, current, resolved, name, options)];
}

/** Share of signals that fired; 0 for an empty list (nothing was found to drift). */
export function shareOfDriftedFeatures(signals: readonly Pick<DriftSignal, 'fired'>[]): number {
  if (signals.length === 0) return 0;
  return signals.filter((s) => s.fired).length / signals.length;
}
