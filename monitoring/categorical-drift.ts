// Drift statistics for one categorical feature: category frequencies, L-infinity and L1 of the
// share differences, Jensen-Shannon distance (base 2, in [0, 1]), the share of current rows in
// categories the reference never saw, PSI on category shares, and a chi-square test on the
// 2 x K contingency table (as scipy.stats.chi2_contingency with correction=False).

import { DEFAULT_PSI_EPSILON, psiFromShares } from './numeric-drift';
import { chiSquareSf, CompensatedSum } from './special-functions';
import { assertCategoricalSample, type WindowRole } from './validate';

/** Exact counts per category; what the streaming counters produce and string arrays reduce to. */
export interface CategoryCounts {
  readonly counts: ReadonlyMap<string, number>;
  /** Sum of the counts (rows). */
  readonly total: number;
}

/** A categorical sample: raw values, or their counts. */
export type CategoricalSample = readonly string[] | CategoryCounts;

export interface ChiSquareResult {
  statistic: number;
  /** (2 - 1) * (K - 1) for K categories seen in either window. */
  dof: number;
  /** 1 when dof is 0 (a single category overall), as scipy does. */
  pValue: number;
}

export interface CategoryShare {
  category: string;
  referenceShare: number;
  currentShare: number;
}

export interface CategoricalDriftStatistics {
  /** max |cur share - ref share| over categories. */
  linf: number;
  /** sum |cur share - ref share| (twice the total variation distance). */
  l1: number;
  /** Jensen-Shannon distance with log base 2: sqrt of the JS divergence in bits, in [0, 1]. */
  jsDistance: number;
  /** Share of current rows whose category never appears in the reference. */
  unseenShare: number;
  /** Up to 10 unseen categories, most frequent first. */
  unseenCategories: string[];
  chiSquare: ChiSquareResult;
  /** PSI on category shares (shares floored at epsilon). */
  psi: { value: number; epsilon: number };
  categories: number;
  /** Up to 20 categories with the largest share change, largest first. */
  topChanges: CategoryShare[];
}

/** Counts categories in a string array. */
export function categoryCounts(values: readonly string[], feature = 'value', role: WindowRole = 'reference'): CategoryCounts {
  assertCategoricalSample(values, feature, role);
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return { counts, total: values.length };
}

function isCounts(sample: CategoricalSample): sample is CategoryCounts {
  return !Array.isArray(sample);
}

/** Normalises a sample to counts, validating it (non-empty, strings, non-negative integer counts). */
export function toCategoryCounts(sample: CategoricalSample, feature: string, role: WindowRole): CategoryCounts {
  if (!isCounts(sample)) return categoryCounts(sample as readonly string[], feature, role);
  let total = 0;
  for (const [category, count] of sample.counts) {
    if (!Number.isInteger(count) || count < 0) {
      throw new Error(`drift: feature '${feature}' has count ${count} for category '${category}' in the ${role} window; counts must be non-negative integers`);
    }
    total += count;
  }
  if (total !== sample.total) {
    throw new Error(`drift: feature '${feature}' ${role} counts add up to ${total} but total says ${sample.total}`);
  }
  if (total === 0) throw new Error(`drift: feature '${feature}' has an empty ${role} sample; a window needs at least one row`);
  return sample;
}

/** The union of categories with both count vectors aligned; reference categories first, by count. */
export function alignCategories(reference: CategoryCounts, current: CategoryCounts): {
  categories: string[];
  referenceCounts: Float64Array;
  currentCounts: Float64Array;
} {
  const byCount = (counts: ReadonlyMap<string, number>) =>
    [...counts].filter(([, c]) => c > 0).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const categories = byCount(reference.counts).map(([c]) => c);
  const seen = new Set(categories);
  for (const [c] of byCount(current.counts)) if (!seen.has(c)) categories.push(c);
  return {
    categories,
    referenceCounts: Float64Array.from(categories, (c) => reference.counts.get(c) ?? 0),
    currentCounts: Float64Array.from(categories, (c) => current.counts.get(c) ?? 0),
  };
}

/** x ln(x / y) with scipy's rel_entr conventions for the zero cases used here. */
function relEntr(x: number, y: number): number {
  if (x === 0) return 0;
  return x * Math.log(x / y);
}

/** Jensen-Shannon distance between two share vectors, log base 2 (scipy's jensenshannon(p, q, base=2)). */
export function jensenShannonDistance(p: ArrayLike<number>, q: ArrayLike<number>): number {
  const left = new CompensatedSum();
  const right = new CompensatedSum();
  for (let k = 0; k < p.length; k++) {
    const m = (p[k] + q[k]) / 2;
    left.add(relEntr(p[k], m));
    right.add(relEntr(q[k], m));
  }
  const divergence = (left.value + right.value) / Math.LN2;
  // Rounding can leave a tiny negative divergence for identical inputs; clamp before the sqrt.
  return Math.sqrt(Math.max(0, divergence / 2));
}

/**
 * Pearson chi-square test of homogeneity on the 2 x K table [reference counts; current counts],
 * without Yates' correction (scipy applies it only when K = 2 and we want one rule for all K).
 * Every category has a non-zero column total by construction, so no expected count is zero.
 * The chi-square approximation is poor when expected counts are small (< 5): treat p-values from
 * tiny windows or very rare categories as rough.
 */
export function chiSquareHomogeneity(referenceCounts: ArrayLike<number>, currentCounts: ArrayLike<number>): ChiSquareResult {
  const k = referenceCounts.length;
  let refTotal = 0;
  let curTotal = 0;
  for (let i = 0; i < k; i++) {
    refTotal += referenceCounts[i];
    curTotal += currentCounts[i];
  }
  const total = refTotal + curTotal;
  const dof = k - 1;
  if (dof === 0) return { statistic: 0, dof: 0, pValue: 1 };
  const stat = new CompensatedSum();
  for (let i = 0; i < k; i++) {
    const column = referenceCounts[i] + currentCounts[i];
    const expectedRef = (refTotal * column) / total;
    const expectedCur = (curTotal * column) / total;
    stat.add((referenceCounts[i] - expectedRef) ** 2 / expectedRef);
    stat.add((currentCounts[i] - expectedCur) ** 2 / expectedCur);
  }
  const statistic = stat.value;
  return { statistic, dof, pValue: Math.min(1, Math.max(0, chiSquareSf(statistic, dof))) };
}

/** Every categorical drift statistic for one feature. */
export function categoricalDriftStatistics(
  reference: CategoricalSample,
  current: CategoricalSample,
  options: { feature?: string; psiEpsilon?: number } = {},
): CategoricalDriftStatistics {
  const feature = options.feature ?? 'value';
  const ref = toCategoryCounts(reference, feature, 'reference');
  const cur = toCategoryCounts(current, feature, 'current');
  const { categories, referenceCounts, currentCounts } = alignCategories(ref, cur);
  const p = Array.from(referenceCounts, (c) => c / ref.total);
  const q = Array.from(currentCounts, (c) => c / cur.total);
  let linf = 0;
  const l1 = new CompensatedSum();
  let unseenRows = 0;
  const unseen: Array<[string, number]> = [];
  const changes: CategoryShare[] = [];
  for (let i = 0; i < categories.length; i++) {
    const diff = Math.abs(q[i] - p[i]);
    if (diff > linf) linf = diff;
    l1.add(diff);
    if (referenceCounts[i] === 0) {
      unseenRows += currentCounts[i];
      unseen.push([categories[i], currentCounts[i]]);
    }
    changes.push({ category: categories[i], referenceShare: p[i], currentShare: q[i] });
  }
  const epsilon = options.psiEpsilon ?? DEFAULT_PSI_EPSILON;
  changes.sort((a, b) => Math.abs(b.currentShare - b.referenceShare) - Math.abs(a.currentShare - a.referenceShare));
  return {
    linf,
    l1: l1.value,
    jsDistance: jensenShannonDistance(p, q),
    unseenShare: unseenRows / cur.total,
    unseenCategories: unseen.sort((a, b) => b[1] - a[1]).slice(0, 10).map(([c]) => c),
    chiSquare: chiSquareHomogeneity(referenceCounts, currentCounts),
    psi: { value: psiFromShares(p, q, epsilon).value, epsilon },
    categories: categories.length,
    topChanges: changes.slice(0, 20),
  };
}
