// Behavioural tests of a candidate (DMLS ch. 6): invariance to protected features, robustness to
// small input noise, and directional expectations. They only need a predict function, so they run
// the same against onnxruntime (OnnxModel.run / predictProba) or the TypeScript forward pass. Rows
// are a numeric matrix, or a frame (numeric matrix + categorical string columns) for models with
// categorical inputs: invariance tests change either kind, perturbation and directional tests
// change numeric features only.
import { createMatrix, type DatasetMatrix } from '../ml/dataset-matrix';
import { createRng } from '../ml/random';
import type { CategoryValue, TabularFrame } from '../ml/tabular/encoding';
import { behaviouralTestFieldProblems, formatValue, type BehaviouralTestSpec, type DirectionalTestSpec, type InvarianceTestSpec, type PerturbationTestSpec } from './spec';
import { quantileSorted } from './stats';

/** What the tests change: a numeric matrix, or a frame whose categorical columns hold strings. */
export type BehaviouralRows = DatasetMatrix | TabularFrame;

/**
 * One prediction per row, e.g. (m) => onnxModel.predictProba(m) for a matrix, or
 * (frame) => scoreFrame(onnxModel, frame) for a frame: it receives the kind of rows the test got.
 */
export type PredictFn<R extends BehaviouralRows = DatasetMatrix> = (rows: R) => Promise<Float32Array | Float64Array>;

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
export async function runBehaviouralTests<R extends BehaviouralRows>(tests: readonly BehaviouralTestSpec[], rows: R, predict: PredictFn<R>): Promise<BehaviouralResult[]> {
  if (tests.length === 0) return [];
  const input = framed(rows, predict);
  // Every test is checked before any is run, so a mistyped spec changes nothing and says why.
  for (const test of tests) assertFits(test, input.frame);
  const baseline = await predictChecked(input, input.frame);
  const results: BehaviouralResult[] = [];
  for (const test of tests) {
    if (test.kind === 'invariance') results.push(await invariance(test, input, baseline));
    else if (test.kind === 'perturbation') results.push(await perturbation(test, input, baseline));
    else results.push(await directional(test, input, baseline));
  }
  return results;
}

/**
 * setTo: every row's feature becomes the value. swap: each row whose value is one of the listed
 * categories gets each of the other categories in turn, and its change is the largest of those;
 * rows holding another value (or, for a categorical feature, a missing one) are not tested.
 * Numeric features take numbers, categorical features strings (spec.ts behaviouralTestProblems).
 * Passes when no tested row moves by more than epsilon (and at least one row was tested: a test
 * that tested nothing vouches for nothing).
 */
export async function runInvarianceTest<R extends BehaviouralRows>(
  test: InvarianceTestSpec,
  rows: R,
  predict: PredictFn<R>,
  baseline?: Float32Array | Float64Array,
): Promise<BehaviouralResult> {
  const input = framed(rows, predict);
  assertFits(test, input.frame);
  return invariance(test, input, baseline ?? (await predictChecked(input, input.frame)));
}

async function invariance(test: InvarianceTestSpec, input: Framed, before: Float32Array | Float64Array): Promise<BehaviouralResult> {
  const { frame } = input;
  const n = frame.numeric.rows;
  const column = readColumn(frame, test.feature);
  const change = new Float64Array(n).fill(NaN);
  if ('setTo' in test.change) {
    const value = test.change.setTo;
    const after = await predictChecked(input, withColumn(frame, test.feature, () => value));
    for (let i = 0; i < n; i++) change[i] = Math.abs(after[i] - before[i]);
  } else {
    const categories = new Set<string | number>(test.change.swap);
    for (const target of test.change.swap) {
      const touched: number[] = [];
      for (let i = 0; i < n; i++) {
        const v = column(i);
        if (v !== null && categories.has(v) && v !== target) touched.push(i);
      }
      if (touched.length === 0) continue;
      const hit = new Set(touched);
      const after = await predictChecked(input, withColumn(frame, test.feature, (i) => (hit.has(i) ? target : column(i))));
      for (const i of touched) {
        const d = Math.abs(after[i] - before[i]);
        change[i] = Number.isNaN(change[i]) ? d : Math.max(change[i], d);
      }
    }
  }
  const tested = finiteValues(change);
  const how = 'setTo' in test.change ? `set to ${formatValue(test.change.setTo)}` : `swapped among [${test.change.swap.map(formatValue).join(', ')}]`;
  if (tested.length === 0) {
    return {
      name: test.name,
      kind: 'invariance',
      passed: false,
      rowsTested: 0,
      measurements: { epsilon: test.epsilon },
      detail: `no row has "${test.feature}" in [${'swap' in test.change ? test.change.swap.map(formatValue).join(', ') : ''}]; nothing was tested`,
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
 * A feature with zero spread gets no noise. Numeric features only; by default all of them.
 */
export async function runPerturbationTest<R extends BehaviouralRows>(
  test: PerturbationTestSpec,
  rows: R,
  predict: PredictFn<R>,
  baseline?: Float32Array | Float64Array,
): Promise<BehaviouralResult> {
  const input = framed(rows, predict);
  assertFits(test, input.frame);
  return perturbation(test, input, baseline ?? (await predictChecked(input, input.frame)));
}

async function perturbation(test: PerturbationTestSpec, input: Framed, before: Float32Array | Float64Array): Promise<BehaviouralResult> {
  const matrix = input.frame.numeric;
  const features = test.features ?? matrix.featureNames;
  const columns = features.map((f) => matrix.featureNames.indexOf(f));
  const noisy = copyMatrix(matrix);
  const rng = createRng(test.seed);
  for (const j of columns) {
    const scale = test.sigma * columnStd(matrix, j);
    if (scale === 0) continue;
    for (let i = 0; i < matrix.rows; i++) noisy.data[i * matrix.cols + j] += scale * rng.normal();
  }
  const after = await predictChecked(input, { numeric: noisy, categorical: input.frame.categorical });
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
 * Raises the (numeric) feature by delta on every row; a row conforms when its prediction did not
 * move the wrong way by more than the tolerance. Passes when the conforming share reaches minFraction.
 */
export async function runDirectionalTest<R extends BehaviouralRows>(
  test: DirectionalTestSpec,
  rows: R,
  predict: PredictFn<R>,
  baseline?: Float32Array | Float64Array,
): Promise<BehaviouralResult> {
  const input = framed(rows, predict);
  assertFits(test, input.frame);
  return directional(test, input, baseline ?? (await predictChecked(input, input.frame)));
}

async function directional(test: DirectionalTestSpec, input: Framed, before: Float32Array | Float64Array): Promise<BehaviouralResult> {
  const matrix = input.frame.numeric;
  const j = matrix.featureNames.indexOf(test.feature);
  const moved = copyMatrix(matrix);
  for (let i = 0; i < matrix.rows; i++) moved.data[i * matrix.cols + j] += test.delta;
  const after = await predictChecked(input, { numeric: moved, categorical: input.frame.categorical });
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

/** The rows as a frame, and a predict function over frames that hands the caller its own kind of rows. */
interface Framed {
  frame: TabularFrame;
  predict: (frame: TabularFrame) => Promise<Float32Array | Float64Array>;
}

function framed<R extends BehaviouralRows>(rows: R, predict: PredictFn<R>): Framed {
  if ('numeric' in rows) {
    const n = rows.numeric.rows;
    for (const [name, values] of Object.entries(rows.categorical)) {
      if (values.length !== n) throw new Error(`behavioural tests: categorical column "${name}" has ${values.length} values for ${n} rows`);
    }
    return { frame: rows, predict: predict as unknown as Framed['predict'] };
  }
  const matrix: DatasetMatrix = rows;
  return { frame: { numeric: matrix, categorical: {} }, predict: (frame) => (predict as unknown as PredictFn<DatasetMatrix>)(frame.numeric) };
}

async function predictChecked(input: Framed, frame: TabularFrame): Promise<Float32Array | Float64Array> {
  const out = await input.predict(frame);
  if (out.length !== frame.numeric.rows) {
    throw new Error(`behavioural tests: predict returned ${out.length} values for ${frame.numeric.rows} rows; it must return one per row`);
  }
  return out;
}

/** Throws, naming the test, the field and the fix, when the test does not fit the rows' features (spec.ts). */
function assertFits(test: BehaviouralTestSpec, frame: TabularFrame): void {
  const problems = behaviouralTestFieldProblems(test, { numeric: frame.numeric.featureNames, categorical: Object.keys(frame.categorical) });
  if (problems.length > 0) throw new Error(`behavioural test "${test.name}": ${problems.map(([field, problem]) => `${field}: ${problem}`).join('; ')}`);
}

/** Row i's value of a numeric or categorical feature (assertFits has checked it exists). */
function readColumn(frame: TabularFrame, feature: string): (i: number) => string | number | null {
  const j = frame.numeric.featureNames.indexOf(feature);
  if (j >= 0) return (i) => frame.numeric.data[i * frame.numeric.cols + j];
  const values = frame.categorical[feature];
  return (i) => values[i];
}

/** A copy of the frame whose feature holds value(i) in row i; every other column is shared, not copied. */
function withColumn(frame: TabularFrame, feature: string, value: (i: number) => string | number | null): TabularFrame {
  const n = frame.numeric.rows;
  const j = frame.numeric.featureNames.indexOf(feature);
  if (j >= 0) {
    const numeric = copyMatrix(frame.numeric);
    for (let i = 0; i < n; i++) numeric.data[i * numeric.cols + j] = value(i) as number;
    return { numeric, categorical: frame.categorical };
  }
  const column: CategoryValue[] = Array.from({ length: n }, (_, i) => value(i) as CategoryValue);
  return { numeric: frame.numeric, categorical: { ...frame.categorical, [feature]: column } };
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
