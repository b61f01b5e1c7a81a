// Behavioural tests against a known model, p = sigmoid(2 x0 - x1 + 0 x2 + 0.5 [cat = 1]), where the
// expected changes can be worked out: invariance, perturbation and directional expectations.
import { describe, expect, it } from 'vitest';
import { createMatrix, type DatasetMatrix } from '../../ml/dataset-matrix';
import { createRng } from '../../ml/random';
import { runBehaviouralTests, runDirectionalTest, runInvarianceTest, runPerturbationTest, type PredictFn } from '../../evaluation/behavioural';
import { parseEvaluationSpec, type BehaviouralTestSpec } from '../../evaluation/spec';

const FEATURES = ['x0', 'x1', 'x2', 'cat'];

function rows(n: number): DatasetMatrix {
  const rng = createRng(3);
  const m = createMatrix(FEATURES, n);
  for (let i = 0; i < n; i++) {
    m.data[i * 4] = rng.normal();
    m.data[i * 4 + 1] = rng.normal();
    m.data[i * 4 + 2] = rng.normal();
    m.data[i * 4 + 3] = i % 3; // categories 0, 1, 2
  }
  return m;
}

let calls = 0;
const predict: PredictFn = async (m) => {
  calls++;
  const out = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    const [x0, x1, , cat] = m.data.subarray(i * 4, i * 4 + 4);
    out[i] = 1 / (1 + Math.exp(-(2 * x0 - x1 + (cat === 1 ? 0.5 : 0))));
  }
  return out;
};

const tests = (raw: unknown[]) => parseEvaluationSpec({ behavioural: raw }).behavioural;

/** Narrows a parsed test to its kind (the run* functions take one kind each). */
function kind<K extends BehaviouralTestSpec['kind']>(test: BehaviouralTestSpec, k: K): Extract<BehaviouralTestSpec, { kind: K }> {
  if (test.kind !== k) throw new Error(`expected a ${k} test, got ${test.kind}`);
  return test as Extract<BehaviouralTestSpec, { kind: K }>;
}

describe('invariance', () => {
  const m = rows(300);

  it('passes for a feature the model ignores and fails for one it uses', async () => {
    const [ignored, used] = tests([
      { kind: 'invariance', name: 'x2', feature: 'x2', change: { setTo: 5 }, epsilon: 0 },
      { kind: 'invariance', name: 'x1', feature: 'x1', change: { setTo: 0 }, epsilon: 0.01 },
    ]);
    const a = await runInvarianceTest(kind(ignored, 'invariance'), m, predict);
    expect(a.passed).toBe(true);
    expect(a.measurements.maxAbsChange).toBe(0);
    const b = await runInvarianceTest(kind(used, 'invariance'), m, predict);
    expect(b.passed).toBe(false);
    expect(b.rowsTested).toBe(300);
    expect(b.detail).toMatch(/^"x1" set to 0: max \|change\| 0\.\d+ > epsilon 0\.01 \(\d+ of 300 rows over\)$/);
  });

  it('swaps categories: only rows holding a listed category are tested, each against every other one', async () => {
    // cat 0 <-> 2 never changes the prediction; moving to or from 1 shifts the logit by 0.5.
    const [zeroTwo, all] = tests([
      { kind: 'invariance', name: 'swap02', feature: 'cat', change: { swap: [0, 2] }, epsilon: 1e-12 },
      { kind: 'invariance', name: 'swap012', feature: 'cat', change: { swap: [0, 1, 2] }, epsilon: 0.2 },
    ]);
    const a = await runInvarianceTest(kind(zeroTwo, 'invariance'), m, predict);
    expect(a.passed).toBe(true);
    expect(a.rowsTested).toBe(200);
    const b = await runInvarianceTest(kind(all, 'invariance'), m, predict);
    expect(b.rowsTested).toBe(300);
    // The largest possible change of sigmoid from a 0.5 logit shift is at logit -0.25: sigmoid(0.25) - sigmoid(-0.25) = 0.1244.
    expect(b.measurements.maxAbsChange).toBeLessThanOrEqual(0.12435300177159628 + 1e-12);
    expect(b.measurements.maxAbsChange).toBeGreaterThan(0.12);
    expect(b.passed).toBe(true);
  });

  it('fails when no row holds any of the swapped categories', async () => {
    const [t] = tests([{ kind: 'invariance', name: 'none', feature: 'cat', change: { swap: [7, 8] } }]);
    const r = await runInvarianceTest(kind(t, 'invariance'), m, predict);
    expect(r).toMatchObject({ passed: false, rowsTested: 0 });
    expect(r.detail).toMatch(/nothing was tested/);
  });
});

describe('perturbation', () => {
  const m = rows(500);

  it('measures how far small noise moves predictions, reproducibly from the seed', async () => {
    // Only the numeric features: Gaussian noise on a category code (cat) would change the category itself.
    const [t] = tests([{ kind: 'perturbation', name: 'noise', features: ['x0', 'x1', 'x2'], sigma: 0.01, maxMeanChange: 0.01, maxP99Change: 0.02 }]);
    const a = await runPerturbationTest(kind(t, 'perturbation'), m, predict);
    const b = await runPerturbationTest(kind(t, 'perturbation'), m, predict);
    expect(a).toEqual(b);
    // |dp| <= 0.25 |d logit|, d logit = 2 e0 - e1 with e ~ N(0, 0.01^2): mean |d logit| ~ 0.0178, so mean |dp| < 0.0045.
    expect(a.measurements.meanAbsChange).toBeGreaterThan(0);
    expect(a.measurements.meanAbsChange).toBeLessThan(0.0045);
    expect(a.passed).toBe(true);
    const [loud] = tests([{ kind: 'perturbation', name: 'loud', sigma: 1, maxP99Change: 0.02, features: ['x0'] }]);
    const c = await runPerturbationTest(kind(loud, 'perturbation'), m, predict);
    expect(c.passed).toBe(false);
    expect(c.detail).toMatch(/^noise 1 x std on 1 feature\(s\): p99 \|change\| 0\.\d+ > 0\.02$/);
  });
});

describe('directional expectations', () => {
  const m = rows(400);

  it('checks the share of rows moving the expected way', async () => {
    const [up, down, wrong] = tests([
      { kind: 'directional', name: 'x0_up', feature: 'x0', delta: 0.5, expect: 'non_decreasing', minFraction: 1 },
      { kind: 'directional', name: 'x1_down', feature: 'x1', delta: 0.5, expect: 'non_increasing' },
      { kind: 'directional', name: 'x1_up', feature: 'x1', delta: 0.5, expect: 'non_decreasing' },
    ]);
    expect((await runDirectionalTest(kind(up, 'directional'), m, predict)).measurements.fractionPassing).toBe(1);
    expect((await runDirectionalTest(kind(down, 'directional'), m, predict)).passed).toBe(true);
    const r = await runDirectionalTest(kind(wrong, 'directional'), m, predict);
    expect(r.passed).toBe(false);
    // Every row's prediction falls when x1 rises (only rows saturated to within the 1e-6 tolerance pass).
    expect(r.measurements.fractionPassing).toBeLessThan(0.05);
    expect(r.detail).toMatch(/^"x1" \+ 0\.5: [\d.]+% of rows non-decreasing < 95% required$/);
  });
});

describe('runBehaviouralTests', () => {
  it('predicts the unchanged rows once and runs every test', async () => {
    const m = rows(100);
    calls = 0;
    const results = await runBehaviouralTests(
      tests([
        { kind: 'invariance', name: 'a', feature: 'x2', change: { setTo: 1 } },
        { kind: 'directional', name: 'b', feature: 'x0', delta: 1, expect: 'non_decreasing' },
      ]),
      m,
      predict,
    );
    expect(results.map((r) => [r.name, r.passed])).toEqual([['a', true], ['b', true]]);
    expect(calls).toBe(3);
  });

  it('rejects an unknown feature and a predict function returning the wrong length', async () => {
    const m = rows(10);
    await expect(runBehaviouralTests(tests([{ kind: 'invariance', name: 'a', feature: 'zip', change: { setTo: 1 } }]), m, predict)).rejects.toThrow(/no feature "zip"/);
    await expect(runBehaviouralTests(tests([{ kind: 'invariance', name: 'a', feature: 'x2', change: { setTo: 1 } }]), m, async () => new Float32Array(3))).rejects.toThrow(/returned 3 values for 10 rows/);
  });
});
