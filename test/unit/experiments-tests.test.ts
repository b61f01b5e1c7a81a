// Behaviour of the rollout statistics beyond matching scipy: sample sizes deliver their power,
// the mSPRT keeps its type I error under continuous peeking (where re-running a z-test does not),
// and the A/B verdict picks the right arm.
import { describe, expect, it } from 'vitest';
import { decideAb, type AbSettings } from '../../experiments/ab-decision';
import { assignmentBucket, BUCKETS, inFirstPercent } from '../../experiments/assignment';
import { metricValue } from '../../experiments/online-metrics';
import { sampleSizeTwoMeans, sampleSizeTwoProportions } from '../../experiments/sample-size';
import { msprtNormal, msprtTwoProportions } from '../../experiments/sequential';
import { summarize, summaryFromSums, twoProportionZTest } from '../../experiments/two-sample';
import { createRng } from '../../ml/random';

describe('sample size', () => {
  it('gives the power it promises (simulated two-proportion z-tests)', () => {
    const n = sampleSizeTwoProportions(0.3, 0.05, { alpha: 0.05, power: 0.8 });
    expect(n).toBeGreaterThan(1000);
    const rng = createRng(11);
    let rejections = 0;
    const trials = 400;
    for (let t = 0; t < trials; t++) {
      let a = 0;
      let b = 0;
      for (let i = 0; i < n; i++) {
        if (rng.next() < 0.3) a++;
        if (rng.next() < 0.35) b++;
      }
      if (twoProportionZTest({ n, successes: a }, { n, successes: b }).pValue < 0.05) rejections++;
    }
    // Power 0.8 ± 3 binomial standard errors (0.02 each at 400 trials).
    expect(rejections / trials).toBeGreaterThan(0.74);
    expect(rejections / trials).toBeLessThan(0.86);
  });

  it('grows with the inverse square of the effect and refuses nonsense', () => {
    const small = sampleSizeTwoMeans(1, 0.05, { alpha: 0.05, power: 0.8 });
    const large = sampleSizeTwoMeans(1, 0.1, { alpha: 0.05, power: 0.8 });
    expect(small / large).toBeCloseTo(4, 1);
    expect(sampleSizeTwoMeans(1, 0.1, { alpha: 0.05, power: 0.8, alternative: 'greater' })).toBeLessThan(large);
    expect(() => sampleSizeTwoProportions(0.98, 0.05, { alpha: 0.05, power: 0.8 })).toThrow(/baseline \+ mde must be in \(0, 1\)/);
    expect(() => sampleSizeTwoMeans(1, 0.1, { alpha: 1.5, power: 0.8 })).toThrow(/alpha must be in \(0, 1\)/);
  });
});

describe('mSPRT (always-valid p-values)', () => {
  // 300 A/A experiments, each looked at after every batch of 50 per arm up to 3000 per arm.
  function peekingFalsePositives(useMsprt: boolean): number {
    const rng = createRng(5);
    let falsePositives = 0;
    for (let e = 0; e < 300; e++) {
      let a = 0;
      let b = 0;
      let n = 0;
      let p = 1;
      let rejected = false;
      while (n < 3000 && !rejected) {
        for (let i = 0; i < 50; i++) {
          if (rng.next() < 0.2) a++;
          if (rng.next() < 0.2) b++;
        }
        n += 50;
        if (useMsprt) {
          p = msprtTwoProportions({ n, successes: a }, { n, successes: b }, { tau: 0.02, previousPValue: p }).pValue;
          rejected = p < 0.05;
        } else {
          rejected = twoProportionZTest({ n, successes: a }, { n, successes: b }).pValue < 0.05;
        }
      }
      if (rejected) falsePositives++;
    }
    return falsePositives / 300;
  }

  it('keeps the type I error under continuous peeking, where a peeked z-test does not', () => {
    expect(peekingFalsePositives(true)).toBeLessThanOrEqual(0.05 + 0.03);
    expect(peekingFalsePositives(false)).toBeGreaterThan(0.15);
  });

  it('detects a real effect and never lets the p-value increase', () => {
    const rng = createRng(9);
    let a = 0;
    let b = 0;
    let p = 1;
    let stoppedAt = 0;
    for (let n = 100; n <= 20000; n += 100) {
      for (let i = 0; i < 100; i++) {
        if (rng.next() < 0.2) a++;
        if (rng.next() < 0.25) b++;
      }
      const next = msprtTwoProportions({ n, successes: a }, { n, successes: b }, { tau: 0.05, previousPValue: p });
      expect(next.pValue).toBeLessThanOrEqual(p);
      p = next.pValue;
      if (p < 0.05) {
        stoppedAt = n;
        expect(next.confidenceInterval[0]).toBeGreaterThan(0);
        break;
      }
    }
    expect(stoppedAt).toBeGreaterThan(0);
  });

  it('matches the closed form of the two-sample statistic in the paper', () => {
    // Λ_n = sqrt(2σ²/(2σ²+nτ²)) exp(n²τ²Δ² / (4σ²(2σ²+nτ²))) with V = 2σ²/n.
    const sigma2 = 0.7;
    const n = 400;
    const tau = 0.15;
    const delta = 0.12;
    const expected = 0.5 * Math.log((2 * sigma2) / (2 * sigma2 + n * tau * tau)) + (n * n * tau * tau * delta * delta) / (4 * sigma2 * (2 * sigma2 + n * tau * tau));
    expect(msprtNormal(delta, (2 * sigma2) / n, { tau }).logLikelihoodRatio).toBeCloseTo(expected, 12);
  });
});

describe('summaries', () => {
  it('from running sums agree with Welford', () => {
    const rng = createRng(3);
    const values = Array.from({ length: 999 }, () => 0.5 + rng.normal() * 0.2);
    const sums = values.reduce((acc, v) => ({ s: acc.s + v, q: acc.q + v * v }), { s: 0, q: 0 });
    const a = summaryFromSums(values.length, sums.s, sums.q);
    const b = summarize(values);
    expect(a.mean).toBeCloseTo(b.mean, 12);
    expect(a.variance).toBeCloseTo(b.variance, 10);
  });

  it('per-request metrics', () => {
    expect(metricValue('log_loss', 0.8, 1)).toBeCloseTo(-Math.log(0.8), 14);
    expect(metricValue('log_loss', 0, 1)).toBeCloseTo(-Math.log(1e-15), 10);
    expect(metricValue('brier', 0.8, 0)).toBeCloseTo(0.64, 14);
    expect(metricValue('accuracy', 0.5, 1)).toBe(1);
    expect(metricValue('accuracy', 0.49, 1)).toBe(0);
    expect(metricValue('outcome_rate', 0.1, 1)).toBe(1);
  });
});

describe('A/B verdict', () => {
  const settings: AbSettings = { metric: 'accuracy', alpha: 0.05, samplesPerArm: 1000, sequential: false, tau: 0.05, minSamplesPerLook: 100, maxSampleFactor: 2 };
  const arm = (n: number, rate: number) => ({ n, mean: rate, variance: (rate * (1 - rate) * n) / (n - 1) });

  it('waits for the planned sample, then names the better arm', () => {
    expect(decideAb(arm(500, 0.7), arm(500, 0.8), settings).decision).toBe('continue');
    expect(decideAb(arm(1000, 0.7), arm(1000, 0.8), settings).decision).toBe('treatment');
    expect(decideAb(arm(1000, 0.8), arm(1000, 0.7), settings).decision).toBe('control');
    expect(decideAb(arm(1000, 0.7), arm(1000, 0.705), settings).decision).toBe('inconclusive');
  });

  it('for a loss, lower wins', () => {
    const loss = { ...settings, metric: 'log_loss' as const };
    const a = { n: 1000, mean: 0.45, variance: 0.1 };
    const b = { n: 1000, mean: 0.52, variance: 0.1 };
    expect(decideAb(a, b, loss).decision).toBe('control');
    expect(decideAb(b, a, loss).decision).toBe('treatment');
  });

  it('sequentially, stops early on a large effect and carries the running p-value', () => {
    const seq = { ...settings, sequential: true };
    const early = decideAb(arm(300, 0.6), arm(300, 0.8), seq);
    expect(early.decision).toBe('treatment');
    const flat = decideAb(arm(300, 0.7), arm(300, 0.7), seq, 0.2);
    expect(flat.decision).toBe('continue');
    expect(flat.pValue).toBeLessThanOrEqual(0.2);
    expect(decideAb(arm(2000, 0.7), arm(2000, 0.7), seq).decision).toBe('inconclusive');
  });
});

describe('sticky assignment', () => {
  it('is deterministic, uniform, and independent across salts', () => {
    expect(assignmentBucket('exp1', 'user-42')).toBe(assignmentBucket('exp1', 'user-42'));
    const counts = new Array(10).fill(0);
    let agree = 0;
    for (let i = 0; i < 20000; i++) {
      const b = assignmentBucket('exp1', `u${i}`);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(BUCKETS);
      counts[Math.floor(b / 1000)]++;
      if (inFirstPercent(b, 50) === inFirstPercent(assignmentBucket('exp2', `u${i}`), 50)) agree++;
    }
    // Chi-square with 9 dof: 99.9% quantile is 27.9.
    const chi2 = counts.reduce((s, c) => s + ((c - 2000) ** 2) / 2000, 0);
    expect(chi2).toBeLessThan(27.9);
    expect(agree / 20000).toBeGreaterThan(0.48);
    expect(agree / 20000).toBeLessThan(0.52);
  });

  it('keeps every canary unit when the share grows (monotone ramp)', () => {
    for (let i = 0; i < 5000; i++) {
      const b = assignmentBucket('rollout/ctr/ctr@v2', `u${i}`);
      if (inFirstPercent(b, 5)) expect(inFirstPercent(b, 25)).toBe(true);
      if (inFirstPercent(b, 25)) expect(inFirstPercent(b, 50)).toBe(true);
    }
    // Pinned values (computed with Python's hashlib): the bucket function must never change between
    // releases, or replicas and restarts would disagree about who is in which arm.
    expect(assignmentBucket('salt', 'unit-1')).toBe(9320);
    expect(assignmentBucket('rollout/ctr/ctr@v2', 'user-7')).toBe(7516);
  });
});
