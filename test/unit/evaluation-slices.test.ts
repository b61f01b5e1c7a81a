// Slice definitions (feature values and cohort predicates), row counts, the minimum-rows rule and
// per-slice paired intervals that do not depend on which other slices exist.
import { describe, expect, it } from 'vitest';
import { auc } from '../../ml/metrics';
import { createMatrix } from '../../ml/dataset-matrix';
import { createRng } from '../../ml/random';
import { columnsFromMatrix, defineSlices, evaluateSlices, SliceSpecError } from '../../evaluation/slices';
import type { CohortSpec } from '../../evaluation/spec';

describe('defineSlices', () => {
  const columns = {
    country: ['de', 'fr', 'de', 'us', 'fr', 'de'],
    age: [17, 25, 40, 65, 70, 33],
    plan: [0, 1, 1, 2, 0, 1],
  };

  it('makes one slice per value, in value order, with the matching rows', () => {
    const slices = defineSlices(columns, 6, ['country', 'plan']);
    expect(slices.map((s) => [s.key, Array.from(s.rows)])).toEqual([
      ['country=de', [0, 2, 5]],
      ['country=fr', [1, 4]],
      ['country=us', [3]],
      ['plan=0', [0, 4]],
      ['plan=1', [1, 2, 5]],
      ['plan=2', [3]],
    ]);
  });

  it('evaluates every cohort operator, and a list of conditions as AND', () => {
    const rows = (where: CohortSpec['where']) => Array.from(defineSlices(columns, 6, [], [{ name: 'c', where }])[0].rows);
    expect(rows({ feature: 'age', op: '<', value: 25 })).toEqual([0]);
    expect(rows({ feature: 'age', op: '<=', value: 25 })).toEqual([0, 1]);
    expect(rows({ feature: 'age', op: '>', value: 65 })).toEqual([4]);
    expect(rows({ feature: 'age', op: '>=', value: 65 })).toEqual([3, 4]);
    expect(rows({ feature: 'country', op: '==', value: 'fr' })).toEqual([1, 4]);
    expect(rows({ feature: 'plan', op: 'in', value: [0, 2] })).toEqual([0, 3, 4]);
    expect(rows([{ feature: 'age', op: '>=', value: 30 }, { feature: 'country', op: '==', value: 'de' }])).toEqual([2, 5]);
  });

  it('rejects a missing column, a wrong length and a continuous feature sliced by value', () => {
    expect(() => defineSlices(columns, 6, ['region'])).toThrow(/no column "region" was supplied/);
    expect(() => defineSlices(columns, 7, ['plan'])).toThrow(/"plan" has 6 values but there are 7 evaluation rows/);
    expect(() => defineSlices({ x: [1, 2, 3, 4] }, 4, ['x'], [], 3)).toThrow(/"x" has more than 3 distinct values; slice a continuous feature with cohorts/);
    // The too-many-values case is the user's spec, not a transient fault: the evaluate activity
    // makes a SliceSpecError a non-retryable InvalidSpec instead of retrying it.
    expect(() => defineSlices({ x: [1, 2, 3, 4] }, 4, ['x'], [], 3)).toThrow(SliceSpecError);
    expect(() => defineSlices({ x: [1, 2, 3] }, 3, ['x'], [], 3)).not.toThrow();
  });

  it('reads columns out of a feature matrix', () => {
    const m = createMatrix(['a', 'b'], 2, Float64Array.from([1, 2, 3, 4]));
    expect(columnsFromMatrix(m, ['b'])).toEqual({ b: Float64Array.from([2, 4]) });
  });
});

describe('evaluateSlices', () => {
  const rng = createRng(8);
  const n = 1200;
  const labels = new Float64Array(n);
  const candidate = new Float64Array(n);
  const champion = new Float64Array(n);
  const group = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    group[i] = i < 30 ? 2 : i % 2;
    const z = rng.normal();
    labels[i] = rng.next() < 1 / (1 + Math.exp(-2 * z)) ? 1 : 0;
    champion[i] = 1 / (1 + Math.exp(-(z + 0.6 * rng.normal())));
    // The candidate is better on group 0 and worse on group 1.
    candidate[i] = 1 / (1 + Math.exp(-(z + (group[i] === 1 ? 1.5 : 0.2) * rng.normal())));
  }

  it('computes metrics and counts per slice, and intervals only where the slice is big enough', () => {
    const slices = evaluateSlices({ task: 'binary_classification', labels, candidate, champion, columns: { group }, features: ['group'], comparedMetrics: ['auc'], minRows: 50, bootstrap: { resamples: 300 } });
    expect(slices.map((s) => [s.key, s.rows, s.gated])).toEqual([
      ['group=0', 585, true],
      ['group=1', 585, true],
      ['group=2', 30, false],
    ]);
    const rows1 = Array.from({ length: n }, (_, i) => i).filter((i) => group[i] === 1);
    expect(slices[1].candidate.auc).toBeCloseTo(auc(rows1.map((i) => labels[i]), rows1.map((i) => candidate[i])), 14);
    expect(slices[1].positives).toBe(rows1.filter((i) => labels[i] === 1).length);
    expect(slices[0].differences!.auc!.lower!).toBeGreaterThan(0);
    expect(slices[1].differences!.auc!.upper!).toBeLessThan(0);
    expect(slices[2].differences).toBeUndefined();
    expect(slices[2].note).toBe('30 rows < minRows 50: reported, not gated');
  });

  it('seeds each slice by its key, so adding a cohort leaves the other intervals unchanged', () => {
    const common = { task: 'binary_classification' as const, labels, candidate, champion, columns: { group }, features: ['group'], comparedMetrics: ['auc' as const], bootstrap: { resamples: 200, seed: 5 } };
    const alone = evaluateSlices(common);
    const withCohort = evaluateSlices({ ...common, cohorts: [{ name: 'first_half', where: { feature: 'group', op: 'in', value: [0, 2] } }] });
    expect(withCohort[1].differences).toEqual(alone[1].differences);
    expect(withCohort.at(-1)!.key).toBe('cohort:first_half');
  });

  it('reports an empty cohort with null metrics instead of failing', () => {
    const [empty] = evaluateSlices({ task: 'binary_classification', labels, candidate, columns: { group }, cohorts: [{ name: 'nobody', where: { feature: 'group', op: '>', value: 5 } }] });
    expect(empty).toMatchObject({ key: 'cohort:nobody', rows: 0, gated: false, note: 'empty slice: no evaluation rows match', candidate: {} });
  });
});
