// Monitoring windows: window and reference specs (with their errors), series names, slice keys,
// and the accumulator's bounded memory, label and pair bookkeeping, and slice caps.
import { describe, expect, it } from 'vitest';
import { sliceKeysOf, slicesFromSpec, type MonitoringSlices } from '../../monitoring/slice-keys';
import { MonitoringAccumulator, parseReferenceSpec, parseWindowSpec, seriesName, windowLabel } from '../../monitoring/windows';
import { createRng } from '../../ml/random';

describe('window specs', () => {
  it('accepts rows or a duration, as objects or text', () => {
    expect(parseWindowSpec({ rows: 2000 })).toEqual({ rows: 2000 });
    expect(parseWindowSpec('2000')).toEqual({ rows: 2000 });
    expect(parseWindowSpec('rows:500')).toEqual({ rows: 500 });
    expect(parseWindowSpec({ duration: '1d' })).toEqual({ duration: '1d' });
    expect(parseWindowSpec('duration:6h')).toEqual({ duration: '6h' });
    expect(windowLabel({ rows: 2000 })).toBe('rows:2000');
    expect(windowLabel({ duration: '1d' })).toBe('duration:1d');
  });

  it('rejects what is not a window, naming the fix', () => {
    expect(() => parseWindowSpec({ rows: 0 })).toThrow('window.rows must be a positive whole number of rows, got 0');
    expect(() => parseWindowSpec({ rows: 2.5 })).toThrow('window.rows must be a positive whole number');
    expect(() => parseWindowSpec({ duration: 'soon' })).toThrow('window.duration "soon" is not a duration: use e.g. "6h", "1d" or "7d"');
    expect(() => parseWindowSpec({ rows: 10, duration: '1d' })).toThrow('set exactly one of rows or duration');
    expect(() => parseWindowSpec(null)).toThrow('is not a window');
  });

  it('references: training by default, a fixed window with valid bounds; series names keep them apart', () => {
    expect(parseReferenceSpec(undefined)).toEqual({ kind: 'training' });
    const window = parseReferenceSpec('window', { start: '2026-01-01T00:00:00Z', end: '2026-01-08T00:00:00Z' });
    expect(window).toEqual({ kind: 'window', start: '2026-01-01T00:00:00.000Z', end: '2026-01-08T00:00:00.000Z' });
    expect(() => parseReferenceSpec('window')).toThrow('needs referenceWindow { start, end }');
    expect(() => parseReferenceSpec('window', { start: '2026-01-08T00:00:00Z', end: '2026-01-01T00:00:00Z' })).toThrow('not before its end');
    expect(() => parseReferenceSpec('validation')).toThrow('referenceKind "validation" is not known');
    expect(seriesName({ kind: 'training' }, { rows: 2000 })).toBe('ref=training;window=rows:2000');
    expect(seriesName(window, { duration: '1d' })).toBe('ref=2026-01-01T00:00:00.000Z/2026-01-08T00:00:00.000Z;window=duration:1d');
  });
});

describe('slice keys', () => {
  const slices: MonitoringSlices = {
    ...slicesFromSpec(undefined),
    features: ['device'],
    cohorts: [
      { name: 'top', where: { feature: 'position', op: '<=', value: 2 } },
      { name: 'eu_mobile', where: [{ feature: 'country', op: 'in', value: ['de', 'fr'] }, { feature: 'device', op: '==', value: 'mobile' }] },
    ],
  };

  it('one key per slice feature value and per cohort that holds', () => {
    expect(sliceKeysOf({ device: 'mobile', position: 1, country: 'de' }, slices)).toEqual(['device=mobile', 'cohort:top', 'cohort:eu_mobile']);
    expect(sliceKeysOf({ device: 'desktop', position: 4, country: 'de' }, slices)).toEqual(['device=desktop']);
    // Numeric codes are categories too; a missing value is no slice.
    expect(sliceKeysOf({ device: 2, position: null }, slices)).toEqual(['device=2']);
    expect(sliceKeysOf({ position: '1' }, slices)).toEqual([]);
  });
});

describe('MonitoringAccumulator', () => {
  const layout = { numeric: ['x'], categorical: ['device'] };

  it('keeps at most `capacity` rows, however long the window', () => {
    const acc = new MonitoringAccumulator({ ...layout, task: 'binary_classification', capacity: 1000, seed: 1 });
    const rng = createRng(1);
    for (let i = 0; i < 50_000; i++) acc.addRow({ features: { x: rng.normal(), device: i % 2 ? 'a' : 'b' }, prediction: rng.next(), label: i % 10 === 0 ? 1 : 0 });
    const sample = acc.toSample();
    expect(sample.rows).toBe(50_000);
    expect(sample.labelledRows).toBe(50_000);
    expect(sample.features.columns.numeric.x).toHaveLength(1000);
    expect(sample.predictions).toHaveLength(1000);
    expect(sample.pairs.labels).toHaveLength(1000);
    // Categories and binary labels are counted exactly.
    expect(sample.features.columns.categorical.device).toEqual({ counts: new Map([['b', 25_000], ['a', 25_000]]), total: 50_000 });
    expect(sample.labels).toEqual({ kind: 'categorical', counts: { counts: new Map([['1', 5000], ['0', 45_000]]), total: 50_000 } });
  });

  it('labels count once they arrive; pairs need a score and a scored row; numeric codes become categories', () => {
    const acc = new MonitoringAccumulator({ ...layout, task: 'regression', capacity: 100 });
    acc.addRow({ features: { x: 1, device: 3 }, prediction: 10, label: null });
    acc.addRow({ features: { x: 2, device: 'a' }, prediction: null, label: 12 });
    acc.addRow({ features: { x: 3, device: 'a' }, prediction: 11, label: 13 });
    acc.addRow({ features: { x: 4, device: 'a' }, prediction: 11, label: 14, scored: false });
    acc.addRow({ features: { x: '5', device: null }, prediction: 9, label: 9 });
    const sample = acc.toSample();
    expect(sample.labelledRows).toBe(4);
    expect(sample.labels).toEqual({ kind: 'numeric', values: Float64Array.from([12, 13, 14, 9]) });
    expect(Array.from(sample.pairs.labels)).toEqual([13, 9]);
    expect(Array.from(sample.pairs.predictions)).toEqual([11, 9]);
    expect(sample.features.columns.categorical.device).toEqual({ counts: new Map([['3', 1], ['a', 3]]), total: 4 });
    // "5" is not a number: counted as missing, not guessed.
    expect(Array.from(sample.features.columns.numeric.x)).toEqual([1, 2, 3, 4]);
    expect(sample.features.missing).toEqual({ x: 1, device: 1 });
  });

  it('slices: one sample per value and cohort, at most maxDistinctValues values per feature', () => {
    const slices: MonitoringSlices = { features: ['device'], cohorts: [{ name: 'high', where: { feature: 'x', op: '>', value: 0 } }], maxDistinctValues: 2, minRows: 1 };
    const acc = new MonitoringAccumulator({ ...layout, task: 'binary_classification', slices, capacity: 100, sliceCapacity: 10 });
    const devices = ['a', 'b', 'c', 'a', 'b', 'c', 'a'];
    devices.forEach((device, i) => acc.addRow({ features: { x: i - 3, device }, prediction: 0.5, label: i % 2 }));
    const sample = acc.toSample();
    expect(Object.keys(sample.slices)).toEqual(['cohort:high', 'device=a', 'device=b']);
    expect(sample.slices['device=a'].rows).toBe(3);
    expect(sample.slices['cohort:high'].rows).toBe(3);
    expect(sample.unslicedRows).toEqual({ device: 2 });
    expect(sample.slices['device=a'].slices).toEqual({});
  });
});
