// Dataset formation from a staged window: incomplete rows dropped, duplicates merged keeping the
// latest, the time split never leaks (including label-time leakage), rebalancing touches only the
// training split, and the manifest steps count rows before and after.
import { describe, expect, it } from 'vitest';
import { curateWindow, dedupe, dropIncomplete } from '../../datasets/curation';
import { allIndices } from '../../datasets/sampling';
import { SPLIT_TRAIN, SPLIT_VALIDATION } from '../../datasets/snapshot';
import type { StagedColumns } from '../../datasets/staged-window';
import { createRng } from '../../ml/random';
import { dataSpecSchema } from '../../spec/data-spec';

const layout = { numeric: ['x'], categorical: ['c'] };

function staged(n: number, seed = 1): StagedColumns {
  const rng = createRng(seed);
  return {
    eventTimeMs: Float64Array.from({ length: n }, (_, i) => 1_000 * i),
    labelAvailableMs: new Float64Array(n).fill(Number.NaN),
    entityIds: Array.from({ length: n }, (_, i) => `e${i % 97}`),
    labels: Float64Array.from({ length: n }, () => (rng.next() < 0.2 ? 1 : 0)),
    numeric: { x: Float64Array.from({ length: n }, () => rng.normal()) },
    categorical: { c: Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 'a' : 'b')) },
    auxiliary: {},
  };
}

const data = (overrides: Record<string, unknown> = {}) => dataSpecSchema.parse(overrides);

describe('dropIncomplete and dedupe', () => {
  it('drops rows with a missing feature or label and says which', () => {
    const cols = staged(6);
    cols.numeric.x[1] = Number.NaN;
    cols.categorical.c[2] = null;
    cols.labels[3] = Number.NaN;
    const { kept, detail } = dropIncomplete(cols, layout, allIndices(6));
    expect(Array.from(kept)).toEqual([0, 4, 5]);
    expect(detail).toBe('missing values: x 1, c 1, label 1');
  });

  it('entity_time keeps the last-written row of the same entity and instant; entity keeps the latest per entity', () => {
    const cols = staged(6);
    cols.eventTimeMs.set([0, 0, 0, 5, 5, 9]);
    cols.entityIds.splice(0, 6, 'u1', 'u2', 'u1', 'u1', 'u1', 'u2');
    expect(Array.from(dedupe(cols, allIndices(6), 'entity_time'))).toEqual([1, 2, 4, 5]);
    expect(Array.from(dedupe(cols, allIndices(6), 'entity'))).toEqual([4, 5]);
  });
});

describe('curateWindow', () => {
  it('splits by time with no leakage and records every step', () => {
    const result = curateWindow(staged(1_000), { layout, task: 'binary_classification', data: data(), validationFraction: 0.2, hasEntity: true });
    const { columns, trainRows } = result;
    expect(result.trainRows + result.validationRows).toBe(1_000);
    let lastTrain = -Infinity;
    let firstValidation = Infinity;
    columns.split!.forEach((s, i) => {
      if (s === SPLIT_TRAIN) lastTrain = Math.max(lastTrain, columns.eventTimeMs[i]);
      else firstValidation = Math.min(firstValidation, columns.eventTimeMs[i]);
    });
    expect(lastTrain).toBeLessThan(firstValidation);
    expect(columns.split!.slice(0, trainRows).every((s) => s === SPLIT_TRAIN)).toBe(true);
    expect(columns.split!.slice(trainRows).every((s) => s === SPLIT_VALIDATION)).toBe(true);
    expect(result.steps.map((s) => s.step)).toEqual(['drop_incomplete', 'dedupe', 'sampling', 'time_split', 'purge_label_overlap']);
  });

  it('purges training rows whose label was only known after validation starts', () => {
    const cols = staged(100);
    // Labels become known 30 s after each event. Validation starts at row 80 (t = 80 s): rows 51-79
    // learn their label after that and are purged; row 50's label arrives exactly at the cutoff and stays.
    cols.labelAvailableMs = Float64Array.from(cols.eventTimeMs, (t) => t + 30_000);
    const result = curateWindow(cols, { layout, task: 'binary_classification', data: data({ dedupe: { key: 'none' } }), validationFraction: 0.2, hasEntity: true });
    const purge = result.steps.find((s) => s.step === 'purge_label_overlap')!;
    expect(purge).toMatchObject({ rowsBefore: 80, rowsAfter: 51 });
    expect(result.trainRows).toBe(51);
    expect(result.validationRows).toBe(20);
  });

  it('rebalances the training split only, so validation keeps the natural label rate', () => {
    const cols = staged(2_000, 7);
    const natural = curateWindow(cols, { layout, task: 'binary_classification', data: data(), validationFraction: 0.25, hasEntity: true });
    const balanced = curateWindow(cols, {
      layout,
      task: 'binary_classification',
      data: data({ rebalance: { kind: 'downsample', targetPositiveRate: 0.5 } }),
      validationFraction: 0.25,
      hasEntity: true,
    });
    const rate = (labels: Float64Array, from: number, to: number) => labels.slice(from, to).reduce((a, b) => a + b, 0) / (to - from);
    expect(rate(balanced.columns.labels, 0, balanced.trainRows)).toBeCloseTo(0.5, 2);
    const n = balanced.trainRows + balanced.validationRows;
    expect(rate(balanced.columns.labels, balanced.trainRows, n)).toBe(rate(natural.columns.labels, natural.trainRows, natural.trainRows + natural.validationRows));
    expect(balanced.steps.at(-1)!.step).toBe('rebalance_downsample');
  });

  it('is deterministic: the same window and seed give identical columns', () => {
    const options = { layout, task: 'binary_classification', data: data({ sampling: { kind: 'uniform', fraction: 0.3 } }), validationFraction: 0.2, hasEntity: true };
    expect(curateWindow(staged(500), options).columns).toEqual(curateWindow(staged(500), options).columns);
  });

  it('stratified sampling keeps the label share of the window', () => {
    const cols = staged(5_000, 3);
    const positives = cols.labels.reduce((a, b) => a + b, 0);
    const result = curateWindow(cols, {
      layout,
      task: 'binary_classification',
      data: data({ sampling: { kind: 'stratified', column: 'label', fraction: 0.1 } }),
      validationFraction: 0.2,
      hasEntity: true,
    });
    const sampled = result.columns.labels.reduce((a, b) => a + b, 0);
    expect(result.columns.labels.length).toBe(500);
    expect(Math.abs(sampled - positives / 10)).toBeLessThanOrEqual(1);
  });

  it('skips dedupe when the source has no entity column, and says so', () => {
    const result = curateWindow(staged(50), { layout, task: 'binary_classification', data: data(), validationFraction: 0.2, hasEntity: false });
    expect(result.steps[1]).toEqual({ step: 'dedupe', rowsBefore: 50, rowsAfter: 50, detail: 'skipped: the source has no entity column' });
  });
});

describe('resolveWindow', () => {
  it('is the last N days, or only what follows a recent high-water mark', async () => {
    const { resolveWindow } = await import('../../datasets/time-window');
    expect(resolveWindow({ referenceTime: '2026-01-31T00:00:00Z', windowDays: 30 })).toEqual({ start: '2026-01-01T00:00:00.000Z', end: '2026-01-31T00:00:00.000Z', since: null, days: 30 });
    expect(resolveWindow({ referenceTime: '2026-01-31T00:00:00Z', windowDays: 30, since: '2026-01-29T12:00:00Z' })).toMatchObject({ since: '2026-01-29T12:00:00.000Z', days: 1.5 });
    expect(resolveWindow({ referenceTime: '2026-01-31T00:00:00Z', windowDays: 30, since: '2025-06-01T00:00:00Z' }).since).toBeNull();
    expect(() => resolveWindow({ referenceTime: '2026-01-31T00:00:00Z', windowDays: 30, since: '2026-02-01T00:00:00Z' })).toThrow('is not before the reference time');
    expect(() => resolveWindow({ referenceTime: 'soon', windowDays: 30 })).toThrow('referenceTime "soon" is not a valid time');
  });
});
