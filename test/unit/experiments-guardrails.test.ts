// Canary guardrails: each check needs enough data before it judges, breaches only when the
// candidate is materially and significantly worse, and explains itself.
import { describe, expect, it } from 'vitest';
import { breaches, checkGuardrails, checkErrorRate, checkLatency, checkMetric, checkPredictionShift, type ArmObservation, type GuardrailSettings } from '../../experiments/guardrails';
import { createRng } from '../../ml/random';

const settings: GuardrailSettings = {
  metric: 'log_loss',
  minLabelled: 200,
  maxDegradation: 0.01,
  alpha: 0.05,
  maxErrorRateIncrease: 0.01,
  minRequests: 100,
  latencyP99Ratio: 1.5,
  latencySlackMs: 5,
  maxPredictionPsi: 0.25,
  minPredictions: 200,
};

function arm(overrides: Partial<ArmObservation> = {}, seed = 1, shift = 0): ArmObservation {
  const rng = createRng(seed);
  return {
    versionId: 'v',
    requests: 1000,
    errors: 0,
    metric: { n: 800, mean: 0.5, variance: 0.2 },
    latencyP99Ms: 4,
    predictions: Array.from({ length: 500 }, () => Math.min(1, Math.max(0, 0.3 + shift + 0.1 * rng.normal()))),
    ...overrides,
  };
}

describe('canary guardrails', () => {
  it('all ok for a candidate like the champion', () => {
    const checks = checkGuardrails(arm({}, 1), arm({}, 2), settings);
    expect(checks.map((c) => c.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(breaches(checks)).toEqual([]);
  });

  it('insufficient until each arm has enough data', () => {
    const thin = arm({ requests: 50, metric: { n: 40, mean: 0.9, variance: 0.2 }, predictions: [0.5, 0.6] });
    expect(checkGuardrails(thin, arm(), settings).map((c) => c.status)).toEqual(['insufficient', 'insufficient', 'insufficient', 'insufficient']);
  });

  it('metric: breach only when worse beyond the tolerance and significant', () => {
    const champion = arm();
    expect(checkMetric(arm({ metric: { n: 800, mean: 0.6, variance: 0.2 } }), champion, settings).status).toBe('breach');
    // Worse but within tolerance.
    expect(checkMetric(arm({ metric: { n: 800, mean: 0.505, variance: 0.2 } }), champion, settings).status).toBe('ok');
    // Worse beyond tolerance but too noisy to tell.
    expect(checkMetric(arm({ metric: { n: 200, mean: 0.53, variance: 2 } }), champion, settings).status).toBe('ok');
    // Better is never a breach; for accuracy, lower is worse.
    expect(checkMetric(arm({ metric: { n: 800, mean: 0.3, variance: 0.2 } }), champion, settings).status).toBe('ok');
    const acc = { ...settings, metric: 'accuracy' as const };
    const msg = checkMetric(arm({ metric: { n: 800, mean: 0.6, variance: 0.24 } }), arm({ metric: { n: 800, mean: 0.75, variance: 0.19 } }), acc);
    expect(msg.status).toBe('breach');
    expect(msg.message).toMatch(/^accuracy candidate 0\.6 vs champion 0\.75 \(worse by 0\.15/);
  });

  it('metric: looking after every batch of labels does not roll back an equal candidate by chance', () => {
    // 200 A/A canaries (identical per-request loss distributions), each looked at after every 25
    // labels per arm up to 2,000: a breach at any look is a false rollback.
    const rng = createRng(21);
    const loss = () => -Math.log(Math.min(1 - 1e-9, Math.max(1e-9, rng.next())));
    let falseRollbacks = 0;
    for (let e = 0; e < 200; e++) {
      const a = { n: 0, s: 0, ss: 0 };
      const b = { n: 0, s: 0, ss: 0 };
      for (let look = 0; look < 80; look++) {
        for (let i = 0; i < 25; i++) {
          const x = loss();
          const y = loss();
          a.n++, (a.s += x), (a.ss += x * x);
          b.n++, (b.s += y), (b.ss += y * y);
        }
        const summary = (t: typeof a) => ({ n: t.n, mean: t.s / t.n, variance: (t.ss - (t.s * t.s) / t.n) / (t.n - 1) });
        if (checkMetric(arm({ metric: summary(a) }), arm({ metric: summary(b) }), { ...settings, minLabelled: 25 }).status === 'breach') {
          falseRollbacks++;
          break;
        }
      }
    }
    expect(falseRollbacks / 200).toBeLessThanOrEqual(0.05);
  });

  it('error rate: excess over the champion, judged early when errors pile up', () => {
    expect(checkErrorRate(arm({ errors: 30 }), arm({ errors: 5 }), settings).status).toBe('breach');
    expect(checkErrorRate(arm({ errors: 12 }), arm({ errors: 5 }), settings).status).toBe('ok');
    expect(checkErrorRate(arm({ requests: 10, errors: 10 }), arm(), settings).status).toBe('breach');
    expect(checkErrorRate(arm({ requests: 10, errors: 0 }), arm(), settings).status).toBe('insufficient');
  });

  it('latency: ratio plus slack, and an absolute ceiling', () => {
    expect(checkLatency(arm({ latencyP99Ms: 10.9 }), arm({ latencyP99Ms: 4 }), settings).status).toBe('ok');
    expect(checkLatency(arm({ latencyP99Ms: 11.1 }), arm({ latencyP99Ms: 4 }), settings).status).toBe('breach');
    expect(checkLatency(arm({ latencyP99Ms: 9 }), arm({ latencyP99Ms: 4 }), { ...settings, latencyP99MaxMs: 8 }).status).toBe('breach');
  });

  it('prediction shift: PSI of the candidate against the champion', () => {
    expect(checkPredictionShift(arm({}, 1, 0.3), arm({}, 2), settings).status).toBe('breach');
    expect(checkPredictionShift(arm({}, 1, 0.01), arm({}, 2), settings).status).toBe('ok');
  });
});
