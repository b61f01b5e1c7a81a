// The drift report: one signal per declared feature (+ projections), the report-level decision
// with multiple-testing control, clear errors for missing columns, and the CLI text table.
import { describe, expect, it } from 'vitest';
import { createRng } from '../../ml/random';
import { computeDriftReport, formatNumber, renderDriftTable, type ColumnSet, type DriftFeature } from '../../monitoring/drift-report';

function normals(seed: number, n: number, shift = 0): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length: n }, () => shift + rng.normal());
}

function labels(seed: number, n: number, pNew = 0): string[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => (rng.next() < pNew ? 'brand-new' : ['basic', 'pro', 'team'][rng.nextInt(3)]));
}

function windows(rows: number, shiftA: number, pNew: number): { reference: ColumnSet; current: ColumnSet } {
  return {
    reference: { numeric: { a: normals(1, rows), b: normals(2, rows), c: normals(3, rows) }, categorical: { plan: labels(4, rows) } },
    current: { numeric: { a: normals(5, rows, shiftA), b: normals(6, rows), c: normals(7, rows) }, categorical: { plan: labels(8, rows, pNew) } },
  };
}

const FEATURES: DriftFeature[] = [
  { name: 'a', kind: 'numeric' },
  { name: 'b', kind: 'numeric' },
  { name: 'c', kind: 'numeric' },
  { name: 'plan', kind: 'categorical' },
];

describe('computeDriftReport', () => {
  it('reports every feature, the share drifted and which features fired', () => {
    const report = computeDriftReport({ ...windows(5000, 0.4, 0.2), features: FEATURES, projections: { count: 6, seed: 1 } });
    expect(report.signals.map((s) => s.feature)).toEqual(['a', 'b', 'c', 'plan', ...Array.from({ length: 6 }, (_, i) => `projection:${i}`)]);
    expect(report.firedFeatures).toEqual(['a', 'plan']);
    expect(report.shareDrifted).toBe(0.5);
    expect(report.fired).toBe(true);
    expect(report.projectionShareDrifted).not.toBeNull();
    expect(report.summary).toMatch(/^DRIFT: 2 of 4 features drifted \(50\.0%\): a \(wasserstein 0\.\d+ > 0\.1\), plan \(js 0\.\d+ > 0\.1\); projections: \d of 6 fired$/);
    const plan = report.signals.find((s) => s.feature === 'plan');
    expect(plan?.kind === 'categorical' && plan.statistics.unseenShare).toBeCloseTo(0.2, 1);
  });

  it('stays quiet on stationary windows', () => {
    const report = computeDriftReport({ ...windows(5000, 0, 0), features: FEATURES, projections: { count: 6, seed: 1 } });
    expect(report.fired).toBe(false);
    expect(report.summary).toMatch(/^no drift: 0 of 4 features drifted \(0\.0%\); projections: 0 of 6 fired$/);
  });

  it('divides alpha by the number of tests in a report (Bonferroni) unless told not to', () => {
    const small = windows(300, 0, 0);
    const report = computeDriftReport({ ...small, features: FEATURES, projections: { count: 4, seed: 2 } });
    // 3 numeric + 1 categorical + 4 projections, all small-sample tests: alpha 0.05 / 8.
    for (const s of report.signals) {
      expect(s.method === 'ks' || s.method === 'chi2').toBe(true);
      expect(s.threshold).toBeCloseTo(0.05 / 8, 15);
      expect(s.reason).toMatch(/Bonferroni over 8 tests/);
    }
    const none = computeDriftReport({ ...small, features: FEATURES, policy: { defaults: { multipleTesting: 'none' } } });
    expect(none.signals.every((s) => s.threshold === 0.05)).toBe(true);
    // Distances are not adjusted.
    const large = computeDriftReport({ ...windows(2000, 0, 0), features: FEATURES });
    expect(large.signals.every((s) => s.threshold === 0.1)).toBe(true);
  });

  it('can require a minimum share of drifted features before the report fires', () => {
    const input = { ...windows(5000, 0.4, 0), features: FEATURES };
    expect(computeDriftReport(input)).toMatchObject({ fired: true, shareDrifted: 0.25 });
    const strict = computeDriftReport({ ...input, policy: { defaults: { minShareDrifted: 0.5 } } });
    expect(strict).toMatchObject({ fired: false, shareDrifted: 0.25, firedFeatures: ['a'] });
    expect(strict.summary).toMatch(/^no drift: 1 of 4 features drifted \(25\.0%\).*report fires at >= 50\.0% of features$/);
  });

  it('names the missing feature and the window it is missing from', () => {
    const w = windows(50, 0, 0);
    expect(() => computeDriftReport({ ...w, features: [{ name: 'income', kind: 'numeric' }] })).toThrow(
      "drift: numeric feature 'income' is missing from the reference window (its numeric columns: a, b, c)",
    );
    expect(() => computeDriftReport({ ...w, current: { numeric: w.current.numeric, categorical: {} }, features: FEATURES })).toThrow(
      "drift: categorical feature 'plan' is missing from the current window (its categorical columns: none)",
    );
    expect(() => computeDriftReport({ ...w, features: [FEATURES[0], FEATURES[0]] })).toThrow(/feature 'a' is declared twice/);
    const nan = { ...w.current, numeric: { ...w.current.numeric, b: Float64Array.from([1, Number.NaN]) } };
    expect(() => computeDriftReport({ ...w, current: nan, features: FEATURES })).toThrow(/feature 'b' has NaN at row 1 of the current sample/);
    expect(() => computeDriftReport({ ...w, features: [{ name: 'plan', kind: 'categorical' }], projections: { count: 2, seed: 1 } })).toThrow(
      /projections need at least one numeric feature/,
    );
  });
});

describe('renderDriftTable', () => {
  it('prints a fixed-width table with one row per signal and the summary', () => {
    const report = computeDriftReport({ ...windows(5000, 0.4, 0.2), features: FEATURES });
    const text = renderDriftTable(report);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^feature\s+kind\s+source\s+method\s+value\s+fires if\s+fired\s+n_ref\s+n_cur\s+psi\s+psi band$/);
    expect(lines[1]).toMatch(/^-+( +-+)+$/);
    expect(lines).toHaveLength(2 + 4 + 2);
    expect(lines[2]).toMatch(/^a\s+numeric\s+feature\s+wasserstein\s+0\.\d+\s+> 0\.1\s+YES\s+5000\s+5000\s+\S+\s+(moderate|significant)$/);
    expect(lines[3]).toMatch(/^b\s+numeric\s+feature\s+wasserstein\s+\S+\s+> 0\.1\s+no\s+/);
    expect(lines[lines.length - 1]).toBe(report.summary);
    // Columns line up: every "fires if" cell starts at the same offset.
    const offset = lines[0].indexOf('fires if');
    for (const line of lines.slice(2, 6)) expect(line.slice(offset, offset + 2)).toMatch(/^[<>] /);
  });

  it('formats numbers compactly', () => {
    expect(formatNumber(0.123456)).toBe('0.1235');
    expect(formatNumber(1.2e-7)).toBe('1.20e-7');
    expect(formatNumber(Infinity)).toBe('inf');
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(1234567)).toBe('1.23e+6');
  });
});
