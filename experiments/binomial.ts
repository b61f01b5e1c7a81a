// The exact binomial test, used as the sign test of interleaving preferences (wins of A vs wins
// of B, ties left out). Matches scipy.stats.binomtest's two-sided p-value.
import { logGamma } from '../monitoring/special-functions';

export function binomialLogPmf(k: number, n: number, p: number): number {
  if (p === 0) return k === 0 ? 0 : -Infinity;
  if (p === 1) return k === n ? 0 : -Infinity;
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log1p(-p);
}

export type BinomialAlternative = 'two-sided' | 'greater' | 'less';

/**
 * P-value of k successes in n trials under success probability p. Two-sided sums the probability
 * of every outcome no more likely than k (with scipy's 1 + 1e-7 relative tolerance for ties).
 */
export function binomialTest(k: number, n: number, p = 0.5, alternative: BinomialAlternative = 'two-sided'): number {
  if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`binomialTest: n must be a non-negative integer, got ${n}`);
  if (!(Number.isInteger(k) && k >= 0 && k <= n)) throw new RangeError(`binomialTest: k must be an integer in [0, n], got ${k}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`binomialTest: p must be in [0, 1], got ${p}`);
  if (n === 0) return 1;
  const pmf = (i: number) => Math.exp(binomialLogPmf(i, n, p));
  let total = 0;
  if (alternative === 'greater') {
    for (let i = k; i <= n; i++) total += pmf(i);
  } else if (alternative === 'less') {
    for (let i = 0; i <= k; i++) total += pmf(i);
  } else {
    const observed = pmf(k) * (1 + 1e-7);
    for (let i = 0; i <= n; i++) {
      const value = pmf(i);
      if (value <= observed) total += value;
    }
  }
  return Math.min(1, total);
}
