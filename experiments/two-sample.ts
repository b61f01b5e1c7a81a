// Fixed-horizon two-sample tests for online experiments: the two-proportion z-test (conversion-like
// metrics), Welch's t-test (per-request losses) and the paired t-test (shadow: both models on the
// same requests). Differences are always treatment minus control.
import { normalQuantile, normalSf } from './normal';
import type { Alternative } from './sample-size';
import { studentTSf } from './special';

/** n, mean and the unbiased (n - 1) variance of a sample. */
export interface SampleSummary {
  n: number;
  mean: number;
  variance: number;
}

export interface ProportionSample {
  n: number;
  successes: number;
}

export interface TestResult {
  test: 'two-proportion-z' | 'welch-t' | 'paired-t';
  /** treatment − control (or the mean paired difference). */
  estimate: number;
  standardError: number;
  statistic: number;
  pValue: number;
  alternative: Alternative;
  /** Two-sided (1 − alpha) interval for the estimate; alpha defaults to 0.05. */
  confidenceInterval: [number, number];
  df?: number;
}

/** Summary from running sums (what SQL aggregates return): variance = (Σx² − (Σx)²/n) / (n − 1). */
export function summaryFromSums(n: number, sum: number, sumOfSquares: number): SampleSummary {
  if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`summaryFromSums: n must be a non-negative integer, got ${n}`);
  if (n === 0) return { n, mean: NaN, variance: NaN };
  const mean = sum / n;
  // Clamp: rounding can make a constant sample's variance a tiny negative number.
  const variance = n > 1 ? Math.max(0, (sumOfSquares - sum * mean) / (n - 1)) : NaN;
  return { n, mean, variance };
}

/** Summary of raw values by Welford's update (no cancellation for large means). */
export function summarize(values: ArrayLike<number>): SampleSummary {
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < values.length; i++) {
    const delta = values[i] - mean;
    mean += delta / (i + 1);
    m2 += delta * (values[i] - mean);
  }
  const n = values.length;
  return { n, mean: n ? mean : NaN, variance: n > 1 ? m2 / (n - 1) : NaN };
}

function pFromZ(z: number, alternative: Alternative): number {
  if (alternative === 'greater') return normalSf(z);
  if (alternative === 'less') return normalSf(-z);
  return Math.min(1, 2 * normalSf(Math.abs(z)));
}

function pFromT(t: number, df: number, alternative: Alternative): number {
  if (alternative === 'greater') return studentTSf(t, df);
  if (alternative === 'less') return studentTSf(-t, df);
  return Math.min(1, 2 * studentTSf(Math.abs(t), df));
}

function checkProportion(sample: ProportionSample, arm: string): void {
  if (!(Number.isInteger(sample.n) && sample.n > 0)) throw new RangeError(`two-proportion test: ${arm} n must be a positive integer, got ${sample.n}`);
  if (!(Number.isInteger(sample.successes) && sample.successes >= 0 && sample.successes <= sample.n)) {
    throw new RangeError(`two-proportion test: ${arm} successes must be an integer in [0, n=${sample.n}], got ${sample.successes}`);
  }
}

/**
 * Pooled two-proportion z-test (the square of z is Pearson's chi-square on the 2x2 table without
 * continuity correction). The interval uses the unpooled standard error (Wald).
 */
export function twoProportionZTest(control: ProportionSample, treatment: ProportionSample, alternative: Alternative = 'two-sided', alpha = 0.05): TestResult {
  checkProportion(control, 'control');
  checkProportion(treatment, 'treatment');
  const p1 = control.successes / control.n;
  const p2 = treatment.successes / treatment.n;
  const pooled = (control.successes + treatment.successes) / (control.n + treatment.n);
  const pooledSe = Math.sqrt(pooled * (1 - pooled) * (1 / control.n + 1 / treatment.n));
  const estimate = p2 - p1;
  // Both arms all-success or all-failure: no evidence of any difference.
  const statistic = pooledSe > 0 ? estimate / pooledSe : 0;
  const se = Math.sqrt((p1 * (1 - p1)) / control.n + (p2 * (1 - p2)) / treatment.n);
  const half = normalQuantile(1 - alpha / 2) * se;
  return { test: 'two-proportion-z', estimate, standardError: se, statistic, pValue: pFromZ(statistic, alternative), alternative, confidenceInterval: [estimate - half, estimate + half] };
}

function checkSummary(sample: SampleSummary, arm: string, context: string): void {
  if (!(sample.n >= 2)) throw new RangeError(`${context}: ${arm} needs at least 2 observations, got ${sample.n}`);
  if (!(sample.variance >= 0) || !Number.isFinite(sample.mean)) throw new RangeError(`${context}: ${arm} mean/variance must be finite (got mean ${sample.mean}, variance ${sample.variance})`);
}

/** Welch's unequal-variance t-test with Welch–Satterthwaite degrees of freedom. */
export function welchTTest(control: SampleSummary, treatment: SampleSummary, alternative: Alternative = 'two-sided', alpha = 0.05): TestResult {
  checkSummary(control, 'control', 'welchTTest');
  checkSummary(treatment, 'treatment', 'welchTTest');
  const v1 = control.variance / control.n;
  const v2 = treatment.variance / treatment.n;
  const se = Math.sqrt(v1 + v2);
  const estimate = treatment.mean - control.mean;
  if (se === 0) {
    const statistic = estimate === 0 ? 0 : Math.sign(estimate) * Infinity;
    const pValue = estimate === 0 ? 1 : pFromZ(statistic, alternative);
    return { test: 'welch-t', estimate, standardError: 0, statistic, pValue, alternative, confidenceInterval: [estimate, estimate], df: control.n + treatment.n - 2 };
  }
  const df = ((v1 + v2) * (v1 + v2)) / ((v1 * v1) / (control.n - 1) + (v2 * v2) / (treatment.n - 1));
  const statistic = estimate / se;
  const half = tQuantile(1 - alpha / 2, df) * se;
  return { test: 'welch-t', estimate, standardError: se, statistic, pValue: pFromT(statistic, df, alternative), alternative, confidenceInterval: [estimate - half, estimate + half], df };
}

/** Paired t-test on per-request differences (treatment − control on the same request). */
export function pairedTTest(differences: SampleSummary, alternative: Alternative = 'two-sided', alpha = 0.05): TestResult {
  checkSummary(differences, 'differences', 'pairedTTest');
  const se = Math.sqrt(differences.variance / differences.n);
  const df = differences.n - 1;
  const estimate = differences.mean;
  if (se === 0) {
    const statistic = estimate === 0 ? 0 : Math.sign(estimate) * Infinity;
    return { test: 'paired-t', estimate, standardError: 0, statistic, pValue: estimate === 0 ? 1 : pFromZ(statistic, alternative), alternative, confidenceInterval: [estimate, estimate], df };
  }
  const statistic = estimate / se;
  const half = tQuantile(1 - alpha / 2, df) * se;
  return { test: 'paired-t', estimate, standardError: se, statistic, pValue: pFromT(statistic, df, alternative), alternative, confidenceInterval: [estimate - half, estimate + half], df };
}

/** t quantile by bisection on the survival function (intervals only; p-values never need it). */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`tQuantile: p must be in (0, 1), got ${p}`);
  if (df > 1e7) return normalQuantile(p);
  if (p < 0.5) return -tQuantile(1 - p, df);
  let lo = 0;
  let hi = Math.max(1, normalQuantile(p) * 2);
  while (studentTSf(hi, df) > 1 - p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentTSf(mid, df) > 1 - p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
