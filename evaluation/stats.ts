// Small statistics helpers shared by the bootstrap, the slices and the behavioural tests:
// quantiles of sorted samples and stable per-key seeds.

/**
 * The q-quantile of an ascending array, interpolating linearly between order statistics:
 * position h = (m - 1) q, as numpy.quantile/percentile do by default ("linear"), so intervals
 * can be reproduced in Python from the same replicates.
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const m = sorted.length;
  if (m === 0) throw new Error('quantileSorted: no values');
  if (!(q >= 0 && q <= 1)) throw new Error(`quantileSorted: q must lie in [0, 1], got ${q}`);
  const h = (m - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(m - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Ascending copy of the finite values (NaN marks a replicate on which a metric was undefined). */
export function sortedFinite(values: ArrayLike<number>): Float64Array {
  let m = 0;
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) out[m++] = values[i];
  return out.subarray(0, m).sort();
}

/**
 * A seed for one named sub-computation (a slice, a behavioural test), derived from the run's
 * seed with FNV-1a: the result for slice "region=2" then does not depend on which other slices
 * were evaluated before it, so adding a slice never changes another slice's interval.
 */
export function deriveSeed(seed: number, key: string): number {
  let hash = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Turns -0 into 0 (JSON cannot carry -0, so a report card would not round-trip) and NaN into null. */
export function cleanNumber(value: number): number | null {
  if (Number.isNaN(value)) return null;
  return value === 0 ? 0 : value;
}
