// Bounded-memory window accumulators: the reservoir stays at capacity, is deterministic per seed
// and uniform; category counts are exact up to the cap; a window turns into drift inputs.
import { describe, expect, it } from 'vitest';
import { createRng } from '../../ml/random';
import { computeDriftReport } from '../../monitoring/drift-report';
import { CategoryCounter, NumericReservoir, OTHER_CATEGORY, ReservoirSlots, WindowAccumulator } from '../../monitoring/streaming';

describe('reservoir sample', () => {
  it('stays at capacity and is deterministic per seed', () => {
    const fill = (seed: number) => {
      const reservoir = new NumericReservoir(1000, seed);
      for (let i = 0; i < 200_000; i++) reservoir.add(i);
      return reservoir;
    };
    const a = fill(42);
    expect(a.seen).toBe(200_000);
    expect(a.sample()).toHaveLength(1000);
    expect(Array.from(fill(42).sample())).toEqual(Array.from(a.sample()));
    expect(Array.from(fill(43).sample())).not.toEqual(Array.from(a.sample()));
    // Fewer rows than capacity: all of them, in order.
    const small = new NumericReservoir(1000, 1);
    small.addAll([3, 1, 2]);
    expect(Array.from(small.sample())).toEqual([3, 1, 2]);
  });

  it('samples uniformly over the stream', () => {
    // Items 0..N-1; each decile of the stream should hold ~10% of the k = 5000 sampled items,
    // averaged over 20 seeds: chi-square over 10 cells with 9 dof has 99.9% quantile 27.9.
    const n = 100_000;
    const k = 5000;
    const deciles = new Array<number>(10).fill(0);
    for (let seed = 0; seed < 20; seed++) {
      const reservoir = new NumericReservoir(k, seed);
      for (let i = 0; i < n; i++) reservoir.add(i);
      for (const v of reservoir.sample()) deciles[Math.floor((v / n) * 10)] += 1;
    }
    const expected = (20 * k) / 10;
    const chi2 = deciles.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(27.9);
  });

  it('accepts an item with the right probability at each position (Algorithm L)', () => {
    // Item at position i >= k is kept with probability k / (i + 1); over many seeds the acceptance
    // count of items 9000..9999 for k = 100 should be near sum k/(i+1) = 100 * ln(10000/9000) ~ 10.5.
    let accepted = 0;
    const seeds = 400;
    for (let seed = 0; seed < seeds; seed++) {
      const slots = new ReservoirSlots(100, seed);
      for (let i = 0; i < 10_000; i++) if (slots.offer() >= 0 && i >= 9000) accepted += 1;
    }
    const perRun = accepted / seeds;
    expect(perRun).toBeGreaterThan(9.8);
    expect(perRun).toBeLessThan(11.3);
  });

  it('counts missing values instead of sampling them', () => {
    const reservoir = new NumericReservoir(10, 1);
    reservoir.addAll([1, Number.NaN, null, undefined, Infinity, 2]);
    expect(reservoir.missing).toBe(4);
    expect(Array.from(reservoir.sample())).toEqual([1, 2]);
    expect(() => new NumericReservoir(0, 1)).toThrow(/capacity must be a positive integer/);
  });
});

describe('category counter', () => {
  it('counts exactly and sends categories beyond the cap to __other__', () => {
    const counter = new CategoryCounter(3);
    counter.addAll(['a', 'b', 'a', 'c', 'd', 'e', 'a', 'd', null, undefined]);
    const { counts, total } = counter.toCounts();
    expect(Object.fromEntries(counts)).toEqual({ a: 3, b: 1, c: 1, [OTHER_CATEGORY]: 3 });
    expect(total).toBe(8);
    expect(counter.missing).toBe(2);
    expect(counter.overflowRows).toBe(3);
  });
});

describe('window accumulator', () => {
  function logRows(seed: number, n: number, shift: number): Array<Record<string, unknown>> {
    const rng = createRng(seed);
    return Array.from({ length: n }, (_, i) => ({
      amount: i % 97 === 0 ? null : 100 + 20 * (rng.normal() + shift),
      age: 40 + 10 * rng.normal(),
      country: i % 501 === 0 ? undefined : ['fr', 'de', 'es', 'it'][rng.nextInt(4)],
    }));
  }

  it('keeps numeric columns row-aligned and turns a window into drift inputs', () => {
    const acc = new WindowAccumulator({ numeric: ['amount', 'age'], categorical: ['country'], capacity: 5000, seed: 7 });
    const rows = logRows(1, 50_000, 0);
    for (const row of rows) acc.addRow(row);
    const inputs = acc.toDriftInputs();
    expect(inputs.rowsSeen).toBe(50_000);
    expect(inputs.sampledRows).toBe(5000);
    expect(inputs.missing.amount).toBe(rows.filter((r) => r.amount === null).length);
    expect(inputs.missing.country).toBe(rows.filter((r) => r.country === undefined).length);
    // Sampled amounts drop the missing ones; complete rows stay aligned across columns.
    expect(inputs.columns.numeric.age).toHaveLength(5000);
    expect(inputs.columns.numeric.amount.length).toBeLessThan(5000);
    expect(inputs.completeRows.age).toHaveLength(inputs.completeRows.amount.length);
    const country = inputs.columns.categorical.country as { total: number };
    expect(country.total).toBe(50_000 - inputs.missing.country);
  });

  it('takes column batches and gives the same sample as row by row', () => {
    const rows = logRows(2, 3000, 0);
    const byRow = new WindowAccumulator({ numeric: ['amount', 'age'], categorical: ['country'], capacity: 500, seed: 3 });
    rows.forEach((r) => byRow.addRow(r));
    const byBatch = new WindowAccumulator({ numeric: ['amount', 'age'], categorical: ['country'], capacity: 500, seed: 3 });
    for (let start = 0; start < rows.length; start += 1000) {
      const batch = rows.slice(start, start + 1000);
      byBatch.addColumns({
        rows: batch.length,
        numeric: { amount: batch.map((r) => r.amount as number | null), age: batch.map((r) => r.age as number) },
        categorical: { country: batch.map((r) => r.country as string | undefined) },
      });
    }
    expect(byBatch.toDriftInputs()).toEqual(byRow.toDriftInputs());
    expect(() => byBatch.addColumns({ rows: 2, numeric: { amount: [1, 2] }, categorical: { country: ['fr', 'de'] } })).toThrow(/batch has no column 'age'/);
  });

  it('feeds computeDriftReport, which sees a shift in the current window', () => {
    const make = (seed: number, shift: number) => {
      const acc = new WindowAccumulator({ numeric: ['amount', 'age'], categorical: ['country'], capacity: 20_000, seed });
      for (const row of logRows(seed, 100_000, shift)) acc.addRow(row);
      return acc.toDriftInputs();
    };
    const reference = make(10, 0);
    const features = [
      { name: 'amount', kind: 'numeric' as const },
      { name: 'age', kind: 'numeric' as const },
      { name: 'country', kind: 'categorical' as const },
    ];
    const quiet = computeDriftReport({ reference: reference.columns, current: make(11, 0).columns, features });
    expect(quiet.fired).toBe(false);
    const shifted = make(12, 0.5);
    const report = computeDriftReport({
      reference: reference.columns,
      current: shifted.columns,
      features,
      projections: { count: 8, seed: 1, reference: reference.completeRows, current: shifted.completeRows },
    });
    expect(report.firedFeatures).toEqual(['amount']);
    // The drift statistics use the sampled (non-missing) values, not all rows seen.
    expect(report.signals.find((s) => s.feature === 'amount')?.n_ref).toBe(reference.columns.numeric.amount.length);
    expect(report.signals.filter((s) => s.source === 'projection')).toHaveLength(8);
    expect(report.fired).toBe(true);
  });
});
