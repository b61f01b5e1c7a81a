// Drift statistics for one numeric feature, reference window vs current window: two-sample
// Kolmogorov-Smirnov (statistic and p-value, as scipy.stats.ks_2samp), Wasserstein-1 (as
// scipy.stats.wasserstein_distance) and its reference-std-normalised form, and PSI on
// reference-quantile bins. Pure functions over Float64Array; inputs are never mutated.

import { kolmogorovSf } from './kolmogorov';
import { exactKsFeasible, exactKsPValue } from './ks-exact';
import { CompensatedSum, roundHalfEven } from './special-functions';
import { assertNumericSample, sortedCopy } from './validate';

/**
 * 'auto' is scipy's default: exact when both samples have at most 10,000 rows, else asymptotic.
 * The exact p-value costs O(n) for equal sizes but up to O(n1 n2 D) for unequal ones (about a
 * second at 10,000 x 9,999 rows with D near 1); forcing 'exact' on larger samples can be slow.
 */
export type KsMethod = 'auto' | 'exact' | 'asymp';

/** scipy.stats.ks_2samp's MAX_AUTO_N. */
export const KS_AUTO_EXACT_MAX_N = 10_000;

export interface KsResult {
  /** sup |F_ref - F_cur| over all observed values. */
  statistic: number;
  /** Two-sided p-value under H0 "same continuous distribution". */
  pValue: number;
  /** The method actually used (an 'exact' request falls back to 'asymp' when lcm(n1, n2) >= 2^31). */
  method: 'exact' | 'asymp';
}

export interface PsiResult {
  value: number;
  /** Interior bin edges (reference quantiles); bin i is (edges[i-1], edges[i]], the outer bins are open. */
  edges: number[];
  referenceShares: number[];
  currentShares: number[];
  /** Per-bin terms (cur - ref) * ln(cur / ref) after the epsilon floor; they sum to `value`. */
  contributions: number[];
  epsilon: number;
}

export interface NumericDriftStatistics {
  ks: KsResult;
  wasserstein: number;
  /** wasserstein / referenceStd; 0 when both are 0, +Infinity when only the std is 0. */
  normalizedWasserstein: number;
  referenceStd: number;
  referenceMean: number;
  currentMean: number;
  psi: PsiResult;
}

export interface NumericDriftOptions {
  /** Used in error messages. */
  feature?: string;
  ksMethod?: KsMethod;
  psiBins?: number;
  psiEpsilon?: number;
}

/** Default number of PSI bins (deciles of the reference). */
export const DEFAULT_PSI_BINS = 10;
/**
 * Share floor for PSI. An empty bin would make ln(cur/ref) infinite; flooring both shares at 1e-4
 * (0.01% of rows) keeps PSI finite while an emptied decile still scores about
 * (1e-4 - 0.1) * ln(1e-4 / 0.1) = 0.69, far above the 0.25 "significant" band.
 */
export const DEFAULT_PSI_EPSILON = 1e-4;

interface SortedPassResult {
  ksStatistic: number;
  wasserstein: number;
}

/**
 * One merged walk over both sorted samples. After all values <= x are consumed, the ECDFs are
 * i/n1 and j/n2; KS takes the largest gap at any observed x (computed as i/n1 - j/n2 exactly as
 * scipy does, so D is bit-identical) and W1 integrates |F1 - F2| between consecutive values.
 */
function sortedPass(a: Float64Array, b: Float64Array): SortedPassResult {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let maxDiff = 0;
  let minDiff = 0;
  const area = new CompensatedSum();
  let x = a[0] < b[0] ? a[0] : b[0];
  while (i < n1 || j < n2) {
    while (i < n1 && a[i] <= x) i++;
    while (j < n2 && b[j] <= x) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxDiff) maxDiff = diff;
    if (diff < minDiff) minDiff = diff;
    const next = i < n1 ? (j < n2 && b[j] < a[i] ? b[j] : a[i]) : j < n2 ? b[j] : x;
    if (next !== x) area.add(Math.abs(diff) * (next - x));
    x = next;
  }
  const minS = Math.min(Math.max(-minDiff, 0), 1);
  return { ksStatistic: minS > maxDiff ? minS : maxDiff, wasserstein: area.value };
}

/** p-value for a KS statistic d between samples of sizes n1 and n2. */
export function ksPValue(n1: number, n2: number, d: number, method: KsMethod = 'auto'): { pValue: number; method: 'exact' | 'asymp' } {
  let use: 'exact' | 'asymp' = method === 'auto' ? (Math.max(n1, n2) <= KS_AUTO_EXACT_MAX_N ? 'exact' : 'asymp') : method;
  if (use === 'exact' && !exactKsFeasible(n1, n2)) use = 'asymp';
  if (use === 'exact') return { pValue: exactKsPValue(n1, n2, d).pValue, method: 'exact' };
  // Smirnov's asymptotics as scipy applies them: the one-sample distribution of D_en with
  // en = round(n1 n2 / (n1 + n2)). scipy returns NaN when en rounds to 0 (n1 = n2 = 1); we use 1.
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const en = Math.max(1, roundHalfEven((m * n) / (m + n)));
  const p = kolmogorovSf(en, d);
  return { pValue: Math.min(1, Math.max(0, p)), method: 'asymp' };
}

/** Two-sample Kolmogorov-Smirnov test (two-sided), matching scipy.stats.ks_2samp. */
export function ksTwoSample(reference: Float64Array, current: Float64Array, options: { method?: KsMethod; feature?: string } = {}): KsResult {
  const feature = options.feature ?? 'value';
  assertNumericSample(reference, feature, 'reference');
  assertNumericSample(current, feature, 'current');
  const { ksStatistic } = sortedPass(sortedCopy(reference), sortedCopy(current));
  const p = ksPValue(reference.length, current.length, ksStatistic, options.method ?? 'auto');
  return { statistic: ksStatistic, pValue: p.pValue, method: p.method };
}

/** Exact Wasserstein-1 distance between the two empirical distributions (scipy's wasserstein_distance). */
export function wassersteinDistance(reference: Float64Array, current: Float64Array, feature = 'value'): number {
  assertNumericSample(reference, feature, 'reference');
  assertNumericSample(current, feature, 'current');
  return sortedPass(sortedCopy(reference), sortedCopy(current)).wasserstein;
}

function meanOf(values: ArrayLike<number>): number {
  const acc = new CompensatedSum();
  for (let i = 0; i < values.length; i++) acc.add(values[i]);
  return acc.value / values.length;
}

/** Population standard deviation (divides by n, like numpy's default ddof=0), two-pass. */
export function populationStd(values: ArrayLike<number>): number {
  if (values.length === 0) throw new Error('populationStd: empty sample');
  const mean = meanOf(values);
  const acc = new CompensatedSum();
  for (let i = 0; i < values.length; i++) acc.add((values[i] - mean) ** 2);
  return Math.sqrt(acc.value / values.length);
}

/**
 * W1 divided by the reference's population std, so one threshold (0.1 = a tenth of a standard
 * deviation of mass moved) works for features on any scale. A constant reference has std 0: the
 * ratio is 0 when nothing moved and +Infinity otherwise, on purpose: a feature that never varied
 * and now does is a change worth a look (and JSON renders Infinity as null, so report it as text).
 */
export function normalizeWasserstein(distance: number, referenceStd: number): number {
  if (referenceStd > 0) return distance / referenceStd;
  return distance === 0 ? 0 : Infinity;
}

/**
 * Interior bin edges at reference quantiles. Edges are observed reference values (the inverse
 * ECDF at i/bins: sorted[ceil(i n / bins) - 1]), deduplicated, and strictly below the reference
 * maximum, with right-closed bins: so every bin holds at least one reference row even when the
 * reference is heavily tied (interpolated quantiles would create empty reference bins there).
 * A constant reference gets no edges, hence one bin and PSI 0.
 */
export function psiEdges(sortedReference: Float64Array, bins: number): number[] {
  if (!Number.isInteger(bins) || bins < 2) throw new Error(`psi: bins must be an integer >= 2, got ${bins}`);
  const n = sortedReference.length;
  const max = sortedReference[n - 1];
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const edge = sortedReference[Math.ceil((i * n) / bins) - 1];
    if (edge < max && (edges.length === 0 || edge > edges[edges.length - 1])) edges.push(edge);
  }
  return edges;
}

function binCounts(sorted: Float64Array, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  let bin = 0;
  for (let i = 0; i < sorted.length; i++) {
    while (bin < edges.length && sorted[i] > edges[bin]) bin++;
    counts[bin] += 1;
  }
  return counts;
}

/** PSI = sum (cur - ref) ln(cur / ref) over aligned shares, each floored at epsilon first. */
export function psiFromShares(referenceShares: readonly number[], currentShares: readonly number[], epsilon = DEFAULT_PSI_EPSILON): {
  value: number;
  contributions: number[];
} {
  if (referenceShares.length !== currentShares.length) {
    throw new Error(`psi: ${referenceShares.length} reference shares vs ${currentShares.length} current shares`);
  }
  if (!(epsilon > 0 && epsilon < 1)) throw new Error(`psi: epsilon must be in (0, 1), got ${epsilon}`);
  const total = new CompensatedSum();
  const contributions = referenceShares.map((r, k) => {
    const ref = Math.max(r, epsilon);
    const cur = Math.max(currentShares[k], epsilon);
    const term = (cur - ref) * Math.log(cur / ref);
    total.add(term);
    return term;
  });
  return { value: total.value, contributions };
}

function psiSorted(sortedRef: Float64Array, sortedCur: Float64Array, bins: number, epsilon: number): PsiResult {
  const edges = psiEdges(sortedRef, bins);
  const referenceShares = binCounts(sortedRef, edges).map((c) => c / sortedRef.length);
  const currentShares = binCounts(sortedCur, edges).map((c) => c / sortedCur.length);
  const { value, contributions } = psiFromShares(referenceShares, currentShares, epsilon);
  return { value, edges, referenceShares, currentShares, contributions, epsilon };
}

/** Population Stability Index on reference-quantile bins (see psiEdges and DEFAULT_PSI_EPSILON). */
export function psi(reference: Float64Array, current: Float64Array, options: { bins?: number; epsilon?: number; feature?: string } = {}): PsiResult {
  const feature = options.feature ?? 'value';
  assertNumericSample(reference, feature, 'reference');
  assertNumericSample(current, feature, 'current');
  return psiSorted(sortedCopy(reference), sortedCopy(current), options.bins ?? DEFAULT_PSI_BINS, options.epsilon ?? DEFAULT_PSI_EPSILON);
}

/** Every numeric drift statistic from one sort of each sample. */
export function numericDriftStatistics(reference: Float64Array, current: Float64Array, options: NumericDriftOptions = {}): NumericDriftStatistics {
  const feature = options.feature ?? 'value';
  assertNumericSample(reference, feature, 'reference');
  assertNumericSample(current, feature, 'current');
  const sortedRef = sortedCopy(reference);
  const sortedCur = sortedCopy(current);
  const pass = sortedPass(sortedRef, sortedCur);
  const ks = ksPValue(reference.length, current.length, pass.ksStatistic, options.ksMethod ?? 'auto');
  const referenceStd = populationStd(reference);
  return {
    ks: { statistic: pass.ksStatistic, pValue: ks.pValue, method: ks.method },
    wasserstein: pass.wasserstein,
    normalizedWasserstein: normalizeWasserstein(pass.wasserstein, referenceStd),
    referenceStd,
    referenceMean: meanOf(reference),
    currentMean: meanOf(current),
    psi: psiSorted(sortedRef, sortedCur, options.psiBins ?? DEFAULT_PSI_BINS, options.psiEpsilon ?? DEFAULT_PSI_EPSILON),
  };
}
