// The two options monitoring added to the drift statistics core: a report judged as one of a
// family (simultaneousTests widens its Bonferroni divisor, never narrows it), and the KS method used
// where a distance decides (the p-value is only reported, so the cheap asymptotic one will do).
import { describe, expect, it } from 'vitest';
import { computeDriftReport } from '../../monitoring/drift-report';
import { evaluateFeatureDrift } from '../../monitoring/thresholds';
import { createRng } from '../../ml/random';

function normal(seed: number, n: number, shift = 0): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length: n }, () => rng.normal() + shift);
}

describe('drift core extensions', () => {
  it('simultaneousTests sets the Bonferroni divisor of a report that is one of a family', () => {
    const reference = { numeric: { a: normal(1, 200), b: normal(2, 200) }, categorical: {} };
    const current = { numeric: { a: normal(3, 150, 0.4), b: normal(4, 150) }, categorical: {} };
    const features = [
      { name: 'a', kind: 'numeric' as const },
      { name: 'b', kind: 'numeric' as const },
    ];
    const own = computeDriftReport({ reference, current, features });
    expect(own.signals.map((s) => s.threshold)).toEqual([0.025, 0.025]);
    const family = computeDriftReport({ reference, current, features, simultaneousTests: 20 });
    expect(family.signals.map((s) => s.threshold)).toEqual([0.0025, 0.0025]);
    expect(family.signals[0].reason).toContain('Bonferroni over 20 tests');
    // Never fewer than the report's own decisions.
    expect(computeDriftReport({ reference, current, features, simultaneousTests: 1 }).signals[0].threshold).toBe(0.025);
  });

  it('informationalKsMethod applies only where a distance decides', () => {
    const big = evaluateFeatureDrift('numeric', normal(5, 3000), normal(6, 2500, 0.5), undefined, 'x', { informationalKsMethod: 'asymp' });
    expect(big.method).toBe('wasserstein');
    expect(big.statistics.ks.method).toBe('asymp');
    expect(evaluateFeatureDrift('numeric', normal(5, 3000), normal(6, 2500, 0.5), undefined, 'x').statistics.ks.method).toBe('exact');
    // Where KS decides, the policy's method stands (auto: exact for small windows).
    const small = evaluateFeatureDrift('numeric', normal(7, 300), normal(8, 200), undefined, 'x', { informationalKsMethod: 'asymp' });
    expect(small.method).toBe('ks');
    expect(small.statistics.ks.method).toBe('exact');
  });
});
