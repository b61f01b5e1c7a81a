// Behavioural tests against a known model, p = sigmoid(2 x0 - x1 + 0 x2 + 0.5 [cat = 1]), where the
// expected changes can be worked out: invariance, perturbation and directional expectations; then
// the same tests on categorical (string) features, against real onnxruntime sessions of exported
// models whose categorical effects are known, and the errors for values of the wrong type.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMatrix, type DatasetMatrix } from '../../ml/dataset-matrix';
import { exportTabularToOnnx } from '../../ml/onnx';
import { OnnxModel } from '../../ml/onnx-runtime';
import { createRng } from '../../ml/random';
import type { TabularFrame } from '../../ml/tabular/encoding';
import type { TabularModel } from '../../ml/tabular/model';
import { runBehaviouralTests, runDirectionalTest, runInvarianceTest, runPerturbationTest, type PredictFn } from '../../evaluation/behavioural';
import { behaviouralTestProblems, InvalidEvaluationSpecError, parseEvaluationSpec, type BehaviouralTestSpec } from '../../evaluation/spec';

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

// ---- categorical (string) features, against onnxruntime ------------------------------------

const REGIONS = ['north', 'south', 'east'];
const REGION_EFFECT: Record<string, number> = { north: 0.5, south: -0.5, east: 0 };
type GenderEffect = { f: number; m: number };

/**
 * An exported logistic regression with one-hot categoricals: logit = -0.2 + x0 - 0.5 x1 + region
 * effect + gender effect, where an unseen or missing category adds 0 (an all-zero one-hot block).
 */
function categoricalModel(gender: GenderEffect): TabularModel {
  return {
    kind: 'logistic_regression',
    task: 'binary_classification',
    numericFeatures: ['x0', 'x1'],
    categorical: [
      { name: 'region', vocabulary: REGIONS },
      { name: 'gender', vocabulary: ['f', 'm'] },
    ],
    standardization: { mean: [0, 0], std: [1, 1] },
    hiddenActivation: 'relu',
    layers: [{ inputs: 7, outputs: 1, weights: [1, -0.5, REGION_EFFECT.north, REGION_EFFECT.south, REGION_EFFECT.east, gender.f, gender.m], bias: [-0.2] }],
  };
}

/** 240 rows: regions in turn; gender f / m alternating, with every 8th row missing and every 8th (offset 6) an unseen "x". */
function categoricalFrame(n = 240): TabularFrame {
  const rng = createRng(11);
  const numeric = createMatrix(['x0', 'x1'], n);
  for (let i = 0; i < 2 * n; i++) numeric.data[i] = rng.normal();
  const gender = Array.from({ length: n }, (_, i) => (i % 8 === 7 ? null : i % 8 === 6 ? 'x' : i % 2 === 0 ? 'f' : 'm'));
  return { numeric, categorical: { region: Array.from({ length: n }, (_, i) => REGIONS[i % 3]), gender } };
}

/** The float64 reference of categoricalModel on row i with the given categories. */
function referenceProbability(frame: TabularFrame, i: number, effect: GenderEffect, region: string | null, gender: string | null): number {
  const [x0, x1] = frame.numeric.data.subarray(i * 2, i * 2 + 2);
  const z = -0.2 + x0 - 0.5 * x1 + (region === null ? 0 : (REGION_EFFECT[region] ?? 0)) + (gender === 'f' || gender === 'm' ? effect[gender] : 0);
  return 1 / (1 + Math.exp(-z));
}

describe('invariance on categorical features (onnxruntime)', () => {
  const fair: GenderEffect = { f: 0, m: 0 };
  const biased: GenderEffect = { f: 0.4, m: -0.4 };
  let fairModel: OnnxModel;
  let biasedModel: OnnxModel;
  const frame = categoricalFrame();
  const rowsWith = (values: string[]) => (frame.categorical.gender as Array<string | null>).filter((g) => g !== null && values.includes(g)).length;
  const scorer = (model: OnnxModel): PredictFn<TabularFrame> => async (f) => {
    const out = await model.run(f);
    return out.data;
  };

  beforeAll(async () => {
    fairModel = await OnnxModel.load(exportTabularToOnnx(categoricalModel(fair)));
    biasedModel = await OnnxModel.load(exportTabularToOnnx(categoricalModel(biased)));
  });
  afterAll(async () => {
    await fairModel?.release();
    await biasedModel?.release();
  });

  it('passes exactly for a model that ignores the protected attribute, testing only rows holding a listed category', async () => {
    const [t] = tests([{ kind: 'invariance', name: 'gender_invariant', feature: 'gender', change: { swap: ['f', 'm'] }, epsilon: 0 }]);
    const r = await runInvarianceTest(kind(t, 'invariance'), frame, scorer(fairModel));
    expect(r.passed).toBe(true);
    // The missing (null) and unseen ("x") rows hold neither category: not tested.
    expect(r.rowsTested).toBe(rowsWith(['f', 'm']));
    expect(r.rowsTested).toBe(180);
    expect(r.measurements.maxAbsChange).toBe(0);
    expect(r.detail).toBe('"gender" swapped among ["f", "m"]: max |change| 0 <= epsilon 0');
  });

  it('fails for a model that uses it, by the change its weights imply', async () => {
    const [t] = tests([{ kind: 'invariance', name: 'gender_invariant', feature: 'gender', change: { swap: ['f', 'm'] }, epsilon: 0.01 }]);
    const r = await runInvarianceTest(kind(t, 'invariance'), frame, scorer(biasedModel));
    let expectedMax = 0;
    let over = 0;
    frame.categorical.gender.forEach((g, i) => {
      if (g !== 'f' && g !== 'm') return;
      const region = frame.categorical.region[i];
      const d = Math.abs(referenceProbability(frame, i, biased, region, g === 'f' ? 'm' : 'f') - referenceProbability(frame, i, biased, region, g));
      expectedMax = Math.max(expectedMax, d);
      if (d > 0.01) over++;
    });
    expect(r.passed).toBe(false);
    expect(r.rowsTested).toBe(180);
    // float32 inference vs the float64 reference.
    expect(Math.abs(r.measurements.maxAbsChange - expectedMax)).toBeLessThan(1e-6);
    expect(expectedMax).toBeGreaterThan(0.15);
    expect(r.measurements.rowsOverEpsilon).toBe(over);
    expect(r.detail).toMatch(new RegExp(`^"gender" swapped among \\["f", "m"\\]: max \\|change\\| 0\\.\\d+ > epsilon 0\\.01 \\(${over} of 180 rows over\\)$`));
  });

  it('setTo writes one category into every row, including missing and unseen ones', async () => {
    const [t] = tests([{ kind: 'invariance', name: 'all_female', feature: 'gender', change: { setTo: 'f' }, epsilon: 0.5 }]);
    const r = await runInvarianceTest(kind(t, 'invariance'), frame, scorer(biasedModel));
    const changes = frame.categorical.gender.map((g, i) => {
      const region = frame.categorical.region[i];
      return Math.abs(referenceProbability(frame, i, biased, region, 'f') - referenceProbability(frame, i, biased, region, g));
    });
    expect(r.rowsTested).toBe(240);
    expect(Math.abs(r.measurements.maxAbsChange - Math.max(...changes))).toBeLessThan(1e-6);
    expect(Math.abs(r.measurements.meanAbsChange - changes.reduce((s, d) => s + d, 0) / changes.length)).toBeLessThan(1e-6);
    expect(r.passed).toBe(true);
    expect(r.detail).toMatch(/^"gender" set to "f": max \|change\| 0\.\d+ <= epsilon 0\.5$/);
  });

  it('swaps among a subset of a categorical feature\'s values and leaves the other columns alone', async () => {
    const seen: TabularFrame[] = [];
    const predict: PredictFn<TabularFrame> = async (f) => {
      seen.push(f);
      return (await fairModel.run(f)).data;
    };
    const [t] = tests([{ kind: 'invariance', name: 'north_south', feature: 'region', change: { swap: ['north', 'south'] }, epsilon: 0.01 }]);
    const r = await runInvarianceTest(kind(t, 'invariance'), frame, predict);
    expect(r.rowsTested).toBe(160);
    // north <-> south moves the logit by 1: the model uses region, so the test fails.
    expect(r.passed).toBe(false);
    // Baseline, then one prediction per target category; the gender column is the caller's, unchanged.
    expect(seen).toHaveLength(3);
    for (const f of seen) expect(f.categorical.gender).toBe(frame.categorical.gender);
    expect(seen[1].categorical.region.filter((v) => v === 'north')).toHaveLength(160);
    expect(frame.categorical.region.filter((v) => v === 'north')).toHaveLength(80);
  });

  it('runs perturbation and directional tests on a frame, changing numeric features only', async () => {
    const results = await runBehaviouralTests(
      tests([
        { kind: 'invariance', name: 'gender', feature: 'gender', change: { swap: ['f', 'm'] }, epsilon: 0 },
        { kind: 'perturbation', name: 'noise', sigma: 0.01, maxMeanChange: 0.01 },
        { kind: 'directional', name: 'x0_up', feature: 'x0', delta: 0.5, expect: 'non_decreasing', minFraction: 1 },
      ]),
      frame,
      scorer(fairModel),
    );
    expect(results.map((r) => [r.name, r.passed])).toEqual([['gender', true], ['noise', true], ['x0_up', true]]);
    // No feature list: every numeric feature (2), never a categorical one.
    expect(results[1].detail).toMatch(/^noise 0\.01 x std on 2 feature\(s\): /);
  });
});

describe('behavioural tests reject values of the wrong type for the feature, naming the field and the fix', () => {
  const frame = categoricalFrame(24);
  let calls = 0;
  const predict: PredictFn<TabularFrame> = async (f) => {
    calls++;
    return new Float64Array(f.numeric.rows);
  };
  const run = (raw: unknown) => runBehaviouralTests(tests([raw]), frame, predict);

  it('numbers for a categorical feature, strings for a numeric one', async () => {
    calls = 0;
    await expect(run({ kind: 'invariance', name: 'g', feature: 'gender', change: { swap: [0, 1] } })).rejects.toThrow(
      'behavioural test "g": change.swap: feature "gender" is categorical (string values) but swap gives the number(s) 0, 1; give the categories as strings, e.g. swap: ["0", "1"]',
    );
    await expect(run({ kind: 'invariance', name: 'g', feature: 'gender', change: { setTo: 1 } })).rejects.toThrow(
      'change.setTo: feature "gender" is categorical (string values) but setTo gives the number(s) 1; give the categories as strings, e.g. setTo: "1"',
    );
    await expect(run({ kind: 'invariance', name: 'x', feature: 'x0', change: { swap: ['1', '2'] } })).rejects.toThrow(
      'change.swap: feature "x0" is numeric but swap gives the string(s) "1", "2"; give numbers, e.g. swap: [1, 2]',
    );
    await expect(run({ kind: 'invariance', name: 'x', feature: 'x0', change: { setTo: 'high' } })).rejects.toThrow(
      /change\.setTo: feature "x0" is numeric but setTo gives the string\(s\) "high"; give numbers .*or declare the feature categorical in the model spec/,
    );
    expect(calls).toBe(0);
  });

  it('directional and perturbation tests on a categorical feature', async () => {
    calls = 0;
    await expect(run({ kind: 'directional', name: 'd', feature: 'region', delta: 1, expect: 'non_decreasing' })).rejects.toThrow(
      /behavioural test "d": feature: "region" is categorical: a directional test adds delta to a numeric feature; name a numeric feature \(test a categorical feature with an invariance test/,
    );
    await expect(run({ kind: 'perturbation', name: 'p', features: ['x0', 'region'], maxMeanChange: 0.1 })).rejects.toThrow(
      /behavioural test "p": features: "region" is categorical: Gaussian noise applies to numeric features only; remove it from features/,
    );
    await expect(run({ kind: 'invariance', name: 'z', feature: 'zip', change: { setTo: 'x' } })).rejects.toThrow(
      'feature: no feature "zip" among the model\'s inputs (numeric: x0, x1; categorical: region, gender)',
    );
    expect(calls).toBe(0);
  });

  it('checks every test before predicting anything', async () => {
    calls = 0;
    const both = tests([
      { kind: 'invariance', name: 'ok', feature: 'gender', change: { swap: ['f', 'm'] } },
      { kind: 'invariance', name: 'bad', feature: 'gender', change: { setTo: 2 } },
    ]);
    await expect(runBehaviouralTests(both, frame, predict)).rejects.toThrow(/behavioural test "bad": change\.setTo/);
    expect(calls).toBe(0);
  });

  it('behaviouralTestProblems lists the same problems against a feature layout, with the spec path', () => {
    const spec = parseEvaluationSpec({
      behavioural: [
        { kind: 'invariance', name: 'ok', feature: 'gender', change: { swap: ['f', 'm'] } },
        { kind: 'invariance', name: 'bad', feature: 'gender', change: { setTo: 2 } },
        { kind: 'directional', name: 'dir', feature: 'region', delta: 1, expect: 'non_decreasing' },
      ],
    });
    const problems = behaviouralTestProblems(spec.behavioural, { numeric: ['x0'], categorical: ['gender', 'region'] });
    expect(problems).toEqual([
      'behavioural[1].change.setTo: feature "gender" is categorical (string values) but setTo gives the number(s) 2; give the categories as strings, e.g. setTo: "2"',
      expect.stringMatching(/^behavioural\[2\]\.feature: "region" is categorical: a directional test adds delta/),
    ]);
    expect(behaviouralTestProblems(spec.behavioural.slice(0, 1), { numeric: ['x0'], categorical: ['gender'] })).toEqual([]);
  });

  it('the spec schema rejects mixed, repeated and empty categories', () => {
    const problems = (change: unknown): string[] => {
      try {
        parseEvaluationSpec({ behavioural: [{ kind: 'invariance', name: 'g', feature: 'gender', change }] });
        return [];
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidEvaluationSpecError);
        return (error as InvalidEvaluationSpecError).problems;
      }
    };
    expect(problems({ swap: [1, 'm'] })).toEqual([
      'behavioural[0].change.swap: swap mixes numbers and strings (1, "m"); give every value as a string for a categorical feature, or as a number for a numeric one',
    ]);
    expect(problems({ swap: ['f', 'f'] })).toEqual(['behavioural[0].change.swap: swap lists "f" twice; list each value once']);
    expect(problems({ setTo: '' })[0]).toMatch(/^behavioural\[0\]\.change\.setTo: a category value cannot be empty/);
    expect(problems({ setTo: true })).toEqual([
      'behavioural[0].change: give { "setTo": value } or { "swap": [value, value, ...] }: numbers for a numeric feature, strings for a categorical one',
    ]);
    expect(problems({ swap: ['f', 'm'] })).toEqual([]);
    expect(problems({ setTo: 3 })).toEqual([]);
  });
});
