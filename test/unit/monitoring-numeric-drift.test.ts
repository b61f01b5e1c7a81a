// Numeric drift statistics on cases worked out by hand (PSI arithmetic in the comments, small
// Wasserstein and KS examples), plus the input checks that name the offending feature.
import { describe, expect, it } from 'vitest';
import {
  ksTwoSample,
  normalizeWasserstein,
  numericDriftStatistics,
  populationStd,
  psi,
  psiEdges,
  wassersteinDistance,
} from '../../monitoring/numeric-drift';

const f = (...values: number[]) => Float64Array.from(values);

describe('psi', () => {
  it('matches a hand computation on reference-quantile bins', () => {
    // Reference 1..10, 4 bins. Edge i is sorted[ceil(i*10/4) - 1]: i=1 -> sorted[2] = 3,
    // i=2 -> sorted[4] = 5, i=3 -> sorted[7] = 8. Bins (-inf,3], (3,5], (5,8], (8,inf):
    //   reference {1,2,3} {4,5} {6,7,8} {9,10}      -> shares 0.3 0.2 0.3 0.2
    //   current   {2,2,2,2} {4} {6} {9,9,9,11}      -> shares 0.4 0.1 0.1 0.4
    // PSI = (0.4-0.3) ln(0.4/0.3) + (0.1-0.2) ln(0.1/0.2) + (0.1-0.3) ln(0.1/0.3) + (0.4-0.2) ln(0.4/0.2)
    //     = 0.1*0.2876821 + 0.1*0.6931472 + 0.2*1.0986123 + 0.2*0.6931472
    //     = 0.0287682 + 0.0693147 + 0.2197225 + 0.1386294 = 0.4564348
    const result = psi(f(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), f(2, 2, 2, 2, 4, 6, 9, 9, 9, 11), { bins: 4 });
    expect(result.edges).toEqual([3, 5, 8]);
    expect(result.referenceShares).toEqual([0.3, 0.2, 0.3, 0.2]);
    expect(result.currentShares).toEqual([0.4, 0.1, 0.1, 0.4]);
    expect(result.value).toBeCloseTo(0.45643481914678363, 14);
    expect(result.contributions.reduce((s, c) => s + c, 0)).toBeCloseTo(result.value, 14);
  });

  it('floors empty bins at epsilon instead of returning Infinity', () => {
    // Same reference bins; every current value lands in the first bin: shares 1, 0, 0, 0, floored
    // to 1, 1e-4, 1e-4, 1e-4.
    // PSI = (1-0.3) ln(1/0.3) + 2 (1e-4-0.2) ln(1e-4/0.2) + (1e-4-0.3) ln(1e-4/0.3)
    //     = 0.7*1.2039728 + 2*0.1999*7.6009025 + 0.2999*8.0063676
    //     = 0.8427810 + 2*1.5194204 + 2.4011096 = 6.2827314
    const result = psi(f(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), f(1, 1, 1, 1, 1), { bins: 4 });
    expect(result.value).toBeCloseTo(6.282731399891389, 12);
    expect(result.epsilon).toBe(1e-4);
  });

  it('never leaves a reference bin empty, even for a heavily tied reference', () => {
    // Interpolated deciles of {0,0,0,1,1} would put edges at 0, 0.4, 0.8, 1 with empty reference
    // bins between them; observed-value edges below the maximum give just (-inf,0], (0,inf).
    const result = psi(f(0, 0, 0, 1, 1), f(0, 1, 1, 1, 1));
    expect(result.edges).toEqual([0]);
    expect(result.referenceShares).toEqual([0.6, 0.4]);
    expect(result.currentShares).toEqual([0.2, 0.8]);
    // A constant reference has no edges: one bin, PSI 0 (Wasserstein catches that case instead).
    expect(psiEdges(f(5, 5, 5), 10)).toEqual([]);
    expect(psi(f(5, 5, 5), f(1, 9)).value).toBe(0);
  });

  it('is zero for identical samples', () => {
    const x = Float64Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 10);
    expect(psi(x, x).value).toBe(0);
  });
});

describe('wasserstein distance', () => {
  it('matches small cases by hand', () => {
    // Moving every unit of mass by 1.
    expect(wassersteinDistance(f(0, 1), f(1, 2))).toBe(1);
    // {0} vs {0, 0, 3}: F_ref = 1 from 0 on, F_cur = 2/3 on [0, 3): area = (1/3) * 3 = 1.
    expect(wassersteinDistance(f(0), f(0, 0, 3))).toBeCloseTo(1, 15);
    // Order and duplicates do not matter; the inputs are not mutated.
    const a = f(3, 1, 2);
    expect(wassersteinDistance(a, f(2, 3, 1, 1, 2, 3))).toBe(0);
    expect(Array.from(a)).toEqual([3, 1, 2]);
  });

  it('normalises by the reference population std, with the zero-std case spelled out', () => {
    // Reference {0, 2}: mean 1, population std 1. Current shifted by 0.5 -> W1 = 0.5 -> 0.5 std.
    const stats = numericDriftStatistics(f(0, 2), f(0.5, 2.5));
    expect(stats.referenceStd).toBe(1);
    expect(stats.normalizedWasserstein).toBe(0.5);
    expect(populationStd(f(1, 2, 3, 4))).toBeCloseTo(Math.sqrt(1.25), 15);
    expect(normalizeWasserstein(0, 0)).toBe(0);
    expect(normalizeWasserstein(0.2, 0)).toBe(Infinity);
    expect(numericDriftStatistics(f(7, 7, 7), f(7, 7)).normalizedWasserstein).toBe(0);
    expect(numericDriftStatistics(f(7, 7, 7), f(7, 8)).normalizedWasserstein).toBe(Infinity);
  });
});

describe('two-sample KS', () => {
  it('gives D = 0, p = 1 for identical samples and D = 1 for disjoint ones', () => {
    const x = f(1, 2, 3, 4, 5);
    expect(ksTwoSample(x, x)).toEqual({ statistic: 0, pValue: 1, method: 'exact' });
    const disjoint = ksTwoSample(f(1, 2, 3, 4, 5, 6), f(10, 11, 12, 13, 14, 15));
    expect(disjoint.statistic).toBe(1);
    // Exact: only 2 of the C(12, 6) = 924 orderings put one sample entirely below the other.
    expect(disjoint.pValue).toBeCloseTo(2 / 924, 15);
  });

  it('takes D as the largest ECDF gap, ties included', () => {
    // ref {1,1,2,3}, cur {1,2,2,2}: after 1: 2/4 - 1/4 = 0.25; after 2: 3/4 - 4/4 = -0.25; D = 0.25.
    expect(ksTwoSample(f(1, 1, 2, 3), f(1, 2, 2, 2)).statistic).toBe(0.25);
  });

  it("switches from exact to asymptotic above 10,000 rows, like scipy's 'auto'", () => {
    const big = Float64Array.from({ length: 10001 }, (_, i) => i);
    expect(ksTwoSample(big, f(1, 2, 3)).method).toBe('asymp');
    expect(ksTwoSample(big.subarray(0, 10000), f(1, 2, 3)).method).toBe('exact');
    expect(ksTwoSample(f(1, 2, 3), f(2, 3, 4), { method: 'asymp' }).method).toBe('asymp');
  });
});

describe('input validation', () => {
  it('rejects empty samples, NaN and infinities, naming the feature, window and row', () => {
    expect(() => numericDriftStatistics(f(), f(1), { feature: 'age' })).toThrow(/feature 'age' has an empty reference sample/);
    expect(() => numericDriftStatistics(f(1, 2), f(), { feature: 'age' })).toThrow(/feature 'age' has an empty current sample/);
    expect(() => numericDriftStatistics(f(1, Number.NaN), f(1), { feature: 'income' })).toThrow(/feature 'income' has NaN at row 1 of the reference sample/);
    expect(() => ksTwoSample(f(1), f(2, Infinity), { feature: 'x' })).toThrow(/feature 'x' has Infinity at row 1 of the current sample/);
    expect(() => psi(f(1, 2), f(1, 2), { bins: 1 })).toThrow(/bins must be an integer >= 2/);
  });
});
