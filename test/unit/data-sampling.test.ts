// Curation sampling: uniform, stratified, reservoir and weighted samples have the right sizes and
// inclusion probabilities, are deterministic per seed, and rebalancing hits its target rate.
// Stratified draws depend only on each stratum's own rows (one rng per stratum), which is what lets
// the streaming curation reproduce them in window order.
import { describe, expect, it } from 'vitest';
import { createRng } from '../../ml/random';
import {
  allIndices,
  allocateStrata,
  deriveSeed,
  rebalance,
  Reservoir,
  reservoirSample,
  SamplingError,
  seededRng,
  stratifiedSample,
  stratifiedSelector,
  targetCount,
  uniformSample,
  WeightedReservoir,
  weightedSample,
} from '../../datasets/sampling';

const ascending = (a: Int32Array) => a.every((v, i) => i === 0 || a[i - 1] <= v);

describe('uniformSample', () => {
  it('draws exactly k distinct rows, in order, the same for the same seed', () => {
    const rows = allIndices(10_000);
    const a = uniformSample(rows, 1_234, createRng(5));
    expect(a.length).toBe(1_234);
    expect(new Set(a).size).toBe(1_234);
    expect(ascending(a)).toBe(true);
    expect(uniformSample(rows, 1_234, createRng(5))).toEqual(a);
    expect(uniformSample(rows, 1_234, createRng(6))).not.toEqual(a);
  });

  it('gives every row the same inclusion probability k/n (within 4 standard errors)', () => {
    const n = 50;
    const k = 10;
    const trials = 20_000;
    const hits = new Float64Array(n);
    const rng = createRng(11);
    for (let t = 0; t < trials; t++) for (const row of uniformSample(allIndices(n), k, rng)) hits[row]++;
    const p = k / n;
    const se = Math.sqrt((p * (1 - p)) / trials);
    for (const h of hits) expect(Math.abs(h / trials - p)).toBeLessThan(4 * se);
  });

  it('fraction budgets round to the nearest row', () => {
    expect(targetCount(1_000, { fraction: 0.1234 })).toBe(123);
    expect(targetCount(10, { rows: 50 })).toBe(10);
    expect(() => targetCount(10, {})).toThrow('sampling needs "fraction" or "rows"');
  });
});

describe('stratifiedSample', () => {
  it('keeps every stratum at its population share (largest remainder), including a rare one', () => {
    const n = 10_000;
    // 90% "a", 9% "b", 1% "c".
    const strata = Array.from({ length: n }, (_, i) => (i % 100 === 0 ? 'c' : i % 100 < 10 ? 'b' : 'a'));
    const picked = stratifiedSample(allIndices(n), (row) => strata[row], 500, 3);
    expect(picked.length).toBe(500);
    const count = (s: string) => Array.from(picked).filter((row) => strata[row] === s).length;
    expect([count('a'), count('b'), count('c')]).toEqual([450, 45, 5]);
    expect(ascending(picked)).toBe(true);
  });

  it('allocates k rows within one row of each stratum\'s share, exactly k in all, remainders to the largest then by key', () => {
    const rng = createRng(21);
    for (let trial = 0; trial < 200; trial++) {
      const counts = new Map<string, number>();
      const strata = 1 + rng.nextInt(12);
      for (let s = 0; s < strata; s++) counts.set(`s${s}`, 1 + rng.nextInt(rng.next() < 0.3 ? 5 : 2_000));
      const n = [...counts.values()].reduce((a, b) => a + b, 0);
      const k = rng.nextInt(n + 1);
      const alloc = allocateStrata(counts, k);
      expect([...alloc.values()].reduce((a, b) => a + b, 0)).toBe(k);
      for (const [key, count] of counts) {
        const share = (count * k) / n;
        expect(Math.abs(alloc.get(key)! - share)).toBeLessThan(1);
        expect(alloc.get(key)!).toBeLessThanOrEqual(count);
        // A stratum owed at least one row gets it.
        if (share >= 1) expect(alloc.get(key)!).toBeGreaterThanOrEqual(1);
      }
    }
    // Equal remainders: the leftover row goes to the first key in sorted order, whatever the map's order.
    expect([...allocateStrata(new Map([['b', 1], ['a', 1], ['c', 1]]), 1)]).toEqual([['a', 1], ['b', 0], ['c', 0]]);
    expect(() => allocateStrata(new Map([['a', 2]]), 3)).toThrow(SamplingError);
  });

  it('draws each stratum\'s rows from its own rng: its picks do not depend on the other strata or on how the rows interleave', () => {
    // Stratum "x" rows carry ids 0..999; the "y" rows around them differ between the two windows.
    const windowA = Array.from({ length: 3_000 }, (_, i) => (i % 3 === 0 ? { s: 'x', id: i / 3 } : { s: 'y', id: i }));
    const windowB = [...Array.from({ length: 1_000 }, (_, i) => ({ s: 'x', id: i })), ...Array.from({ length: 2_000 }, (_, i) => ({ s: 'y', id: 10_000 + i }))];
    const pickedX = (window: { s: string; id: number }[]) =>
      Array.from(stratifiedSample(allIndices(window.length), (row) => window[row].s, 300, 77))
        .filter((row) => window[row].s === 'x')
        .map((row) => window[row].id);
    // Both windows hold 1,000 "x" of 3,000 rows: "x" is owed 100 rows in each, and gets the same 100.
    const a = pickedX(windowA);
    expect(a).toHaveLength(100);
    expect(pickedX(windowB)).toEqual(a);
    expect(stratifiedSample(allIndices(3_000), (row) => windowA[row].s, 300, 78)).not.toEqual(stratifiedSample(allIndices(3_000), (row) => windowA[row].s, 300, 77));
  });

  it('is uniform inside a stratum: every row of a stratum is kept with probability alloc / size', () => {
    const n = 60;
    // 40 "a", 20 "b"; k = 15 → 10 and 5 rows: a quarter of each stratum.
    const strata = Array.from({ length: n }, (_, i) => (i % 3 === 2 ? 'b' : 'a'));
    const trials = 8_000;
    const hits = new Float64Array(n);
    for (let seed = 0; seed < trials; seed++) {
      const picked = stratifiedSample(allIndices(n), (row) => strata[row], 15, seed);
      expect(picked.length).toBe(15);
      for (const row of picked) hits[row]++;
    }
    const se = Math.sqrt((0.25 * 0.75) / trials);
    for (const h of hits) expect(Math.abs(h / trials - 0.25)).toBeLessThan(4.5 * se);
  });

  it('the selector is the sampler: fed rows one at a time it keeps what stratifiedSample keeps, and refuses an uncounted row', () => {
    const strata = Array.from({ length: 500 }, (_, i) => ['p', 'q', 'r'][(i * 7) % 3 === 0 ? 0 : i % 5 === 0 ? 1 : 2]);
    const counts = new Map<string, number>();
    for (const s of strata) counts.set(s, (counts.get(s) ?? 0) + 1);
    const take = stratifiedSelector(counts, 120, 5);
    const streamed = strata.flatMap((s, row) => (take(s) ? [row] : []));
    expect(streamed).toEqual(Array.from(stratifiedSample(allIndices(500), (row) => strata[row], 120, 5)));
    expect(() => take('p')).toThrow(SamplingError);
  });

  it('simple random sampling, by contrast, varies the rare class share from seed to seed', () => {
    const n = 10_000;
    const isRare = (row: number) => row % 100 === 0;
    const counts = new Set<number>();
    for (let seed = 0; seed < 20; seed++) counts.add(Array.from(uniformSample(allIndices(n), 500, createRng(seed))).filter(isRare).length);
    expect(counts.size).toBeGreaterThan(1);
  });
});

describe('Reservoir', () => {
  it('never holds more than its capacity, whatever the stream length', () => {
    const reservoir = new Reservoir<number>(100, createRng(1));
    for (let i = 0; i < 1_000_000; i++) {
      reservoir.offer(i);
      if (reservoir.items.length > 100) throw new Error(`reservoir grew to ${reservoir.items.length}`);
    }
    expect(reservoir.items.length).toBe(100);
    expect(reservoir.seen).toBe(1_000_000);
  });

  it('keeps each item with probability k/n', () => {
    const n = 40;
    const k = 8;
    const trials = 20_000;
    const hits = new Float64Array(n);
    const rng = createRng(2);
    for (let t = 0; t < trials; t++) {
      const reservoir = new Reservoir<number>(k, rng);
      for (let i = 0; i < n; i++) reservoir.offer(i);
      for (const item of reservoir.items) hits[item]++;
    }
    const p = k / n;
    const se = Math.sqrt((p * (1 - p)) / trials);
    for (const h of hits) expect(Math.abs(h / trials - p)).toBeLessThan(4 * se);
  });

  it('reservoirSample returns sorted row indices and rejects a zero capacity', () => {
    const sample = reservoirSample(allIndices(1_000), 50, createRng(4));
    expect(sample.length).toBe(50);
    expect(ascending(sample)).toBe(true);
    expect(() => new Reservoir(0, createRng(1))).toThrow(SamplingError);
  });
});

describe('weightedSample', () => {
  it('prefers heavy rows and never picks zero-weight rows', () => {
    const n = 1_000;
    const weights = Float64Array.from({ length: n }, (_, i) => (i < 100 ? 9 : i < 200 ? 0 : 1));
    const picked = weightedSample(allIndices(n), (row) => weights[row], 200, createRng(9));
    expect(picked.length).toBe(200);
    expect(new Set(picked).size).toBe(200);
    const heavy = Array.from(picked).filter((r) => r < 100).length;
    const zero = Array.from(picked).filter((r) => r >= 100 && r < 200).length;
    expect(zero).toBe(0);
    // Heavy rows have 9x the weight: far more than their 100/900 share of the light ones.
    expect(heavy).toBeGreaterThan(60);
  });

  it('first-draw inclusion matches w / sum(w) for a sample of one', () => {
    const weights = [1, 2, 3, 4];
    const hits = [0, 0, 0, 0];
    const rng = createRng(13);
    const trials = 40_000;
    for (let t = 0; t < trials; t++) hits[weightedSample(allIndices(4), (r) => weights[r], 1, rng)[0]]++;
    weights.forEach((w, i) => expect(hits[i] / trials).toBeCloseTo(w / 10, 1));
  });

  it('names a bad weight', () => {
    expect(() => weightedSample(allIndices(3), (r) => (r === 1 ? -2 : 1), 2, createRng(1))).toThrow('row 1 has weight -2: importance weights must be finite and non-negative');
    expect(() => weightedSample(Int32Array.from([4, 9]), (r) => (r === 9 ? Infinity : 1), 2, createRng(1))).toThrow('row 9 has weight Infinity');
  });

  it('WeightedReservoir fed row by row keeps what weightedSample keeps, drawing only for positive weights', () => {
    const weights = Float64Array.from({ length: 400 }, (_, i) => (i % 4 === 0 ? 0 : (i % 13) + 0.5));
    const reservoir = new WeightedReservoir(30, createRng(17));
    for (let row = 0; row < 400; row++) reservoir.offer(row, weights[row]);
    expect(reservoir.rows()).toEqual(weightedSample(allIndices(400), (row) => weights[row], 30, createRng(17)));
    // Zero weights take no draw: dropping those rows leaves the sample unchanged.
    const positive = allIndices(400).filter((row) => weights[row] > 0);
    expect(weightedSample(positive, (row) => weights[row], 30, createRng(17))).toEqual(reservoir.rows());
    expect(new WeightedReservoir(0, createRng(1)).rows()).toEqual(new Int32Array(0));
  });
});

describe('rebalance', () => {
  const labels = Float64Array.from({ length: 1_000 }, (_, i) => (i % 10 === 0 ? 1 : 0)); // 10% positives

  it('downsamples the majority class to the target positive rate', () => {
    const result = rebalance(allIndices(1_000), labels, 0.5, 'downsample', createRng(1));
    expect(result).toMatchObject({ positivesBefore: 100, negativesBefore: 900, positivesAfter: 100, negativesAfter: 100 });
    expect(ascending(result.indices)).toBe(true);
  });

  it('upsamples the minority class (systematic repeats) to the target rate', () => {
    const result = rebalance(allIndices(1_000), labels, 0.25, 'upsample', createRng(1));
    expect(result.negativesAfter).toBe(900);
    expect(result.positivesAfter).toBe(300);
    expect(result.positivesAfter / result.indices.length).toBeCloseTo(0.25, 2);
    // Every positive appears 3 times: repeats are systematic, not left to chance.
    const counts = new Map<number, number>();
    for (const row of result.indices) if (labels[row] === 1) counts.set(row, (counts.get(row) ?? 0) + 1);
    expect(new Set(counts.values())).toEqual(new Set([3]));
  });

  it('leaves a one-class split alone and rejects a rate outside (0, 1)', () => {
    const ones = new Float64Array(10).fill(1);
    expect(rebalance(allIndices(10), ones, 0.5, 'downsample', createRng(1)).indices.length).toBe(10);
    expect(() => rebalance(allIndices(10), labels, 1, 'downsample', createRng(1))).toThrow('targetPositiveRate must be in (0, 1)');
  });
});

describe('seeds', () => {
  it('derives different, stable per-step seeds', () => {
    expect(deriveSeed(42, 'sampling')).toBe(deriveSeed(42, 'sampling'));
    expect(deriveSeed(42, 'sampling')).not.toBe(deriveSeed(42, 'rebalance'));
    expect(seededRng(42, 'x').next()).toBe(seededRng(42, 'x').next());
    // Every UTF-16 unit counts: keys that differ only in the second half of a surrogate pair get different seeds.
    expect(deriveSeed(42, 'sampling:stratum:😀')).not.toBe(deriveSeed(42, 'sampling:stratum:😁'));
  });
});
