// The validation gate's pure parts: feature profiles agree with numpy (an independent reference),
// and each check fails on crafted bad data with a message naming the feature, numbers and threshold.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProfileBuilder, quantileSorted, type DataProfile } from '../../datasets/profile';
import { runValidationChecks, type ValidationInput } from '../../datasets/validation';
import { createRng } from '../../ml/random';
import { validationSpecSchema } from '../../spec/data-spec';

const PYTHON = path.join(__dirname, '..', '..', '.tools', 'venv', 'bin', 'python');
const layout = { numeric: ['x'], categorical: ['c'] };

function profileOf(n: number, seed: number, tweak: (i: number, row: { x: number; c: string | null; y: number }) => void = () => {}): DataProfile {
  const rng = createRng(seed);
  const x = new Float64Array(n);
  const c: (string | null)[] = [];
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const row = { x: rng.normal(), c: rng.next() < 0.5 ? 'a' : 'b', y: rng.next() < 0.3 ? 1 : 0 };
    tweak(i, row);
    x[i] = row.x;
    c.push(row.c);
    y[i] = row.y;
  }
  return new ProfileBuilder(layout).add({ numeric: { x }, categorical: { c }, labels: y }).finish();
}

function input(current: DataProfile, overrides: Partial<ValidationInput> = {}): ValidationInput {
  return {
    task: 'binary_classification',
    layout,
    current,
    typeViolations: {},
    invalidLabels: null,
    windowDays: 10,
    reference: profileOf(5_000, 1),
    historyRowsPerDay: [],
    thresholds: validationSpecSchema.parse({}),
    ...overrides,
  };
}

const failed = (inp: ValidationInput) => runValidationChecks(inp).filter((c) => !c.passed);

describe('profiles', () => {
  it('quantiles, mean and std match numpy on the same values', () => {
    // Fail rather than skip: without the numpy reference these statistics would go unchecked.
    if (!existsSync(PYTHON)) throw new Error(`the numpy reference needs ${PYTHON}: run \`npm run setup\` to create the Python tools venv`);
    const rng = createRng(21);
    const values = Float64Array.from({ length: 5_001 }, () => Math.exp(rng.normal()));
    const profile = new ProfileBuilder({ numeric: ['v'], categorical: [] }).add({ numeric: { v: values }, categorical: {}, labels: new Float64Array(values.length) }).finish().numeric.v;
    const script = 'import json,sys,numpy as np; v=np.array(json.load(sys.stdin)); print(json.dumps({"q":[float(np.quantile(v,q)) for q in [0.01,0.05,0.25,0.5,0.75,0.95,0.99]],"mean":float(v.mean()),"std":float(v.std(ddof=1))}))';
    const reference = JSON.parse(execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(Array.from(values)) }).toString()) as { q: number[]; mean: number; std: number };
    expect(Object.values(profile.quantiles).map((q) => Number(q.toPrecision(12)))).toEqual(reference.q.map((q) => Number(q.toPrecision(12))));
    expect(profile.mean).toBeCloseTo(reference.mean, 10);
    expect(profile.std).toBeCloseTo(reference.std, 10);
    expect(profile.sampled).toBe(false);
  });

  it('interpolates quantiles linearly and stays bounded in memory for long streams', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    const builder = new ProfileBuilder({ numeric: ['v'], categorical: [] }, { sampleSize: 1_000 });
    const chunk = Float64Array.from({ length: 10_000 }, (_, i) => i % 100);
    for (let k = 0; k < 20; k++) builder.add({ numeric: { v: chunk }, categorical: {}, labels: new Float64Array(chunk.length) });
    const profile = builder.finish().numeric.v;
    expect(profile.count).toBe(200_000);
    expect(profile.sampled).toBe(true);
    expect(profile.quantiles.p50).toBeGreaterThan(40);
    expect(profile.quantiles.p50).toBeLessThan(60);
  });
});

describe('validation checks', () => {
  it('all pass on a window drawn like the reference', () => {
    expect(failed(input(profileOf(5_000, 2), { historyRowsPerDay: [500, 520, 480] }))).toEqual([]);
  });

  it('schema: names the feature, the count and the first bad row', () => {
    const [check] = failed(input(profileOf(1_000, 2), { typeViolations: { x: { count: 3, firstRow: '17', example: '"abc"' } }, invalidLabels: { count: 2, firstRow: '40', example: '2' } }));
    expect(check.name).toBe('schema');
    expect(check.message).toBe(
      'schema: feature "x" has 3 value(s) of the wrong type, expected a finite number (first: row 17 = "abc"); 2 label(s) are not 0 or 1 (first: row 40 = 2)',
    );
  });

  it('null_rate: names the feature, its rate and the threshold', () => {
    const current = profileOf(1_000, 2, (i, row) => {
      if (i % 10 === 0) row.x = Number.NaN;
    });
    const checks = failed(input(current));
    expect(checks.map((c) => c.name)).toEqual(['null_rate']);
    expect(checks[0].message).toBe('null_rate: feature "x" is missing in 10.0% of rows (100 of 1000), above data.validation.maxNullRate 5.0%');
  });

  it('numeric_range: a units change (x1000) fails on range and quantile shift', () => {
    const current = profileOf(2_000, 2, (_, row) => {
      row.x *= 1000;
    });
    const [check] = failed(input(current));
    expect(check.name).toBe('numeric_range');
    expect(check.message).toMatch(/^numeric_range: feature "x" has \d+\.\d% of values outside the reference range \[-3\.\d+, 3\.\d+\] \(max 5\.0%\); feature "x" p\d+ moved \d+(\.\d+)? reference IQRs/);
  });

  it('unseen_categories: names the share and example values', () => {
    const current = profileOf(1_000, 2, (i, row) => {
      if (i % 4 === 0) row.c = 'zz';
    });
    const [check] = failed(input(current));
    expect(check.message).toBe('unseen_categories: feature "c" has 25.0% of rows with values the reference never saw (e.g. "zz"), above data.validation.maxUnseenCategoryShare 10.0%');
  });

  it('row_count: below 50% or above 300% of the median rows/day of earlier datasets', () => {
    const low = failed(input(profileOf(1_000, 2), { historyRowsPerDay: [400, 500, 600] }));
    expect(low.map((c) => c.message)).toEqual([
      'row_count: 100 rows/day (1000 rows over 10 days) is 20.0% of the median 500 rows/day of the last 3 dataset(s), outside the allowed 50.0%–300.0% (data.validation.minRowCountRatio / maxRowCountRatio)',
    ]);
    const high = failed(input(profileOf(5_000, 2), { windowDays: 1, historyRowsPerDay: [1_000] }));
    expect(high[0].message).toContain('is 500.0% of the median 1000 rows/day');
    expect(failed(input(profileOf(5_000, 2), { historyRowsPerDay: [] }))).toEqual([]);
  });

  it('label_rate: a window with almost no positives fails', () => {
    const current = profileOf(2_000, 2, (i, row) => {
      row.y = i === 0 ? 1 : 0;
    });
    const [check] = failed(input(current, { thresholds: validationSpecSchema.parse({ minLabelRate: 0.01 }) }));
    expect(check.message).toBe('label_rate: positive rate 0.05% is below data.validation.minLabelRate 1.0%');
  });

  it('distribution checks skip, saying why, without a reference', () => {
    const checks = runValidationChecks(input(profileOf(100, 2), { reference: null }));
    expect(checks.filter((c) => c.skipped).map((c) => c.message)).toEqual([
      'numeric_range: skipped (no reference snapshot)',
      'unseen_categories: skipped (no reference snapshot)',
      'row_count: skipped (no earlier datasets of this model)',
    ]);
  });
});
