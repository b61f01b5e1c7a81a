// Categorical drift statistics on hand-checked cases: frequencies, L-inf / L1, Jensen-Shannon
// bounds, unseen-category share, chi-square, and errors that name the feature.
import { describe, expect, it } from 'vitest';
import {
  alignCategories,
  categoricalDriftStatistics,
  categoryCounts,
  chiSquareHomogeneity,
  jensenShannonDistance,
} from '../../monitoring/categorical-drift';

const repeat = (value: string, n: number) => Array.from({ length: n }, () => value);

describe('category frequencies and distances', () => {
  it('counts categories and aligns reference categories first, most frequent first', () => {
    const ref = categoryCounts(['b', 'a', 'b', 'c', 'b', 'a']);
    expect(ref.total).toBe(6);
    expect(Object.fromEntries(ref.counts)).toEqual({ a: 2, b: 3, c: 1 });
    const aligned = alignCategories(ref, categoryCounts(['z', 'a'], 'value', 'current'));
    expect(aligned.categories).toEqual(['b', 'a', 'c', 'z']);
    expect(Array.from(aligned.referenceCounts)).toEqual([3, 2, 1, 0]);
    expect(Array.from(aligned.currentCounts)).toEqual([0, 1, 0, 1]);
  });

  it('computes L-inf, L1 and the unseen share', () => {
    // ref: a 50%, b 50%. cur: a 25%, b 25%, new 50%.
    // |diff|: a 0.25, b 0.25, new 0.5 -> L-inf 0.5, L1 1.0; unseen share 0.5.
    const stats = categoricalDriftStatistics(['a', 'b', 'a', 'b'], ['a', 'b', 'new', 'new'], { feature: 'country' });
    expect(stats.linf).toBe(0.5);
    expect(stats.l1).toBe(1);
    expect(stats.unseenShare).toBe(0.5);
    expect(stats.unseenCategories).toEqual(['new']);
    expect(stats.categories).toBe(3);
    expect(stats.topChanges[0]).toEqual({ category: 'new', referenceShare: 0, currentShare: 0.5 });
  });

  it('counts every unseen category, and none when the current window only loses categories', () => {
    const ref = [...repeat('x', 70), ...repeat('y', 30)];
    const cur = [...repeat('x', 40), ...repeat('u1', 5), ...repeat('u2', 15)];
    const stats = categoricalDriftStatistics(ref, cur);
    expect(stats.unseenShare).toBeCloseTo(20 / 60, 15);
    expect(stats.unseenCategories).toEqual(['u2', 'u1']);
    expect(categoricalDriftStatistics(ref, repeat('x', 10)).unseenShare).toBe(0);
  });

  it('keeps the Jensen-Shannon distance (base 2) in [0, 1]', () => {
    expect(jensenShannonDistance([0.2, 0.8], [0.2, 0.8])).toBe(0);
    // Disjoint supports: divergence ln 2 nats = 1 bit, distance 1.
    expect(jensenShannonDistance([1, 0], [0, 1])).toBeCloseTo(1, 15);
    // [1, 0] vs [0.5, 0.5]: m = [0.75, 0.25]; KL(p||m) = ln(4/3), KL(q||m) = 0.5 ln(2/3) + 0.5 ln 2;
    // JSD = (0.287682 + (-0.202733 + 0.346574)) / 2 = 0.215762 nats = 0.311278 bits; sqrt -> 0.557923.
    const expected = Math.sqrt((Math.log(4 / 3) + 0.5 * Math.log(2 / 3) + 0.5 * Math.log(2)) / 2 / Math.LN2);
    expect(jensenShannonDistance([1, 0], [0.5, 0.5])).toBeCloseTo(expected, 15);
    expect(expected).toBeCloseTo(0.557923, 6);
  });

  it('accepts category counts as well as raw strings', () => {
    const counts = { counts: new Map([['a', 3], ['b', 1]]), total: 4 };
    const fromCounts = categoricalDriftStatistics(counts, ['a', 'b']);
    const fromStrings = categoricalDriftStatistics(['a', 'a', 'a', 'b'], ['a', 'b']);
    expect(fromCounts).toEqual(fromStrings);
  });
});

describe('chi-square homogeneity test', () => {
  it('matches a 2 x 2 table by hand (no continuity correction)', () => {
    // [[10, 20], [20, 10]]: every expected count is 15, chi2 = 4 * 25/15 = 6.6667, dof 1,
    // p = P(chi2_1 >= 6.6667) = erfc(sqrt(6.6667/2)) = 0.0098.
    const result = chiSquareHomogeneity([10, 20], [20, 10]);
    expect(result.statistic).toBeCloseTo(20 / 3, 12);
    expect(result.dof).toBe(1);
    expect(result.pValue).toBeCloseTo(0.009823274507519235, 12);
  });

  it('returns p = 1 with one category (dof 0), as scipy does', () => {
    expect(chiSquareHomogeneity([5], [9])).toEqual({ statistic: 0, dof: 0, pValue: 1 });
  });
});

describe('input validation', () => {
  it('names the feature for empty samples, non-strings and bad counts', () => {
    expect(() => categoricalDriftStatistics([], ['a'], { feature: 'country' })).toThrow(/feature 'country' has an empty reference sample/);
    const withNull = ['a', null] as unknown as string[];
    expect(() => categoricalDriftStatistics(['a'], withNull, { feature: 'country' })).toThrow(/feature 'country' has null at row 1 of the current sample/);
    expect(() => categoricalDriftStatistics({ counts: new Map([['a', 1.5]]), total: 1.5 }, ['a'], { feature: 'plan' })).toThrow(/feature 'plan' has count 1.5/);
    expect(() => categoricalDriftStatistics({ counts: new Map([['a', 2]]), total: 3 }, ['a'], { feature: 'plan' })).toThrow(/add up to 2 but total says 3/);
  });
});
