// The data-validation gate's checks, pure: schema and types, missing values, numeric ranges and
// quantiles against a reference profile, unseen categories, row count against earlier datasets, and
// label-rate bounds. Each check returns a message naming the feature, the numbers and the threshold,
// so a failed run says exactly what is wrong with its data. Validation catches broken data (unit
// changes, empty joins, a dead upstream); ordinary drift is what retraining is for, so the defaults
// are deliberately loose.
import type { ValidationSpec } from '../spec/data-spec';
import type { FeatureLayout } from '../spec/feature-layout';
import type { DataProfile } from './profile';
import type { ValueProblem } from './staged-window';

export interface CheckResult {
  name: 'schema' | 'null_rate' | 'numeric_range' | 'unseen_categories' | 'row_count' | 'label_rate';
  passed: boolean;
  skipped: boolean;
  message: string;
  details: Record<string, unknown>;
}

export interface ValidationInput {
  task: string;
  layout: FeatureLayout;
  /** Profile of the staged window (every pulled row). */
  current: DataProfile;
  typeViolations: Record<string, ValueProblem>;
  invalidLabels: ValueProblem | null;
  /** Columns the staged file lacks (only possible for staging written elsewhere). */
  missingColumns?: string[];
  /** Days the window spans, to compare row counts of windows of different lengths. */
  windowDays: number;
  /** The reference profile (champion's training data); null when there is none. */
  reference: DataProfile | null;
  /** Rows per window-day of the model's earlier datasets, newest first. */
  historyRowsPerDay: number[];
  thresholds: ValidationSpec;
}

// Small shares keep two significant digits so 0.05% is not printed as 0.1% next to a 0.1% threshold.
const pct = (x: number) => {
  const v = x * 100;
  return `${v !== 0 && Math.abs(v) < 1 ? Number(v.toPrecision(2)) : v.toFixed(1)}%`;
};
const num = (x: number) => (Math.abs(x) >= 1000 || (Math.abs(x) < 0.01 && x !== 0) ? x.toPrecision(4) : x.toFixed(3).replace(/\.?0+$/, ''));

function result(name: CheckResult['name'], failures: string[], details: Record<string, unknown>, okMessage: string): CheckResult {
  return failures.length
    ? { name, passed: false, skipped: false, message: `${name}: ${failures.join('; ')}`, details }
    : { name, passed: true, skipped: false, message: `${name}: ${okMessage}`, details };
}

function skipped(name: CheckResult['name'], why: string): CheckResult {
  return { name, passed: true, skipped: true, message: `${name}: skipped (${why})`, details: {} };
}

export function checkSchema(input: ValidationInput): CheckResult {
  const failures: string[] = [];
  for (const column of input.missingColumns ?? []) failures.push(`column "${column}" is missing from the window`);
  for (const [feature, problem] of Object.entries(input.typeViolations)) {
    const expected = input.layout.categorical.includes(feature) ? 'a string' : 'a finite number';
    failures.push(`feature "${feature}" has ${problem.count} value(s) of the wrong type, expected ${expected} (first: row ${problem.firstRow} = ${problem.example})`);
  }
  if (input.invalidLabels) {
    const expected = input.task === 'binary_classification' ? '0 or 1' : 'a finite number';
    failures.push(`${input.invalidLabels.count} label(s) are not ${expected} (first: row ${input.invalidLabels.firstRow} = ${input.invalidLabels.example})`);
  }
  return result('schema', failures, { typeViolations: input.typeViolations, invalidLabels: input.invalidLabels }, 'every feature and label has the declared type');
}

export function checkNullRates(input: ValidationInput): CheckResult {
  const max = input.thresholds.maxNullRate;
  const rates: Record<string, number> = {};
  const failures: string[] = [];
  const rows = input.current.rows;
  const missing = (name: string) => input.current.numeric[name]?.nulls ?? input.current.categorical[name]?.nulls ?? 0;
  for (const name of [...input.layout.numeric, ...input.layout.categorical]) {
    // Type violations were stored as missing; the schema check reports them, so they are not double-counted here.
    const nulls = missing(name) - (input.typeViolations[name]?.count ?? 0);
    rates[name] = rows ? nulls / rows : 0;
    if (rates[name] > max) failures.push(`feature "${name}" is missing in ${pct(rates[name])} of rows (${nulls} of ${rows}), above data.validation.maxNullRate ${pct(max)}`);
  }
  return result('null_rate', failures, { rates, max }, `every feature is missing in at most ${pct(max)} of rows`);
}

export function checkNumericRanges(input: ValidationInput): CheckResult {
  const { reference } = input;
  if (!reference) return skipped('numeric_range', 'no reference snapshot');
  const { maxOutOfRangeShare, maxQuantileShift } = input.thresholds;
  const failures: string[] = [];
  const details: Record<string, unknown> = {};
  for (const name of input.layout.numeric) {
    const cur = input.current.numeric[name];
    const ref = reference.numeric[name];
    if (!cur || !ref || ref.count === 0 || cur.count === 0 || ref.min === null || ref.max === null) continue;
    // Share outside the reference range: counted exactly when the profile was built with that range,
    // else estimated from the quantile grid.
    const outside = cur.outsideRange !== undefined ? cur.outsideRange / cur.count : shareOutside(cur, ref.min, ref.max);
    // Scale of the reference: its IQR, else its standard deviation, else 1 (a constant feature).
    const iqr = (ref.quantiles.p75 ?? 0) - (ref.quantiles.p25 ?? 0);
    const scale = iqr > 0 ? iqr : ref.std && ref.std > 0 ? ref.std : 1;
    let worst = { q: 'p50', shift: 0, from: 0, to: 0 };
    for (const q of ['p5', 'p50', 'p95']) {
      const a = ref.quantiles[q];
      const b = cur.quantiles[q];
      if (a === undefined || b === undefined) continue;
      const shift = Math.abs(b - a) / scale;
      if (shift > worst.shift) worst = { q, shift, from: a, to: b };
    }
    details[name] = { outOfRangeShare: outside, referenceRange: [ref.min, ref.max], worstQuantileShift: worst };
    if (outside > maxOutOfRangeShare) {
      failures.push(`feature "${name}" has ${pct(outside)} of values outside the reference range [${num(ref.min)}, ${num(ref.max)}] (max ${pct(maxOutOfRangeShare)})`);
    }
    if (worst.shift > maxQuantileShift) {
      failures.push(`feature "${name}" ${worst.q} moved ${num(worst.shift)} reference IQRs (${num(worst.from)} → ${num(worst.to)}; max ${num(maxQuantileShift)})`);
    }
  }
  return result('numeric_range', failures, details, 'numeric features stay within the reference ranges and quantiles');
}

/** Share of a profiled feature's values outside [lo, hi], from its quantile grid (exact at the grid, linear between). */
function shareOutside(profile: DataProfile['numeric'][string], lo: number, hi: number): number {
  if (profile.min === null || profile.max === null) return 0;
  if (profile.min >= lo && profile.max <= hi) return 0;
  const grid: [number, number][] = [[0, profile.min], ...Object.entries(profile.quantiles).map(([k, v]) => [Number(k.slice(1)) / 100, v] as [number, number]), [1, profile.max]];
  grid.sort((a, b) => a[0] - b[0]);
  const cdf = (x: number) => {
    if (x <= grid[0][1]) return 0;
    for (let i = 1; i < grid.length; i++) {
      const [p1, x1] = grid[i];
      const [p0, x0] = grid[i - 1];
      if (x <= x1) return x1 === x0 ? p1 : p0 + ((p1 - p0) * (x - x0)) / (x1 - x0);
    }
    return 1;
  };
  return Math.max(0, cdf(lo)) + Math.max(0, 1 - cdf(hi));
}

export function checkUnseenCategories(input: ValidationInput): CheckResult {
  const { reference } = input;
  if (!reference) return skipped('unseen_categories', 'no reference snapshot');
  const max = input.thresholds.maxUnseenCategoryShare;
  const failures: string[] = [];
  const details: Record<string, unknown> = {};
  for (const name of input.layout.categorical) {
    const cur = input.current.categorical[name];
    const ref = reference.categorical[name];
    if (!cur || !ref || ref.truncated || cur.count === 0) continue;
    const unseen = Object.entries(cur.values).filter(([value]) => !(value in ref.values));
    const share = unseen.reduce((sum, [, n]) => sum + n, 0) / cur.count;
    details[name] = { share, unseen: unseen.slice(0, 10).map(([value, n]) => ({ value, rows: n })) };
    if (share > max) {
      const examples = unseen.slice(0, 3).map(([value]) => JSON.stringify(value)).join(', ');
      failures.push(`feature "${name}" has ${pct(share)} of rows with values the reference never saw (e.g. ${examples}), above data.validation.maxUnseenCategoryShare ${pct(max)}`);
    }
  }
  return result('unseen_categories', failures, details, `new category values stay under ${pct(max)} of rows`);
}

export function checkRowCount(input: ValidationInput): CheckResult {
  const history = input.historyRowsPerDay.slice(0, input.thresholds.rowCountHistory);
  if (history.length === 0) return skipped('row_count', 'no earlier datasets of this model');
  const sorted = [...history].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  const perDay = input.current.rows / Math.max(input.windowDays, 1e-9);
  const ratio = median > 0 ? perDay / median : Number.POSITIVE_INFINITY;
  const { minRowCountRatio: lo, maxRowCountRatio: hi } = input.thresholds;
  const details = { rows: input.current.rows, rowsPerDay: perDay, medianRowsPerDay: median, ratio, history };
  const text = `${num(perDay)} rows/day (${input.current.rows} rows over ${num(input.windowDays)} days) is ${pct(ratio)} of the median ${num(median)} rows/day of the last ${history.length} dataset(s)`;
  const failures = ratio < lo || ratio > hi ? [`${text}, outside the allowed ${pct(lo)}–${pct(hi)} (data.validation.minRowCountRatio / maxRowCountRatio)`] : [];
  return result('row_count', failures, details, text);
}

export function checkLabelRate(input: ValidationInput): CheckResult {
  if (input.task !== 'binary_classification') return skipped('label_rate', `not a binary task (label mean ${input.current.label.mean === null ? '-' : num(input.current.label.mean)})`);
  const rate = input.current.label.positiveRate;
  if (rate === null) return skipped('label_rate', 'no valid labels');
  const { minLabelRate: lo, maxLabelRate: hi } = input.thresholds;
  const failures: string[] = [];
  if (rate < lo) failures.push(`positive rate ${pct(rate)} is below data.validation.minLabelRate ${pct(lo)}`);
  if (rate > hi) failures.push(`positive rate ${pct(rate)} is above data.validation.maxLabelRate ${pct(hi)}`);
  const ref = input.reference?.label.positiveRate;
  return result('label_rate', failures, { rate, reference: ref ?? null, bounds: [lo, hi] }, `positive rate ${pct(rate)} within ${pct(lo)}–${pct(hi)}${ref === undefined || ref === null ? '' : ` (reference ${pct(ref)})`}`);
}

export function runValidationChecks(input: ValidationInput): CheckResult[] {
  return [checkSchema, checkNullRates, checkNumericRanges, checkUnseenCategories, checkRowCount, checkLabelRate].map((check) => check(input));
}
