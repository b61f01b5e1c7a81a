// The default drift policy and its overrides, judged on what a user cares about: stationary large
// windows stay quiet, a 0.3-std shift fires, small windows use the test, overrides change the
// decision, bad policies are rejected with a path, and false alarms stay rare.
import { describe, expect, it } from 'vitest';
import { createRng } from '../../ml/random';
import { evaluateFeatureDrift, parseDriftPolicy, psiBand, resolveDriftPolicy } from '../../monitoring/thresholds';

function normals(seed: number, n: number, shift = 0, scale = 1): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length: n }, () => shift + scale * rng.normal());
}

function draws(seed: number, n: number, weights: number[]): string[] {
  const rng = createRng(seed);
  const total = weights.reduce((s, w) => s + w, 0);
  return Array.from({ length: n }, () => {
    let u = rng.next() * total;
    for (let k = 0; k < weights.length; k++) {
      u -= weights[k];
      if (u < 0) return `cat${k}`;
    }
    return `cat${weights.length - 1}`;
  });
}

describe('default policy on numeric features', () => {
  it('does not fire on a stationary pair of large samples, and fires on a 0.3-std mean shift', () => {
    const ref = normals(1, 5000, 10, 2);
    const quiet = evaluateFeatureDrift('numeric', ref, normals(2, 5000, 10, 2), undefined, 'age');
    expect(quiet).toMatchObject({ feature: 'age', kind: 'numeric', method: 'wasserstein', threshold: 0.1, fired: false, n_ref: 5000, n_cur: 5000 });
    expect(quiet.value).toBeLessThan(0.05);
    const shifted = evaluateFeatureDrift('numeric', ref, normals(3, 5000, 10 + 0.3 * 2, 2), undefined, 'age');
    expect(shifted.method).toBe('wasserstein');
    expect(shifted.fired).toBe(true);
    expect(shifted.value).toBeGreaterThan(0.25);
    // All statistics come along whichever one decides.
    expect(shifted.statistics.ks.pValue).toBeLessThan(1e-10);
    expect(shifted.psiBand).not.toBe('none');
  });

  it('does not over-fire on a tiny shift in huge windows, where the KS test alone would', () => {
    const ref = normals(4, 200_000);
    const signal = evaluateFeatureDrift('numeric', ref, normals(5, 200_000, 0.03), undefined, 'latency');
    expect(signal.statistics.ks.pValue).toBeLessThan(1e-6); // "significant", yet irrelevant
    expect(signal.value).toBeLessThan(0.05);
    expect(signal.fired).toBe(false);
  });

  it('uses the KS test when a window has 1000 rows or fewer', () => {
    const ref = normals(6, 1000);
    const quiet = evaluateFeatureDrift('numeric', ref, normals(7, 300), undefined, 'age');
    expect(quiet).toMatchObject({ method: 'ks', threshold: 0.05, firesWhen: 'below', fired: false });
    expect(quiet.value).toBe(quiet.statistics.ks.pValue);
    expect(quiet.statistics.ks.method).toBe('exact');
    const shifted = evaluateFeatureDrift('numeric', ref, normals(8, 300, 0.4), undefined, 'age');
    expect(shifted).toMatchObject({ method: 'ks', fired: true });
    // Exactly 1000 rows is not "more than 1000".
    expect(evaluateFeatureDrift('numeric', normals(9, 1001), normals(10, 1000), undefined, 'age').method).toBe('ks');
    expect(evaluateFeatureDrift('numeric', normals(9, 1001), normals(10, 1001), undefined, 'age').method).toBe('wasserstein');
  });
});

describe('default policy on categorical features', () => {
  const weights = [40, 25, 15, 10, 6, 4];

  it('uses the JS distance above 1000 rows and the chi-square test below', () => {
    const ref = draws(11, 20_000, weights);
    const quiet = evaluateFeatureDrift('categorical', ref, draws(12, 20_000, weights), undefined, 'country');
    expect(quiet).toMatchObject({ method: 'js', threshold: 0.1, fired: false });
    const shifted = evaluateFeatureDrift('categorical', ref, draws(13, 20_000, [20, 25, 15, 10, 6, 24]), undefined, 'country');
    expect(shifted).toMatchObject({ method: 'js', fired: true });
    const small = evaluateFeatureDrift('categorical', draws(14, 300, weights), draws(15, 200, [20, 25, 15, 10, 6, 24]), undefined, 'country');
    expect(small).toMatchObject({ method: 'chi2', firesWhen: 'below', fired: true });
    expect(evaluateFeatureDrift('categorical', draws(14, 300, weights), draws(16, 200, weights), undefined, 'country').fired).toBe(false);
  });
});

describe('overrides', () => {
  const ref = normals(20, 200_000);
  const cur = normals(21, 200_000, 0.03);

  it('change the decision per feature', () => {
    expect(evaluateFeatureDrift('numeric', ref, cur, undefined, 'latency').fired).toBe(false);
    // Force the KS test for this feature: now the tiny shift fires.
    const ks = evaluateFeatureDrift('numeric', ref, cur, { features: { latency: { method: 'ks' } } }, 'latency');
    expect(ks).toMatchObject({ method: 'ks', fired: true, reason: 'method set for this feature' });
    // Tighter Wasserstein bound for this feature only, keeping the automatic switch.
    const tight = { features: { latency: { thresholds: { wasserstein: 0.02 } } } };
    expect(evaluateFeatureDrift('numeric', ref, cur, tight, 'latency')).toMatchObject({ method: 'wasserstein', threshold: 0.02, fired: true });
    expect(evaluateFeatureDrift('numeric', ref, cur, tight, 'other').fired).toBe(false);
    // Raise the row bound so 200k rows still count as "small": the test decides.
    expect(evaluateFeatureDrift('numeric', ref, cur, { features: { latency: { minRowsForDistance: 1e6 } } }, 'latency').method).toBe('ks');
    // Global defaults.
    expect(evaluateFeatureDrift('numeric', ref, cur, { defaults: { thresholds: { wasserstein: 0.01 } } }, 'latency').fired).toBe(true);
    const psi = evaluateFeatureDrift('numeric', ref, cur, { defaults: { numericDistance: 'psi' } }, 'latency');
    expect(psi).toMatchObject({ method: 'psi', threshold: 0.25, fired: false });
    expect(psi.value).toBe(psi.statistics.psi.value);
  });

  it('rejects ambiguous or out-of-range policies with the path of the problem', () => {
    expect(() => parseDriftPolicy({ features: { age: { threshold: 0.2 } } })).toThrow(/drift\.features\.age\.threshold: a threshold needs a method/);
    expect(() => parseDriftPolicy({ features: { age: { method: 'ks', threshold: 5 } } })).toThrow(/significance level/);
    expect(() => parseDriftPolicy({ defaults: { thresholds: { js: 1.5 } } })).toThrow(/drift\.defaults\.thresholds\.js: threshold for js must be at most 1/);
    expect(() => parseDriftPolicy({ defaults: { psiBands: { moderate: 0.3, significant: 0.2 } } })).toThrow(/moderate must be below/);
    expect(() => parseDriftPolicy({ features: { age: { method: 'kl' } } })).toThrow(/drift\.features\.age\.method/);
    expect(() => parseDriftPolicy({ defaults: { minRows: 5 } })).toThrow(/drift\.defaults/);
    // A method that does not fit the feature's kind is caught when the feature is evaluated.
    expect(() => evaluateFeatureDrift('numeric', ref, cur, { features: { latency: { method: 'js' } } }, 'latency')).toThrow(
      /feature 'latency' is numeric but its method is 'js'; use one of wasserstein, ks, psi/,
    );
    expect(resolveDriftPolicy().thresholds).toEqual({ wasserstein: 0.1, ks: 0.05, psi: 0.25, js: 0.1, chi2: 0.05, linf: 0.1 });
  });

  it('reports PSI in moderate (0.1) and significant (0.25) bands', () => {
    expect(psiBand(0.05)).toBe('none');
    expect(psiBand(0.1)).toBe('moderate');
    expect(psiBand(0.2)).toBe('moderate');
    expect(psiBand(0.25)).toBe('significant');
    expect(psiBand(0.15, { moderate: 0.05, significant: 0.15 })).toBe('significant');
  });
});

describe('false alarms', () => {
  it('fires on at most 2 of 50 stationary windows of 2000 rows, per feature', () => {
    const features: Record<string, { kind: 'numeric' | 'categorical'; draw: (seed: number) => Float64Array | string[] }> = {
      gaussian: { kind: 'numeric', draw: (seed) => normals(seed, 2000, 50, 10) },
      lognormal: { kind: 'numeric', draw: (seed) => normals(seed, 2000).map((x) => Math.exp(x)) },
      // Discrete with heavy ties: small integers.
      counts: { kind: 'numeric', draw: (seed) => normals(seed, 2000).map((x) => Math.max(0, Math.round(2 + 1.5 * x))) },
      plan: { kind: 'categorical', draw: (seed) => draws(seed, 2000, [50, 30, 12, 5, 2, 1]) },
    };
    const firedCounts: Record<string, number> = {};
    const largestValue: Record<string, number> = {};
    for (const [name, feature] of Object.entries(features)) {
      const ref = feature.draw(1000);
      let fired = 0;
      for (let w = 0; w < 50; w++) {
        const cur = feature.draw(2000 + w);
        const signal =
          feature.kind === 'numeric'
            ? evaluateFeatureDrift('numeric', ref as Float64Array, cur as Float64Array, undefined, name)
            : evaluateFeatureDrift('categorical', ref as string[], cur as string[], undefined, name);
        if (signal.fired) fired += 1;
        largestValue[name] = Math.max(largestValue[name] ?? 0, signal.value);
      }
      firedCounts[name] = fired;
    }
    console.log(`false alarms out of 50 stationary windows of 2000 rows: ${JSON.stringify(firedCounts)}; largest distance (threshold 0.1): ${JSON.stringify(largestValue)}`);
    for (const count of Object.values(firedCounts)) expect(count).toBeLessThanOrEqual(2);
  });
});
