// Streaming curation (every sampling kind but none, while reading staged parts): the same result as
// curateWindow on the whole window (so the same snapshot bytes and hash) for uniform, reservoir,
// stratified and importance sampling, a sample bounded by k with at most one part decoded at a time,
// inclusion probability k/N for every row, stratum shares within one row, and the same errors.
import { describe, expect, it } from 'vitest';
import { curateWindow, dedupe, dropIncomplete, type CurationOptions } from '../../datasets/curation';
import { ProfileBuilder } from '../../datasets/profile';
import { encodeDataset, sha256Hex } from '../../datasets/snapshot';
import type { StagedColumns } from '../../datasets/staged-window';
import { curateStagedParts, type StreamableSampling } from '../../datasets/streaming-curation';
import { allIndices } from '../../datasets/sampling';
import { createRng } from '../../ml/random';
import { dataSpecSchema } from '../../spec/data-spec';

const layout = { numeric: ['x'], categorical: ['c'] };

/** Row i of a synthetic window: runs of 3 rows share a timestamp, pairs of rows share an entity (so entity_time dedupe has work). */
function rowsOf(n: number, seed: number, from = 0, to = n): StagedColumns {
  const rng = createRng(seed);
  const all = {
    eventTimeMs: Float64Array.from({ length: n }, (_, i) => 1_000 * Math.floor(i / 3)),
    labelAvailableMs: Float64Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 1_000 * Math.floor(i / 3) + 40_000 : Number.NaN)),
    entityIds: Array.from({ length: n }, (_, i) => `e${Math.floor(i / 2) % 37}`),
    labels: Float64Array.from({ length: n }, () => (rng.next() < 0.25 ? 1 : 0)),
    numeric: { x: Float64Array.from({ length: n }, (_, i) => (i % 53 === 7 ? Number.NaN : rng.normal())) },
    categorical: { c: Array.from({ length: n }, (_, i) => (i % 71 === 3 ? null : i % 3 === 0 ? 'a' : 'b')) },
    // w: the row number; v: missing (NaN) on every 5th row, zero on others, else 1-11.
    auxiliary: { w: Float64Array.from({ length: n }, (_, i) => i), v: Float64Array.from({ length: n }, (_, i) => (i % 5 === 0 ? Number.NaN : i % 7 === 0 ? 0 : (i % 11) + 1)) },
  };
  return slice(all, from, to);
}

function slice(columns: StagedColumns, from: number, to: number): StagedColumns {
  const map = <T>(record: Record<string, T>, f: (v: T) => T) => Object.fromEntries(Object.entries(record).map(([k, v]) => [k, f(v)]));
  return {
    eventTimeMs: columns.eventTimeMs.slice(from, to),
    labelAvailableMs: columns.labelAvailableMs.slice(from, to),
    entityIds: columns.entityIds.slice(from, to),
    labels: columns.labels.slice(from, to),
    numeric: map(columns.numeric, (v) => v.slice(from, to)),
    categorical: map(columns.categorical, (v) => v.slice(from, to)),
    auxiliary: map(columns.auxiliary, (v) => v.slice(from, to)),
  };
}

/** The window as parts of `partRows` rows, each built only when the reader asks for it; counts parts alive at once. */
function lazyParts(whole: StagedColumns, partRows: number) {
  const n = whole.eventTimeMs.length;
  const seen = { parts: 0 };
  return {
    seen,
    parts: async function* () {
      for (let from = 0; from < n; from += partRows) {
        seen.parts++;
        yield slice(whole, from, Math.min(n, from + partRows));
      }
    },
  };
}

function options(sampling: StreamableSampling, extra: Record<string, unknown> = {}, seed = 1): Omit<CurationOptions, 'hasEntity'> & { data: { sampling: StreamableSampling } & CurationOptions['data'] } {
  const data = dataSpecSchema.parse({ sampling, seed, ...extra });
  return { layout, task: 'binary_classification', data: { ...data, sampling }, validationFraction: 0.2 };
}

const stagedMeta = { layout, auxiliary: ['w', 'v'] };

describe('curateStagedParts', () => {
  const cases: [string, StreamableSampling, Record<string, unknown>, boolean | undefined][] = [
    ['uniform fraction, entity_time dedupe', { kind: 'uniform', fraction: 0.3 }, {}, true],
    ['uniform rows, dedupe by entity', { kind: 'uniform', rows: 20 }, { dedupe: { key: 'entity' } }, true],
    ['uniform, everything (fraction 1)', { kind: 'uniform', fraction: 1 }, { dedupe: { key: 'none' } }, true],
    ['reservoir, entity_time dedupe, downsampled', { kind: 'reservoir', rows: 150 }, { rebalance: { kind: 'downsample', targetPositiveRate: 0.5 } }, true],
    ['reservoir larger than the window', { kind: 'reservoir', rows: 5_000 }, { rebalance: { kind: 'upsample', targetPositiveRate: 0.4 } }, true],
    ['reservoir, no entity column (dedupe skipped)', { kind: 'reservoir', rows: 100 }, {}, false],
    ['reservoir, entity column detected from the rows', { kind: 'reservoir', rows: 100 }, { seed: 9 }, undefined],
    ['stratified by label, fraction, entity_time dedupe', { kind: 'stratified', column: 'label', fraction: 0.3 }, {}, true],
    ['stratified by a categorical feature, rows, dedupe by entity', { kind: 'stratified', column: 'c', rows: 11 }, { dedupe: { key: 'entity' } }, true],
    ['stratified by a numeric feature (a stratum per value), entity column detected', { kind: 'stratified', column: 'x', fraction: 0.5 }, { seed: 3 }, undefined],
    ['stratified, no entity column (dedupe skipped), downsampled', { kind: 'stratified', column: 'label', rows: 200 }, { rebalance: { kind: 'downsample', targetPositiveRate: 0.5 } }, false],
    ['stratified, everything (fraction 1)', { kind: 'stratified', column: 'c', fraction: 1 }, { dedupe: { key: 'none' } }, true],
    ['importance by an auxiliary column, entity_time dedupe', { kind: 'importance', weightColumn: 'w', rows: 100 }, {}, true],
    ['importance with missing and zero weights, dedupe by entity', { kind: 'importance', weightColumn: 'v', rows: 12 }, { dedupe: { key: 'entity' } }, undefined],
    ['importance asking for more rows than carry weight, upsampled', { kind: 'importance', weightColumn: 'v', rows: 5_000 }, { rebalance: { kind: 'upsample', targetPositiveRate: 0.4 } }, true],
  ];
  const passes = { uniform: 2, reservoir: 2, stratified: 2, importance: 3 };
  for (const [name, sampling, extra, hasEntity] of cases) {
    it(`gives curateWindow's result: ${name}`, async () => {
      const whole = rowsOf(1_000, 4);
      const known = hasEntity ?? whole.entityIds.some((id) => id !== '');
      const opts = options(sampling, extra);
      const expected = curateWindow(whole, { ...opts, hasEntity: known });
      // Part sizes that cut runs of equal timestamps and entity pairs in two.
      for (const partRows of [7, 64, 1_000]) {
        const { parts } = lazyParts(whole, partRows);
        const { curated, sample, stats } = await curateStagedParts(parts, { ...opts, windowRows: 1_000, staged: stagedMeta, hasEntity });
        expect(curated.columns).toEqual(expected.columns);
        expect(curated.steps).toEqual(expected.steps);
        expect([curated.trainRows, curated.validationRows, curated.cutoffMs]).toEqual([expected.trainRows, expected.validationRows, expected.cutoffMs]);
        expect(sha256Hex(encodeDataset(curated.columns, layout))).toBe(sha256Hex(encodeDataset(expected.columns, layout)));
        // The profile (manifest) of the natural rows: compact indices into the sample, global ones into the window.
        const profile = (cols: StagedColumns, rows: Int32Array) => new ProfileBuilder(layout, { seed: 1 }).add(cols, rows).finish();
        expect(profile(sample, curated.naturalRows)).toEqual(profile(whole, expected.naturalRows));
        expect(stats.sampleRows).toBe(expected.steps.find((s) => s.step === 'sampling')!.rowsAfter);
        expect(stats.partPasses).toBe(passes[sampling.kind]);
        expect(stats.peakRowsHeld).toBe(Math.min(partRows, 1_000) + stats.sampleRows);
        expect(stats.samplerPeak).toBeLessThanOrEqual(stats.sampleRows);
      }
    });
  }

  it('entity ids all empty: dedupe is skipped, as the in-memory path decides', async () => {
    const whole = rowsOf(300, 2);
    whole.entityIds.fill('');
    const opts = options({ kind: 'reservoir', rows: 50 });
    const { curated } = await curateStagedParts(lazyParts(whole, 32).parts, { ...opts, windowRows: 300, staged: stagedMeta });
    expect(curated.steps[1]).toEqual({ step: 'dedupe', rowsBefore: curated.steps[0].rowsAfter, rowsAfter: curated.steps[0].rowsAfter, detail: 'skipped: the source has no entity column' });
    expect(curated.columns).toEqual(curateWindow(whole, { ...opts, hasEntity: false }).columns);
  });

  it('holds at most k sampled rows and one part: a reservoir of 500 over 200,000 streamed rows', async () => {
    const n = 200_000;
    const partRows = 8_192;
    // Parts are generated on demand: the whole window never exists, so curation can only have had one part at a time.
    let generated = 0;
    const parts = async function* () {
      for (let from = 0; from < n; from += partRows) {
        generated += Math.min(partRows, n - from);
        const m = Math.min(partRows, n - from);
        yield {
          eventTimeMs: Float64Array.from({ length: m }, (_, i) => from + i),
          labelAvailableMs: new Float64Array(m).fill(Number.NaN),
          entityIds: Array.from({ length: m }, (_, i) => `u${from + i}`),
          labels: Float64Array.from({ length: m }, (_, i) => (from + i) % 2),
          numeric: { x: Float64Array.from({ length: m }, (_, i) => from + i) },
          categorical: { c: Array.from({ length: m }, () => 'a') },
          auxiliary: {},
        } satisfies StagedColumns;
      }
    };
    const { curated, sample, stats } = await curateStagedParts(parts, {
      ...options({ kind: 'reservoir', rows: 500 }),
      windowRows: n,
      staged: { layout, auxiliary: [] },
      hasEntity: true,
    });
    expect(sample.eventTimeMs.length).toBe(500);
    expect(curated.trainRows + curated.validationRows).toBe(500);
    expect(stats).toMatchObject({ windowRows: n, eligibleRows: n, sampleRows: 500, samplerPeak: 500, largestPartRows: partRows, peakRowsHeld: partRows + 500, bitsetBytes: 2 * (n / 8) });
    // entity_time dedupe over distinct timestamps holds one key at a time.
    expect(stats.dedupeKeysPeak).toBe(1);
    // Two passes read every part; the gather pass stops after the part holding the last sampled row.
    expect(generated).toBeGreaterThan(n);
    expect(generated).toBeLessThanOrEqual(2 * n);
    // Sorted, distinct, and spread over the whole stream (not the first rows).
    const times = Array.from(sample.eventTimeMs);
    expect(new Set(times).size).toBe(500);
    expect(times.every((t, i) => i === 0 || times[i - 1] < t)).toBe(true);
    expect(Math.max(...times)).toBeGreaterThan(0.9 * n);
  });

  it('includes every row with probability k/N (reservoir and uniform), within sampling error', async () => {
    const N = 1_000;
    const k = 50;
    const trials = 400;
    const whole: StagedColumns = {
      eventTimeMs: Float64Array.from({ length: N }, (_, i) => i),
      labelAvailableMs: new Float64Array(N).fill(Number.NaN),
      entityIds: Array.from({ length: N }, (_, i) => `u${i}`),
      labels: Float64Array.from({ length: N }, (_, i) => i % 2),
      numeric: { x: Float64Array.from({ length: N }, (_, i) => i) },
      categorical: { c: Array.from({ length: N }, () => 'a') },
      auxiliary: {},
    };
    for (const sampling of [{ kind: 'reservoir', rows: k }, { kind: 'uniform', rows: k }] as StreamableSampling[]) {
      const counts = new Float64Array(N);
      for (let seed = 1; seed <= trials; seed++) {
        const { sample, stats } = await curateStagedParts(lazyParts(whole, 64).parts, { ...options(sampling, { dedupe: { key: 'none' } }, seed), windowRows: N, staged: { layout, auxiliary: [] }, hasEntity: true });
        expect(stats.samplerPeak).toBeLessThanOrEqual(k);
        expect(sample.eventTimeMs.length).toBe(k);
        for (const t of sample.eventTimeMs) counts[t]++;
      }
      const expected = (trials * k) / N; // 20 draws per row
      // Chi-square over the rows: E ≈ N(1 - k/N) = 950, sd ≈ sqrt(2N) ≈ 45; 1,150 is > 4 sd out.
      const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
      expect(chi2, `${sampling.kind} chi2`).toBeLessThan(1_150);
      // Early and late rows alike (a reservoir bug shows as a bias toward one end): each tenth of the
      // stream holds 10% of the inclusions, within 8% relative (the sd is about 2.2%).
      for (let d = 0; d < 10; d++) {
        const share = counts.slice(d * 100, (d + 1) * 100).reduce((a, b) => a + b, 0) / (trials * k);
        expect(Math.abs(share - 0.1) / 0.1, `${sampling.kind} decile ${d}: ${share}`).toBeLessThan(0.08);
      }
      console.info(`${sampling.kind}: inclusion chi2 ${chi2.toFixed(1)} over ${N} rows, min ${Math.min(...counts)} max ${Math.max(...counts)} (expected ${expected} each)`);
    }
  });

  it('stratified: every stratum keeps its share of the eligible rows within one row, rare ones included, with each part read at most twice', async () => {
    const whole = rowsOf(2_000, 6);
    // A rare category, 1 row in 97: owed about 1.6 rows of a 10% sample.
    for (let i = 5; i < 2_000; i += 97) whole.categorical.c[i] = 'rare';
    // A numeric feature with a handful of values of very unequal frequency (-3 … 3; |x| = 3 is rare).
    whole.numeric.x = whole.numeric.x.map(Math.round);
    const eligible = dedupe(whole, dropIncomplete(whole, layout, allIndices(2_000)).kept, 'entity_time');
    const k = Math.round(eligible.length * 0.1);
    for (const [column, valueOf, strata] of [
      ['c', (cols: StagedColumns, row: number) => cols.categorical.c[row]!, 3],
      ['x', (cols: StagedColumns, row: number) => String(cols.numeric.x[row]), 7],
    ] as const) {
      const opts = options({ kind: 'stratified', column, fraction: 0.1 }, { seed: 11 });
      const population = new Map<string, number>();
      for (const row of eligible) population.set(valueOf(whole, row), (population.get(valueOf(whole, row)) ?? 0) + 1);
      const { parts, seen } = lazyParts(whole, 128);
      const { curated, sample, stats } = await curateStagedParts(parts, { ...opts, windowRows: 2_000, staged: stagedMeta, hasEntity: true });
      expect(curated.columns).toEqual(curateWindow(whole, { ...opts, hasEntity: true }).columns);
      expect(stats).toMatchObject({ eligibleRows: eligible.length, sampleRows: k, strata, partPasses: 2, peakRowsHeld: 128 + k });
      expect(seen.parts).toBeLessThanOrEqual(2 * Math.ceil(2_000 / 128));
      const kept = new Map<string, number>();
      for (let row = 0; row < k; row++) kept.set(valueOf(sample, row), (kept.get(valueOf(sample, row)) ?? 0) + 1);
      for (const [stratum, count] of population) {
        const share = (count * k) / eligible.length;
        expect(Math.abs((kept.get(stratum) ?? 0) - share), `${column} = ${stratum}`).toBeLessThan(1);
        if (share >= 1) expect(kept.get(stratum), `${column} = ${stratum}`).toBeGreaterThanOrEqual(1);
      }
      // The rare strata are the point: owed a row or two, they must not be lost to chance.
      expect(Math.min(...population.values()) * 0.1, column).toBeLessThan(2);
    }
  });

  it('importance by a numeric feature favours heavy rows, as the in-memory path does', async () => {
    const whole = rowsOf(3_000, 8);
    // |x| as the weight: finite and non-negative (NaN rows are incomplete, and dropped before sampling).
    whole.numeric.x = whole.numeric.x.map(Math.abs);
    const opts = options({ kind: 'importance', weightColumn: 'x', rows: 300 }, { dedupe: { key: 'none' } });
    const expected = curateWindow(whole, { ...opts, hasEntity: true });
    const { curated, stats } = await curateStagedParts(lazyParts(whole, 100).parts, { ...opts, windowRows: 3_000, staged: stagedMeta, hasEntity: true });
    expect(curated.columns).toEqual(expected.columns);
    expect(stats).toMatchObject({ sampleRows: 300, samplerPeak: 300, partPasses: 3, strata: 0 });
    // The mean |x| of a standard normal is 0.80; drawn in proportion to |x| it is E[x²]/E|x| = 1.25.
    const mean = (values: Float64Array) => values.reduce((a, b) => a + b, 0) / values.length;
    expect(mean(curated.columns.features.x)).toBeGreaterThan(1.1);
  });

  it('names the same bad weight, by its window row, as the in-memory path; a bad weight on a dropped row is ignored', async () => {
    const whole = rowsOf(1_000, 5);
    whole.auxiliary.v[7] = -5; // row 7 lacks x: dropped as incomplete before sampling
    whole.auxiliary.v[503] = -1;
    const opts = options({ kind: 'importance', weightColumn: 'v', rows: 10 }, { dedupe: { key: 'none' } });
    const message = 'row 503 has weight -1: importance weights must be finite and non-negative';
    expect(() => curateWindow(whole, { ...opts, hasEntity: true })).toThrow(message);
    await expect(curateStagedParts(lazyParts(whole, 64).parts, { ...opts, windowRows: 1_000, staged: stagedMeta, hasEntity: true })).rejects.toThrow(message);
    whole.auxiliary.v[503] = Infinity;
    await expect(curateStagedParts(lazyParts(whole, 64).parts, { ...opts, windowRows: 1_000, staged: stagedMeta, hasEntity: true })).rejects.toThrow('row 503 has weight Infinity');
  });

  it('refuses an unknown sampling column before reading any part, with the in-memory path\'s error', async () => {
    const whole = rowsOf(100, 1);
    for (const [sampling, message] of [
      [{ kind: 'stratified', column: 'zz', fraction: 0.5 }, 'data.sampling.column "zz" is neither "label" nor a feature of the model'],
      [{ kind: 'importance', weightColumn: 'nope', rows: 5 }, 'data.sampling.weightColumn "nope" was not pulled'],
    ] as [StreamableSampling, string][]) {
      const opts = options(sampling);
      expect(() => curateWindow(whole, { ...opts, hasEntity: true })).toThrow(message);
      const { parts, seen } = lazyParts(whole, 30);
      await expect(curateStagedParts(parts, { ...opts, windowRows: 100, staged: stagedMeta, hasEntity: true })).rejects.toThrow(message);
      expect(seen.parts).toBe(0);
    }
  });

  it('refuses parts that do not add up to the staged summary', async () => {
    const whole = rowsOf(100, 1);
    await expect(curateStagedParts(lazyParts(whole, 30).parts, { ...options({ kind: 'reservoir', rows: 10 }), windowRows: 120, staged: stagedMeta })).rejects.toThrow(
      'the staged window lists 120 rows but its parts hold 100; re-run the pull step',
    );
    await expect(curateStagedParts(lazyParts(whole, 30).parts, { ...options({ kind: 'reservoir', rows: 10 }), windowRows: 50, staged: stagedMeta })).rejects.toThrow('the staged window lists 50 rows but its parts hold more');
  });
});
