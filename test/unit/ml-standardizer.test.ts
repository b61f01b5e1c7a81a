// Welford standardisation: matches hand-computed and two-pass values, merges exactly, survives
// large offsets, and maps zero spread to std 1.
import { describe, expect, it } from 'vitest';
import { createMatrix, matrixFromRows, selectRows } from '../../ml/dataset-matrix';
import { createRng } from '../../ml/random';
import {
  accumulateMoments,
  computeMoments,
  emptyMoments,
  fitStandardizer,
  mergeMoments,
  standardizationFromMoments,
  standardizeMatrix,
} from '../../ml/standardizer';

describe('standardizer', () => {
  it('matches a hand-computed mean and population std', () => {
    // [2,4,4,4,5,5,7,9]: mean 40/8 = 5; squared deviations 9+1+1+1+0+0+4+16 = 32; 32/8 = 4; std 2.
    const X = matrixFromRows(['a'], [[2], [4], [4], [4], [5], [5], [7], [9]]);
    expect(fitStandardizer(X)).toEqual({ mean: [5], std: [2] });
    expect(Array.from(standardizeMatrix(X, fitStandardizer(X)))).toEqual([-1.5, -0.5, -0.5, -0.5, 0, 0, 1, 2]);
  });

  it('stays accurate with a large offset where sum-of-squares cancels', () => {
    const rng = createRng(3);
    const values = Array.from({ length: 10_000 }, () => 1e9 + rng.normal() * 0.5);
    const X = matrixFromRows(['t'], values.map((v) => [v]));
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const twoPassStd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
    const naiveVar = values.reduce((a, v) => a + v * v, 0) / values.length - mean * mean;
    const s = fitStandardizer(X);
    expect(Math.abs(s.std[0] - twoPassStd) / twoPassStd).toBeLessThan(1e-6);
    // The shortcut formula is visibly wrong here, which is why Welford is used.
    expect(Math.abs(Math.sqrt(Math.max(naiveVar, 0)) - twoPassStd) / twoPassStd).toBeGreaterThan(1e-3);
  });

  it('merging moments of two chunks equals one pass over all rows', () => {
    const rng = createRng(9);
    const X = createMatrix(['a', 'b', 'c'], 1000);
    for (let k = 0; k < X.data.length; k++) X.data[k] = (k % 3) * 100 + rng.normal() * (1 + (k % 3));
    const first = selectRows(X, Array.from({ length: 300 }, (_, i) => i));
    const second = selectRows(X, Array.from({ length: 700 }, (_, i) => 300 + i));
    const merged = mergeMoments(computeMoments(first), computeMoments(second));
    const incremental = accumulateMoments(computeMoments(first), second);
    const whole = computeMoments(X);
    whole.forEach((m, j) => {
      for (const other of [merged[j], incremental[j]]) {
        expect(other.count).toBe(m.count);
        expect(other.mean).toBeCloseTo(m.mean, 10);
        expect(other.m2 / m.m2).toBeCloseTo(1, 10);
      }
    });
    expect(mergeMoments(emptyMoments(3), whole)).toEqual(whole);
  });

  it('uses std 1 for zero spread (constant feature, single row)', () => {
    expect(fitStandardizer(matrixFromRows(['c'], [[7], [7], [7]]))).toEqual({ mean: [7], std: [1] });
    expect(fitStandardizer(matrixFromRows(['a', 'b'], [[3, -2]]))).toEqual({ mean: [3, -2], std: [1, 1] });
    expect(() => standardizationFromMoments(emptyMoments(1))).toThrow(/no observations/);
    expect(() => fitStandardizer(createMatrix(['a'], 0))).toThrow(/0 rows/);
  });

  it('rejects non-finite values, naming feature and row', () => {
    expect(() => fitStandardizer(matrixFromRows(['a', 'b'], [[1, 2], [3, NaN]]))).toThrow(/feature "b" \(column 1\) at row 1/);
  });
});
