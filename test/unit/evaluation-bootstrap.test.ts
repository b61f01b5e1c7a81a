// The bootstrap: weighted kernels equal the plain metrics, intervals cover a known true AUC about
// as often as they claim, the paired interval is narrower than an unpaired one for correlated
// models, results are seeded, and 1000 resamples of 10k rows stay fast.
import { describe, expect, it } from 'vitest';
import { auc, CLASSIFICATION_METRICS, computeMetrics, REGRESSION_METRICS, type MetricName } from '../../ml/metrics';
import { createRng } from '../../ml/random';
import {
  bootstrapMetric,
  bootstrapMetrics,
  bootstrapReplicates,
  pairedBootstrap,
  percentileInterval,
} from '../../evaluation/bootstrap';
import { builtInKernel, kernelFromFunction } from '../../evaluation/metric-kernels';
import { quantileSorted } from '../../evaluation/stats';

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** Binary rows with tied, rounded probabilities (ties exercise the AUC tie groups). */
function tiedRows(seed: number, n: number): { labels: number[]; p: number[] } {
  const rng = createRng(seed);
  const labels: number[] = [];
  const p: number[] = [];
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    labels.push(rng.next() < sigmoid(1.5 * z) ? 1 : 0);
    p.push(Math.round(sigmoid(z + 0.5 * rng.normal()) * 20) / 20);
  }
  return { labels, p };
}

/**
 * Negatives score N(0, 1), positives N(sqrt 2, 1): the true AUC is
 * P(N(sqrt 2, 1) > N(0, 1)) = Phi(sqrt 2 / sqrt 2) = Phi(1) = 0.8413447460685429.
 */
const TRUE_AUC = 0.8413447460685429;
function binormalRows(seed: number, n: number): { labels: Float64Array; scores: Float64Array } {
  const rng = createRng(seed);
  const labels = new Float64Array(n);
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = rng.next() < 0.4 ? 1 : 0;
    scores[i] = rng.normal() + (labels[i] === 1 ? Math.SQRT2 : 0);
  }
  return { labels, scores };
}

describe('weighted metric kernels', () => {
  const { labels, p } = tiedRows(1, 600);

  it('equal the plain metrics with unit weights', () => {
    const ones = new Float64Array(labels.length).fill(1);
    const plain = computeMetrics('binary_classification', labels, p, { threshold: 0.45, eceBins: 7 });
    for (const name of CLASSIFICATION_METRICS) {
      const value = builtInKernel(name, { threshold: 0.45, eceBins: 7 }).prepare(labels, p)(ones);
      expect(Math.abs(value - (plain[name] as number)), name).toBeLessThan(1e-12);
    }
  });

  it('equal the plain metrics on the expanded resample with integer weights', () => {
    const rng = createRng(2);
    const weights = Float64Array.from(labels, () => rng.nextInt(4));
    const expandedLabels: number[] = [];
    const expandedP: number[] = [];
    weights.forEach((w, i) => {
      for (let c = 0; c < w; c++) {
        expandedLabels.push(labels[i]);
        expandedP.push(p[i]);
      }
    });
    const plain = computeMetrics('binary_classification', expandedLabels, expandedP);
    for (const name of CLASSIFICATION_METRICS) {
      expect(Math.abs(builtInKernel(name).prepare(labels, p)(weights) - (plain[name] as number)), name).toBeLessThan(1e-12);
    }
    const targets = labels.map((l, i) => l * 3 + p[i]);
    const expandedTargets = expandedLabels.map((l, i) => l * 3 + expandedP[i]);
    const regression = computeMetrics('regression', expandedTargets, expandedP);
    for (const name of REGRESSION_METRICS) {
      expect(Math.abs(builtInKernel(name).prepare(targets, p)(weights) - (regression[name] as number)), name).toBeLessThan(1e-10);
    }
  });

  it('mark a resample with one class as undefined (NaN) for AUC', () => {
    const weights = Float64Array.from(labels, (l) => (l === 1 ? 1 : 0));
    expect(builtInKernel('auc').prepare(labels, p)(weights)).toBeNaN();
  });
});

describe('bootstrap intervals', () => {
  it('use numpy-style linear percentiles', () => {
    // numpy.percentile([1, 2, 3, 4], 25) = 1.75; [10, 20] at 97.5% = 19.75.
    expect(quantileSorted([1, 2, 3, 4], 0.25)).toBe(1.75);
    expect(quantileSorted([10, 20], 0.975)).toBe(19.75);
    const ci = percentileInterval(0.5, Float64Array.from({ length: 101 }, (_, i) => i / 100), 0.9);
    expect(ci.lower).toBeCloseTo(0.05, 12);
    expect(ci.upper).toBeCloseTo(0.95, 12);
  });

  it('are reproducible from the seed and change with it', () => {
    const { labels, p } = tiedRows(3, 400);
    const a = bootstrapMetrics(labels, p, ['auc', 'log_loss'], { seed: 7, resamples: 200 });
    const b = bootstrapMetrics(labels, p, ['auc', 'log_loss'], { seed: 7, resamples: 200 });
    const c = bootstrapMetrics(labels, p, ['auc', 'log_loss'], { seed: 8, resamples: 200 });
    expect(a).toEqual(b);
    expect(a.auc.lower).not.toBe(c.auc.lower);
    expect(a.auc.estimate).toBe(auc(labels, p));
  });

  it('accept any metric through kernelFromFunction, on the same resamples as the built-in kernel', () => {
    const { labels, p } = tiedRows(4, 300);
    const custom = kernelFromFunction('auc_by_function', 'higher_is_better', (l, s) => auc(l, s));
    const table = bootstrapReplicates(labels, [p], ['auc', custom], { resamples: 100, seed: 1 });
    for (let r = 0; r < 100; r++) expect(Math.abs(table.replicates[0][0][r] - table.replicates[0][1][r])).toBeLessThan(1e-12);
  });

  it('cover the true AUC of a known data-generating process in about 95% of repetitions', () => {
    let covered = 0;
    const reps = 40;
    for (let rep = 0; rep < reps; rep++) {
      const { labels, scores } = binormalRows(100 + rep, 800);
      const ci = bootstrapMetric(labels, scores, 'auc', { seed: rep, resamples: 1000 });
      if ((ci.lower as number) <= TRUE_AUC && TRUE_AUC <= (ci.upper as number)) covered++;
    }
    console.log(`bootstrap 95% CI covered the true AUC in ${covered} of ${reps} repetitions`);
    expect(covered).toBeGreaterThanOrEqual(34);
    // An interval that covered every time would be too wide to be useful.
    expect(covered).toBeLessThanOrEqual(40);
  });

  it('give a paired difference interval much narrower than an unpaired one for correlated models', () => {
    const rng = createRng(9);
    const n = 3000;
    const labels = new Float64Array(n);
    const champion = new Float64Array(n);
    const candidate = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      labels[i] = rng.next() < sigmoid(2 * z) ? 1 : 0;
      const shared = z + 0.8 * rng.normal(); // both models see the same noisy signal ...
      champion[i] = sigmoid(shared);
      candidate[i] = sigmoid(shared + 0.2 * rng.normal() + 0.1 * z); // ... the candidate a little more of the truth
    }
    const paired = pairedBootstrap(labels, candidate, champion, ['auc', 'log_loss'], { seed: 1 });
    // Unpaired: the two models resampled independently (different seeds), differences replicate by replicate.
    const a = bootstrapReplicates(labels, [candidate], ['auc', 'log_loss'], { seed: 2 }).replicates[0];
    const b = bootstrapReplicates(labels, [champion], ['auc', 'log_loss'], { seed: 3 }).replicates[0];
    for (const [m, name] of (['auc', 'log_loss'] as MetricName[]).entries()) {
      const unpaired = percentileInterval(0, a[m].map((v, r) => v - b[m][r]), 0.95);
      const pairedWidth = (paired[name].difference.upper as number) - (paired[name].difference.lower as number);
      const unpairedWidth = (unpaired.upper as number) - (unpaired.lower as number);
      console.log(`${name}: paired width ${pairedWidth.toFixed(5)}, unpaired width ${unpairedWidth.toFixed(5)}`);
      expect(pairedWidth).toBeLessThan(0.5 * unpairedWidth);
    }
    // The paired interval shows the improvement is real; the unpaired one would straddle 0.
    expect(paired.auc.difference.lower as number).toBeGreaterThan(0);
    expect(paired.auc.difference.estimate).toBeCloseTo(auc(labels, candidate) - auc(labels, champion), 14);
  });

  it('report a null interval when the metric is undefined on most resamples', () => {
    const labels = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const p = labels.map((l, i) => 0.1 + 0.8 * l + i * 1e-3);
    const ci = bootstrapMetric(labels, p, 'auc', { resamples: 200 });
    // One positive in 20 rows: about (19/20)^20 = 36% of resamples have none, so AUC is undefined there.
    expect(ci.validResamples).toBeLessThan(200);
    expect(ci.validResamples).toBeGreaterThan(100);
    expect(ci.lower).not.toBeNull();
    // Fewer than half the replicates valid: no interval rather than one from a biased subset.
    const mostlyUndefined = percentileInterval(0.8, Float64Array.from({ length: 100 }, (_, r) => (r < 40 ? 0.8 : NaN)), 0.95);
    expect(mostlyUndefined).toMatchObject({ estimate: 0.8, lower: null, upper: null, validResamples: 40, resamples: 100 });
  });

  it('resample 10k rows 1000 times in well under the time a retrain step allows', () => {
    const rng = createRng(10);
    const n = 10_000;
    const labels = new Float64Array(n);
    const a = new Float64Array(n);
    const b = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      labels[i] = rng.next() < sigmoid(2 * z) ? 1 : 0;
      a[i] = sigmoid(z + 0.6 * rng.normal());
      b[i] = sigmoid(z + 0.7 * rng.normal());
    }
    const time = (f: () => void): number => {
      const start = performance.now();
      f();
      return performance.now() - start;
    };
    const aucOnly = time(() => bootstrapMetric(labels, a, 'auc'));
    const single = time(() => bootstrapMetrics(labels, a, CLASSIFICATION_METRICS));
    const paired = time(() => pairedBootstrap(labels, a, b, CLASSIFICATION_METRICS));
    console.log(`1000 x 10k rows: AUC alone ${aucOnly.toFixed(0)} ms; 7 metrics ${single.toFixed(0)} ms; paired, 7 metrics x 2 models ${paired.toFixed(0)} ms`);
    // Generous bounds for a shared CI machine; locally these take well under a second.
    expect(aucOnly).toBeLessThan(5_000);
    expect(paired).toBeLessThan(15_000);
  });
});
