// The regression rules' exact semantics on small hand-made predictions: significant-regression vs
// non-inferiority, lower-is-better metrics, relative and combined bounds, floors as ceilings.
import { describe, expect, it } from 'vitest';
import { createRng } from '../../ml/random';
import { judgeCandidate } from '../../evaluation/gate';
import type { EvaluationSpecInput } from '../../evaluation/spec';

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** A champion and a near-copy of it (tiny independent noise): equally good, highly correlated. */
function twins(n = 2000): { labels: Float64Array; champion: Float64Array; twin: Float64Array; worse: Float64Array } {
  const rng = createRng(21);
  const labels = new Float64Array(n);
  const champion = new Float64Array(n);
  const twin = new Float64Array(n);
  const worse = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    labels[i] = rng.next() < sigmoid(2 * z) ? 1 : 0;
    const s = z + 0.5 * rng.normal();
    champion[i] = sigmoid(2 * s);
    twin[i] = sigmoid(2 * s + 0.05 * rng.normal());
    worse[i] = sigmoid(2 * (s + 0.35 * rng.normal()));
  }
  return { labels, champion, twin, worse };
}

describe('regression rules', () => {
  const { labels, champion, twin, worse } = twins();
  const judge = (spec: EvaluationSpecInput, candidate: Float64Array) =>
    judgeCandidate({ spec: { bootstrap: { resamples: 400, seed: 3 }, ...spec }, task: 'binary_classification', labels, candidate, champion });
  const check = (card: ReturnType<typeof judge>, rule: string) => card.checks.find((c) => c.rule === rule)!;

  it('significant_regression lets an equivalent model through; non_inferiority with margin 0 does not', () => {
    const lenient = judge({ maxRegression: { auc: { absolute: 0 } } }, twin);
    const diff = lenient.metrics.find((m) => m.name === 'auc')!.difference!;
    // The twin is neither better nor worse: the interval straddles 0.
    expect(diff.lower!).toBeLessThan(0);
    expect(diff.upper!).toBeGreaterThan(0);
    expect(check(lenient, 'max_regression.auc').status).toBe('pass');
    const strict = judge({ maxRegression: { auc: { absolute: 0 } }, regressionTest: 'non_inferiority' }, twin);
    expect(check(strict, 'max_regression.auc').status).toBe('fail');
    expect(check(strict, 'max_regression.auc').detail).toMatch(/reaches below 0\.0000: a regression beyond the allowed 0 absolute cannot be ruled out \(non-inferiority test\)/);
    // A margin wider than the interval makes non-inferiority pass.
    const margin = Math.abs(diff.lower!) * 1.5;
    expect(check(judge({ maxRegression: { auc: { absolute: margin } }, regressionTest: 'non_inferiority' }, twin), 'max_regression.auc').status).toBe('pass');
  });

  it('judges lower-is-better metrics on the upper side', () => {
    const card = judge({ maxRegression: { log_loss: { absolute: 0.01 }, auc: { absolute: 1 } } }, worse);
    const diff = card.metrics.find((m) => m.name === 'log_loss')!.difference!;
    expect(diff.lower!).toBeGreaterThan(0.01);
    expect(check(card, 'max_regression.log_loss').status).toBe('fail');
    expect(check(card, 'max_regression.log_loss').detail).toMatch(/is entirely above \+0\.0100/);
    // Allowing more than the interval's lower bound passes.
    const allowance = diff.lower! + 0.001;
    expect(check(judge({ maxRegression: { log_loss: { absolute: allowance }, auc: { absolute: 1 } } }, worse), 'max_regression.log_loss').status).toBe('pass');
  });

  it('scales a relative bound by the champion and applies the smaller of two bounds', () => {
    const card = judge({ maxRegression: { log_loss: { relative: 0.5 }, auc: { absolute: 1 } } }, worse);
    const championLogLoss = card.metrics.find((m) => m.name === 'log_loss')!.champion!.estimate!;
    expect(check(card, 'max_regression.log_loss').detail).toContain(`50% of champion ${championLogLoss.toFixed(4)} = ${(0.5 * championLogLoss).toFixed(4)}`);
    expect(check(card, 'max_regression.log_loss').status).toBe('pass');
    const both = judge({ maxRegression: { log_loss: { relative: 0.5, absolute: 0.01 }, auc: { absolute: 1 } } }, worse);
    expect(check(both, 'max_regression.log_loss').status).toBe('fail');
    expect(check(both, 'max_regression.log_loss').detail).toContain('allowed regression 0.01 absolute');
  });

  it('reads a floor on a lower-is-better metric as a ceiling', () => {
    const card = judge({ floors: { log_loss: 0.3, ece: 0.5 } }, twin);
    expect(check(card, 'floor.log_loss').status).toBe('fail');
    expect(check(card, 'floor.log_loss').detail).toMatch(/^0\.\d+ above the floor 0\.3 \(must be <= 0\.3\)$/);
    expect(check(card, 'floor.ece').status).toBe('pass');
  });

  it('fails closed when a floor metric cannot be computed', () => {
    const ones = new Float64Array(50).fill(1);
    const card = judgeCandidate({ spec: { floors: { auc: 0.5 } }, task: 'binary_classification', labels: ones, candidate: ones.map(() => 0.7) });
    expect(card.decision).toBe('fail');
    expect(card.reasons[0]).toMatch(/^floor\.auc: auc could not be computed/);
  });

  it('gates a regression task on MAE / RMSE with rmse as the default primary metric', () => {
    const rng = createRng(4);
    const n = 1000;
    const y = Float64Array.from({ length: n }, () => 10 * rng.normal());
    const good = y.map((v) => v + rng.normal());
    const bad = y.map((v) => v + 3 * rng.normal());
    const card = judgeCandidate({ spec: { floors: { mae: 2 } }, task: 'regression', labels: y, candidate: bad, champion: good });
    expect(card.primaryMetric).toEqual({ name: 'rmse', direction: 'lower_is_better' });
    expect(card.metrics.map((m) => m.name)).toEqual(['mae', 'rmse']);
    expect(card.calibration).toBeNull();
    expect(card.decision).toBe('fail');
    expect(card.reasons.some((r) => r.startsWith('floor.mae: '))).toBe(true);
    expect(card.reasons.some((r) => /^max_regression\.rmse: .* is entirely above 0\.0000 .*\[default rule\]$/.test(r))).toBe(true);
  });
});
