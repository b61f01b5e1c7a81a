// Slice-based evaluation: metrics per value of chosen categorical features and per declared cohort
// (a named predicate), with row counts and, against a champion, paired intervals per slice, so a
// candidate that wins on average but loses on a critical subgroup is visible and can be gated.
import type { DatasetMatrix } from '../ml/dataset-matrix';
import { computeMetrics, type MetricName, type MetricOptions, type MetricValues, type Task } from '../ml/metrics';
import { pairedBootstrap, type ConfidenceInterval } from './bootstrap';
import type { CohortCondition, CohortSpec } from './spec';
import { deriveSeed } from './stats';

/** One value per evaluation row; categorical values may be numeric codes or strings. */

/**
 * The evaluation spec's slices do not fit the data (a slice feature with too many values): a spec
 * problem the user must fix, so the evaluate activity turns it into a non-retryable InvalidSpec.
 */
export class SliceSpecError extends Error {
  override name = 'SliceSpecError';
}

export type ColumnValues = ArrayLike<number> | ReadonlyArray<string | number>;
export type SliceColumns = Readonly<Record<string, ColumnValues>>;

export interface SliceDefinition {
  /** "region=2" for a feature value, "cohort:young" for a cohort. */
  key: string;
  kind: 'feature_value' | 'cohort';
  feature?: string;
  value?: string | number;
  cohort?: string;
  /** Row indices into the evaluation rows, ascending. */
  rows: Int32Array;
}

export interface SliceResult {
  key: string;
  kind: 'feature_value' | 'cohort';
  feature?: string;
  value?: string | number;
  cohort?: string;
  rows: number;
  /** Positive labels in the slice (binary classification only). */
  positives?: number;
  /** False when the slice is too small (rows < minRows) to be gated. */
  gated: boolean;
  /** Why the slice is not gated, or which bounded metrics were undefined on it. */
  note?: string;
  candidate: MetricValues;
  champion?: MetricValues;
  /** Paired interval of candidate - champion per bounded metric (gated slices with a champion only). */
  differences?: Partial<Record<MetricName, ConfidenceInterval>>;
}

export interface SliceEvaluationInput {
  task: Task;
  labels: ArrayLike<number>;
  candidate: ArrayLike<number>;
  champion?: ArrayLike<number>;
  columns: SliceColumns;
  features?: readonly string[];
  cohorts?: readonly CohortSpec[];
  minRows?: number;
  maxDistinctValues?: number;
  /** Metrics to compare with paired bootstrap intervals on each gated slice (the slice bounds). */
  comparedMetrics?: readonly MetricName[];
  metricOptions?: MetricOptions;
  bootstrap?: { resamples?: number; confidence?: number; seed?: number };
}

export const DEFAULT_MIN_SLICE_ROWS = 50;
export const DEFAULT_MAX_DISTINCT_VALUES = 50;

/** Named columns of a matrix, for slicing by model features. */
export function columnsFromMatrix(matrix: DatasetMatrix, names: readonly string[] = matrix.featureNames): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  for (const name of names) {
    const j = matrix.featureNames.indexOf(name);
    if (j < 0) throw new Error(`columnsFromMatrix: no feature "${name}" in the matrix (features: ${matrix.featureNames.join(', ')})`);
    const column = new Float64Array(matrix.rows);
    for (let i = 0; i < matrix.rows; i++) column[i] = matrix.data[i * matrix.cols + j];
    out[name] = column;
  }
  return out;
}

/** The slices (row sets) of each feature's values, in ascending value order, then of each cohort. */
export function defineSlices(
  columns: SliceColumns,
  rowCount: number,
  features: readonly string[] = [],
  cohorts: readonly CohortSpec[] = [],
  maxDistinctValues = DEFAULT_MAX_DISTINCT_VALUES,
): SliceDefinition[] {
  const slices: SliceDefinition[] = [];
  for (const feature of features) {
    const column = getColumn(columns, feature, rowCount, 'slices.features');
    const groups = new Map<string | number, number[]>();
    for (let i = 0; i < rowCount; i++) {
      const value = column[i];
      if (typeof value === 'number' && Number.isNaN(value)) continue; // a missing value is no category
      let rows = groups.get(value);
      if (!rows) {
        if (groups.size >= maxDistinctValues) {
          throw new SliceSpecError(
            `slices.features: "${feature}" has more than ${maxDistinctValues} distinct values; slice a continuous ` +
              'feature with cohorts (e.g. { feature, op: ">=", value }) or raise slices.maxDistinctValues',
          );
        }
        rows = [];
        groups.set(value, rows);
      }
      rows.push(i);
    }
    const values = [...groups.keys()].sort(compareValues);
    for (const value of values) {
      slices.push({ key: `${feature}=${value}`, kind: 'feature_value', feature, value, rows: Int32Array.from(groups.get(value) ?? []) });
    }
  }
  for (const cohort of cohorts) {
    const conditions = Array.isArray(cohort.where) ? cohort.where : [cohort.where];
    const tests = conditions.map((c) => conditionTest(c, getColumn(columns, c.feature, rowCount, `slices.cohorts.${cohort.name}`)));
    const rows: number[] = [];
    for (let i = 0; i < rowCount; i++) if (tests.every((test) => test(i))) rows.push(i);
    slices.push({ key: `cohort:${cohort.name}`, kind: 'cohort', cohort: cohort.name, rows: Int32Array.from(rows) });
  }
  return slices;
}

/**
 * Metrics of every slice for the candidate (and champion). Slices with at least minRows rows are
 * gated; for those, with a champion, each compared metric gets a paired bootstrap interval of
 * candidate - champion on the slice's own rows (seeded per slice key, so adding a slice does not
 * change the others). Empty slices are reported with null metrics.
 */
export function evaluateSlices(input: SliceEvaluationInput): SliceResult[] {
  const { task, labels, candidate, champion, columns } = input;
  const n = labels.length;
  if (candidate.length !== n) throw new Error(`evaluateSlices: ${n} labels but ${candidate.length} candidate predictions`);
  if (champion && champion.length !== n) throw new Error(`evaluateSlices: ${n} labels but ${champion.length} champion predictions`);
  const minRows = input.minRows ?? DEFAULT_MIN_SLICE_ROWS;
  const compared = input.comparedMetrics ?? [];
  const slices = defineSlices(columns, n, input.features, input.cohorts, input.maxDistinctValues);
  return slices.map((slice) => {
    const rows = slice.rows;
    const result: SliceResult = {
      key: slice.key,
      kind: slice.kind,
      ...(slice.feature !== undefined ? { feature: slice.feature, value: slice.value } : {}),
      ...(slice.cohort !== undefined ? { cohort: slice.cohort } : {}),
      rows: rows.length,
      gated: rows.length >= minRows,
      candidate: {},
    };
    if (rows.length === 0) {
      result.note = 'empty slice: no evaluation rows match';
      return result;
    }
    const y = pick(labels, rows);
    const c = pick(candidate, rows);
    const h = champion ? pick(champion, rows) : undefined;
    if (task === 'binary_classification') result.positives = y.reduce((s, v) => s + v, 0);
    result.candidate = computeMetrics(task, y, c, input.metricOptions);
    if (h) result.champion = computeMetrics(task, y, h, input.metricOptions);
    if (!result.gated) {
      result.note = `${rows.length} rows < minRows ${minRows}: reported, not gated`;
      return result;
    }
    const undefinedMetrics = compared.filter((m) => result.candidate[m] === null || (h && result.champion?.[m] === null));
    if (undefinedMetrics.length > 0) result.note = `${undefinedMetrics.join(', ')} undefined on this slice (one class only): not gated on it`;
    const definedMetrics = compared.filter((m) => !undefinedMetrics.includes(m));
    if (h && definedMetrics.length > 0) {
      const seed = deriveSeed(input.bootstrap?.seed ?? 0, slice.key);
      const paired = pairedBootstrap(y, c, h, definedMetrics, { ...input.bootstrap, seed, metricOptions: input.metricOptions });
      result.differences = {};
      for (const m of definedMetrics) result.differences[m] = paired[m].difference;
    }
    return result;
  });
}

function getColumn(columns: SliceColumns, feature: string, rowCount: number, field: string): ColumnValues {
  const column = columns[feature];
  if (!column) {
    throw new Error(`${field}: no column "${feature}" was supplied for slicing (columns: ${Object.keys(columns).join(', ') || 'none'}); pass it in the slice columns`);
  }
  if (column.length !== rowCount) throw new Error(`${field}: column "${feature}" has ${column.length} values but there are ${rowCount} evaluation rows`);
  return column;
}

function conditionTest(condition: CohortCondition, column: ColumnValues): (i: number) => boolean {
  const { op, value } = condition;
  switch (op) {
    case 'in': {
      const set = new Set<string | number>(Array.isArray(value) ? value : [value]);
      return (i) => set.has(column[i]);
    }
    case '==':
      return (i) => column[i] === value;
    case '<':
      return (i) => (column[i] as number) < (value as number);
    case '<=':
      return (i) => (column[i] as number) <= (value as number);
    case '>':
      return (i) => (column[i] as number) > (value as number);
    case '>=':
      return (i) => (column[i] as number) >= (value as number);
  }
}

function pick(values: ArrayLike<number>, rows: Int32Array): Float64Array {
  const out = new Float64Array(rows.length);
  for (let k = 0; k < rows.length; k++) out[k] = values[rows[k]];
  return out;
}

function compareValues(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}
