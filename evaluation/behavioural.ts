// Behavioural tests of a candidate (DMLS ch. 6): invariance to protected features, robustness to
// small input noise, and directional expectations. They only need a predict function, so they run
// the same against onnxruntime (OnnxModel.predictProba) or the TypeScript forward pass.
import { createMatrix, type DatasetMatrix } from '../ml/dataset-matrix';
import { createRng } from '../ml/random';
import type { BehaviouralTestSpec, DirectionalTestSpec, InvarianceTestSpec, PerturbationTestSpec } from './spec';
import { quantileSorted } from './stats';

/** One prediction per row of the matrix, e.g. (m) => onnxModel.predictProba(m). */
export type PredictFn = (matrix: DatasetMatrix) => Promise<Float32Array | Float64Array>;

export interface BehaviouralResult {
  name: string;
  kind: 'invariance' | 'perturbation' | 'directional';
  passed: boolean;
  /** One sentence with the measured value and the bound, for the report card. */
  detail: string;
  rowsTested: number;
  /**
   * invariance: maxAbsChange, meanAbsChange, p99AbsChange, rowsOverEpsilon, epsilon.
   * perturbation: meanAbsChange, p99AbsChange, maxAbsChange, sigma (+ the bounds given).
   * directional: fractionPassing, minFraction, meanChange, minChange, maxChange, rowsViolating.
   */
  measurements: Record<string, number>;
}

/** Runs every test on the same rows; the unchanged rows are predicted once and shared. */
export async function runBehaviouralTests(tests: readonly BehaviouralTestSpec[], matrix: DatasetMatrix, predict: PredictFn): Promise<BehaviouralResult[]> {
  if (tests.length === 0) return [];
  const baseline = await predictChecked(predict, matrix);
  const results: BehaviouralResult[] = [];
  for (const test of tests) {
    if (test.kind === 'invariance') results.push(await runInvarianceTest(test, matrix, predict, baseline));
    else if (test.kind === 'perturbation') results.push(await runPerturbationTest(test, matrix, predict, baseline));
    else results.push(await runDirectionalTest(test, matrix, predict, baseline));
  }
  return results;
}

/**
 * setTo: every row's feature becomes the value. swap: each row whose value is one of the listed
 * categories gets each of the other categories in turn, and its change is the largest of those;
 * rows holding another value are not tested. Passes when no tested row moves by more than epsilon
 * (and at least one row was tested: a test that tested nothing vouches for nothing).
 */
export async function runInvarianceTest(
  test: InvarianceTestSpec,
  matrix: DatasetMatrix,
  predict: PredictFn,
  baseline?: Float32Array | Float64Array,
): Promise<BehaviouralResult> {
  const j = featureIndex(matrix, test.feature, test.name);
  const before = baseline ?? (await predictChecked(predict, matrix));
  const change = new Float64Array(matrix.rows).fill(NaN);
  if ('setTo' in test.change) {
    const changed = copyMatrix(matrix);
    for (let i = 0; i < matrix.rows; i++) changed.data[i * matrix.cols + j] = test.change.setTo;
    const after = await predictChecked(predict, changed);
    for (let i = 0; i < matrix.rows; i++) change[i] = Math.abs(after[i] - before[i]);
  } else {
    const categories = new Set(test.change.swap);
    for (const target of test.change.swap) {
      const changed = copyMatrix(matrix);
      const touched: number[] = [];
      for (let i = 0; i < matrix.rows; i++) {
        const v = matrix.data[i * matrix.cols + j];
        if (categories.has(v) && v !== target) {
          changed.data[i * matrix.cols + j] = target;
          touched.push(i);
        }
      }
      if (touched.length === 0) continue;
      const after = await predictChecked(predict, changed);
      for (const i of touched) {
        const d = Math.abs(after[i] - before[i]);
        change[i] = Number.isNaN(change[i]) ? d : Math.max(change[i], d);
      }
    }
  }
  const tested = finiteValues(change);
  const how = 'setTo' in test.change ? `set to ${test.change.setTo}` : `swapped among [${test.change.swap.join(', ')}]`;
  if (tested.length === 0) {
    return {
      name: test.name,
      kind: 'invariance',
      passed: false,
      rowsTested: 0,
      measurements: { epsilon: test.epsilon },
      detail: `no row has "${test.feature}" in [${'swap' in test.change ? test.change.swap.join(', ') : ''}]; nothing was tested`,
    };
  }
  const stats = absChangeStats(tested);
  const over = tested.filter((d) => d > test.epsilon).length;
  const passed = stats.max <= test.epsilon;
  return {
    name: test.name,
    kind: 'invariance',
    passed,
    rowsTested: tested.length,
    measurements: { maxAbsChange: stats.max, meanAbsChange: stats.mean, p99AbsChange: stats.p99, rowsOverEpsilon: over, epsilon: test.epsilon },
    detail:
      `"${test.feature}" ${how}: max |change| ${fmt(stats.max)} ${passed ? '<=' : '>'} epsilon ${test.epsilon}` +
      (passed ? '' : ` (${over} of ${tested.length} rows over)`),
  };
}

/**
 * Adds N(0, (sigma x std_f)^2) noise to each perturbed feature f (std over these rows, so the noise
 * is "small" in the feature's own units), seeded by test.seed, and measures how far predictions move.
 * A feature with zero spread gets no noise.
 */
export async function runPerturbationTest(
  test: PerturbationTestSpec,
  matrix: DatasetMatrix,
  predict: PredictFn,
  baseline?: Float32Array | Float64Array,
): Promise<BehaviouralResult> {
  const features = test.features ?? matrix.featureNames;
  const columns = features.map((f) => featureIndex(matrix, f, test.name));
  const before = baseline ?? (await predictChecked(predict, matrix));
  const noisy = copyMatrix(matrix);
  const rng = createRng(test.seed);
  for (const j of columns) {
    const scale = test.sigma * columnStd(matrix, j);
    if (scale === 0) continue;
    for (let i = 0; i < matrix.rows; i++) noisy.data[i * matrix.cols + j] += scale * rng.normal();
  }
  const after = await predictChecked(predict, noisy);
  const change = new Float64Array(matrix.rows);
  for (let i = 0; i < matrix.rows; i++) change[i] = Math.abs(after[i] - before[i]);
  const stats = absChangeStats(change);
  const failures: string[] = [];
  if (test.maxMeanChange !== undefined && stats.mean > test.maxMeanChange) failures.push(`mean |change| ${fmt(stats.mean)} > ${test.maxMeanChange}`);
  if (test.maxP99Change !== undefined && stats.p99 > test.maxP99Change) failures.push(`p99 |change| ${fmt(stats.p99)} > ${test.maxP99Change}`);
  const measurements: Record<string, number> = { meanAbsChange: stats.mean, p99AbsChange: stats.p99, maxAbsChange: stats.max, sigma: test.sigma };
  if (test.maxMeanChange !== undefined) measurements.maxMeanChange = test.maxMeanChange;
  if (test.maxP99Change !== undefined) measurements.maxP99Change = test.maxP99Change;
  return {
    name: test.name,
    kind: 'perturbation',
    passed: failures.length === 0,
    rowsTested: matrix.rows,
    measurements,
    detail:
      `noise ${test.sigma} x std on ${features.length} feature(s): ` +
      (failures.length === 0 ? `mean |change| ${fmt(stats.mean)}, p99 ${fmt(stats.p99)} within bounds` : failures.join('; ')),
  };
}

/**
 * Raises the feature by delta on every row; a row conforms when its prediction did not move the
 * wrong way by more than the tolerance. Passes when the conforming share reaches minFraction.
 */
export async function runDirectionalTest(
  test: DirectionalTestSpec,
  matrix: DatasetMatrix,
  predict: PredictFn,
  baseline?: Float32Array | Float64Array,
): Promise<BehaviouralResult> {
  const j = featureIndex(matrix, test.feature, test.name);
  const before = baseline ?? (await predictChecked(predict, matrix));
  const moved = copyMatrix(matrix);
  for (let i = 0; i < matrix.rows; i++) moved.data[i * matrix.cols + j] += test.delta;
  const after = await predictChecked(predict, moved);
  let conforming = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < matrix.rows; i++) {
    const d = after[i] - before[i];
    sum += d;
    min = Math.min(min, d);
    max = Math.max(max, d);
    if (test.expect === 'non_decreasing' ? d >= -test.tolerance : d <= test.tolerance) conforming++;
  }
  const fraction = matrix.rows > 0 ? conforming / matrix.rows : 0;
  const passed = matrix.rows > 0 && fraction >= test.minFraction;
  return {
    name: test.name,
    kind: 'directional',
    passed,
    rowsTested: matrix.rows,
    measurements: {
      fractionPassing: fraction,
      minFraction: test.minFraction,
      meanChange: matrix.rows > 0 ? sum / matrix.rows : 0,
      minChange: matrix.rows > 0 ? min : 0,
      maxChange: matrix.rows > 0 ? max : 0,
      rowsViolating: matrix.rows - conforming,
    },
    detail: `"${test.feature}" + ${test.delta}: ${fmt(100 * fraction, 2)}% of rows ${test.expect.replace('_', '-')} ${passed ? '>=' : '<'} ${100 * test.minFraction}% required`,
  };
}

async function predictChecked(predict: PredictFn, matrix: DatasetMatrix): Promise<Float32Array | Float64Array> {
  const out = await predict(matrix);
  if (out.length !== matrix.rows) throw new Error(`behavioural tests: predict returned ${out.length} values for ${matrix.rows} rows; it must return one per row`);
  return out;
}

function featureIndex(matrix: DatasetMatrix, feature: string, test: string): number {
  const j = matrix.featureNames.indexOf(feature);
  if (j < 0) throw new Error(`behavioural test "${test}": no feature "${feature}" in the evaluation rows (features: ${matrix.featureNames.join(', ')})`);
  return j;
}

function copyMatrix(matrix: DatasetMatrix): DatasetMatrix {
  return createMatrix(matrix.featureNames, matrix.rows, Float64Array.from(matrix.data));
}

/** Population standard deviation of column j (two-pass, so large offsets do not cancel). */
function columnStd(matrix: DatasetMatrix, j: number): number {
  if (matrix.rows === 0) return 0;
  let mean = 0;
  for (let i = 0; i < matrix.rows; i++) mean += matrix.data[i * matrix.cols + j];
  mean /= matrix.rows;
  let ss = 0;
  for (let i = 0; i < matrix.rows; i++) ss += (matrix.data[i * matrix.cols + j] - mean) ** 2;
  return Math.sqrt(ss / matrix.rows);
}

function finiteValues(values: Float64Array): Float64Array {
  return values.filter((v) => !Number.isNaN(v));
}

function absChangeStats(changes: Float64Array): { mean: number; p99: number; max: number } {
  if (changes.length === 0) return { mean: 0, p99: 0, max: 0 };
  const sorted = Float64Array.from(changes).sort();
  let sum = 0;
  for (const d of sorted) sum += d;
  return { mean: sum / sorted.length, p99: quantileSorted(sorted, 0.99), max: sorted[sorted.length - 1] };
}

function fmt(value: number, digits = 6): string {
  return Number(value.toPrecision(digits)).toString();
}
