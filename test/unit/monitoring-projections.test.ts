// Random projections catch a shift spread thinly over many features that no single feature
// shows; prediction drift helpers; the share of drifted features.
import { describe, expect, it } from 'vitest';
import { createRng } from '../../ml/random';
import {
  fitStandardizer,
  predictionDriftSignals,
  projectColumns,
  projectionDriftSignals,
  randomDirections,
  shareOfDriftedFeatures,
} from '../../monitoring/projections';
import { evaluateFeatureDrift } from '../../monitoring/thresholds';

/** `d` independent features on assorted scales, each shifted by `shift` of its own std. */
function window(seed: number, rows: number, d: number, shift: number): Record<string, Float64Array> {
  const rng = createRng(seed);
  const columns: Record<string, Float64Array> = {};
  for (let j = 0; j < d; j++) {
    const scale = 1 + (j % 7);
    const offset = 10 * (j % 3);
    columns[`f${String(j).padStart(2, '0')}`] = Float64Array.from({ length: rows }, () => offset + scale * (shift + rng.normal()));
  }
  return columns;
}

describe('random projections', () => {
  it('are unit vectors, deterministic per seed', () => {
    const a = randomDirections(50, 4, 7);
    expect(randomDirections(50, 4, 7)).toEqual(a);
    expect(randomDirections(50, 4, 8)).not.toEqual(a);
    for (const w of a) expect(w.reduce((s, x) => s + x * x, 0)).toBeCloseTo(1, 12);
  });

  it('standardise both windows with the reference mean/std', () => {
    const ref = { a: Float64Array.from([0, 2]), b: Float64Array.from([10, 10]) };
    const standardizer = fitStandardizer(ref, ['a', 'b']);
    expect(Array.from(standardizer.mean)).toEqual([1, 10]);
    expect(Array.from(standardizer.std)).toEqual([1, 0]);
    // Direction (1, 0): the projection is (a - 1) / 1; the constant column b gets weight 0.
    const [projected] = projectColumns({ a: Float64Array.from([3]), b: Float64Array.from([99]) }, standardizer, [Float64Array.from([0.6, 0.8])]);
    expect(Array.from(projected)).toEqual([0.6 * 2]);
  });

  it('catch a shift spread thinly across 50 features where no single feature fires', () => {
    // Every feature moves by 0.06 of its std: each per-feature normalised Wasserstein stays near
    // 0.06 < 0.1. A unit direction w sees a shift of 0.06 * |sum(w_j)|, and sum(w_j) over 50
    // Gaussian weights scaled to unit length is ~ N(0, 1): among 64 directions several have
    // |sum| > 1.7 and so see a shift above 0.1 of their (unit) std.
    const rows = 20_000;
    const ref = window(1, rows, 50, 0);
    const cur = window(2, rows, 50, 0.06);
    const featureSignals = Object.keys(ref).map((name) => evaluateFeatureDrift('numeric', ref[name], cur[name], undefined, name));
    expect(featureSignals.filter((s) => s.fired)).toEqual([]);
    const largestFeature = Math.max(...featureSignals.map((s) => s.value));
    expect(largestFeature).toBeLessThan(0.1);

    const projections = projectionDriftSignals(ref, cur, { count: 64, seed: 3 });
    expect(projections).toHaveLength(64);
    expect(projections[0]).toMatchObject({ feature: 'projection:0', source: 'projection', method: 'wasserstein' });
    const fired = projections.filter((s) => s.fired).length;
    expect(fired).toBeGreaterThanOrEqual(1);
    const largestProjection = Math.max(...projections.map((s) => s.value));
    expect(largestProjection).toBeGreaterThan(0.1);
    console.log(`thin shift: largest feature W1/std ${largestFeature.toFixed(3)}, largest projection ${largestProjection.toFixed(3)}, ${fired} of 64 projections fired`);

    // The same check on a stationary pair stays quiet.
    const stationary = projectionDriftSignals(ref, window(3, rows, 50, 0), { count: 64, seed: 3 });
    expect(stationary.filter((s) => s.fired)).toEqual([]);
  });

  it('reject misaligned columns with a clear message', () => {
    const ref = { a: Float64Array.from([1, 2, 3]), b: Float64Array.from([1, 2]) };
    expect(() => projectionDriftSignals(ref, ref, { count: 2, seed: 1 })).toThrow(/reference column 'b' has 2 rows but 'a' has 3/);
    expect(() => projectionDriftSignals({ a: Float64Array.from([1, 2]) }, { c: Float64Array.from([1]) }, { count: 2, seed: 1 })).toThrow(
      /current window has no numeric column 'a'/,
    );
  });
});

describe('prediction drift', () => {
  const rng = createRng(9);
  const scores = (n: number, shift: number) => Float64Array.from({ length: n }, () => 1 / (1 + Math.exp(-(rng.normal() + shift))));

  it('tests scores as one numeric signal', () => {
    const [quiet] = predictionDriftSignals(scores(5000, 0), scores(5000, 0));
    expect(quiet).toMatchObject({ feature: 'prediction', source: 'prediction', kind: 'numeric', fired: false });
    const [shifted] = predictionDriftSignals(scores(5000, 0), scores(5000, 1));
    expect(shifted.fired).toBe(true);
  });

  it('tests class probabilities per class and labels as a categorical signal', () => {
    const probs = (n: number, p: number) => {
      const out = new Float64Array(n * 2);
      for (let i = 0; i < n; i++) {
        const q = Math.min(1, Math.max(0, p + 0.1 * rng.normal()));
        out[2 * i] = 1 - q;
        out[2 * i + 1] = q;
      }
      return { probabilities: out, classes: ['no', 'yes'] };
    };
    const perClass = predictionDriftSignals(probs(3000, 0.3), probs(3000, 0.5), undefined, 'churn');
    expect(perClass.map((s) => s.feature)).toEqual(['churn:no', 'churn:yes']);
    expect(perClass.every((s) => s.fired)).toBe(true);
    const labels = predictionDriftSignals(['a', 'b', 'a'], ['a', 'b', 'b'], undefined, 'label');
    expect(labels[0]).toMatchObject({ kind: 'categorical', method: 'chi2', source: 'prediction' });
    expect(() => predictionDriftSignals(scores(3, 0), ['a'])).toThrow(/must be scores \(Float64Array\) in both windows/);
  });
});

describe('shareOfDriftedFeatures', () => {
  it('is the fired fraction, 0 for no signals', () => {
    expect(shareOfDriftedFeatures([])).toBe(0);
    expect(shareOfDriftedFeatures([{ fired: true }, { fired: false }, { fired: false }, { fired: true }])).toBe(0.5);
  });
});
