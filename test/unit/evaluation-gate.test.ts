// The champion/challenger gate on logistic regressions trained on seeded synthetic data with a
// categorical "region" column: each scenario checks the decision AND that a reason names the rule.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMatrix, type DatasetMatrix } from '../../ml/dataset-matrix';
import { predictProba, trainLogisticRegression, type LogisticRegressionModel } from '../../ml/logistic-regression';
import { exportLogisticRegressionToOnnx } from '../../ml/onnx';
import { OnnxModel } from '../../ml/onnx-runtime';
import { createRng } from '../../ml/random';
import { runBehaviouralTests } from '../../evaluation/behavioural';
import { measureOperationalMetrics, type OperationalMeasurements } from '../../evaluation/budgets';
import { judgeCandidate } from '../../evaluation/gate';
import { parseReportCard, reportCardToJson, type ReportCard } from '../../evaluation/report-card';
import { parseEvaluationSpec, type EvaluationSpecInput } from '../../evaluation/spec';

const COLUMNS = ['x0', 'x1', 'x2', 'x3', 'x4', 'region', 'x3_region2'] as const;
type Column = (typeof COLUMNS)[number];
const FULL: Column[] = ['x0', 'x1', 'x2', 'x3', 'x4', 'region', 'x3_region2'];

interface Data {
  n: number;
  columns: Record<Column, Float64Array>;
  y: Float64Array;
}

/**
 * logit = -0.2 + region offset (0, 0.3, -0.3) + x0 + 0.7 x1 + 1.4 x2 + b x3, where b = +1 in regions
 * 0 and 1 but -1 in region 2 (15% of rows): a model without the x3 x region-2 interaction ranks
 * region 2 badly. x4 is pure noise, a stand-in for a protected attribute with no real effect.
 */
function generate(seed: number, n: number): Data {
  const rng = createRng(seed);
  const columns = Object.fromEntries(COLUMNS.map((c) => [c, new Float64Array(n)])) as Record<Column, Float64Array>;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.next();
    const region = u < 0.45 ? 0 : u < 0.85 ? 1 : 2;
    const x = [rng.normal(), rng.normal(), rng.normal(), rng.normal(), rng.normal()];
    const z = -0.2 + [0, 0.3, -0.3][region] + x[0] + 0.7 * x[1] + 1.4 * x[2] + (region === 2 ? -1 : 1) * x[3];
    y[i] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    x.forEach((v, j) => (columns[`x${j}` as Column][i] = v));
    columns.region[i] = region;
    columns.x3_region2[i] = region === 2 ? x[3] : 0;
  }
  return { n, columns, y };
}

function matrix(data: Data, names: readonly Column[]): DatasetMatrix {
  const m = createMatrix(names, data.n);
  for (let i = 0; i < data.n; i++) names.forEach((name, j) => (m.data[i * names.length + j] = data.columns[name][i]));
  return m;
}

function rule(card: ReportCard, pattern: RegExp): string | undefined {
  return card.reasons.find((r) => pattern.test(r));
}

const NOW = new Date('2026-02-01T00:00:00Z');

describe('judgeCandidate', () => {
  const train = generate(1, 4000);
  const test = generate(2, 4000);
  const fit = (names: Column[], labels: ArrayLike<number> = train.y): LogisticRegressionModel =>
    trainLogisticRegression(matrix(train, names), labels, { epochs: 30, seed: 1 }).model;
  const predictOn = (model: LogisticRegressionModel, names: Column[]): Float64Array => predictProba(model, matrix(test, names));

  // strong: every feature and the interaction; weak: x0 only; noInteraction: better overall, wrong in region 2;
  // noX2: has the interaction but misses the strongest feature.
  const strongModel = fit(FULL);
  const strong = predictOn(strongModel, FULL);
  const weak = predictOn(fit(['x0']), ['x0']);
  const noInteraction = predictOn(fit(['x0', 'x1', 'x2', 'x3', 'region']), ['x0', 'x1', 'x2', 'x3', 'region']);
  const noX2 = predictOn(fit(['x0', 'x1', 'x3', 'region', 'x3_region2']), ['x0', 'x1', 'x3', 'region', 'x3_region2']);
  const flipRng = createRng(5);
  const poisonedLabels = train.y.map((v) => (flipRng.next() < 0.3 ? 1 - v : v));
  const poisoned = predictOn(fit(FULL, poisonedLabels), FULL);
  const sliceColumns = { region: test.columns.region, x0: test.columns.x0 };

  const base: EvaluationSpecInput = {
    primaryMetric: { name: 'auc' },
    floors: { auc: 0.7 },
    maxRegression: { auc: { absolute: 0.01 }, log_loss: { absolute: 0.02 } },
    bootstrap: { resamples: 500, seed: 1 },
  };
  const judge = (spec: EvaluationSpecInput, candidate: Float64Array, champion?: Float64Array, extra: Partial<Parameters<typeof judgeCandidate>[0]> = {}): ReportCard =>
    judgeCandidate({ spec, task: 'binary_classification', labels: test.y, candidate, champion, sliceColumns, now: NOW, ...extra });

  let onnx: OnnxModel;
  let onnxBytes: Uint8Array;
  let measurements: OperationalMeasurements;
  beforeAll(async () => {
    onnxBytes = exportLogisticRegressionToOnnx(strongModel, { model: 'gate-test', version: '2' });
    onnx = await OnnxModel.load(onnxBytes);
    measurements = await measureOperationalMetrics(onnxBytes, matrix(test, FULL), { warmupRuns: 5, runs: 50, batchSize: 512, batchRuns: 3 });
  });
  afterAll(async () => {
    await onnx?.release();
  });

  it('passes a candidate better than the champion', () => {
    const card = judge(base, strong, weak);
    expect(card.decision).toBe('pass');
    expect(card.reasons[0]).toMatch(/^all \d+ checks passed: .*floor\.auc.*max_regression\.auc.*max_regression\.log_loss/);
    const aucRow = card.metrics.find((m) => m.name === 'auc')!;
    expect(aucRow.difference!.lower!).toBeGreaterThan(0.15);
    expect(card.checks.every((c) => c.status === 'pass')).toBe(true);
  });

  it('fails a candidate worse than the champion overall, naming max_regression', () => {
    const card = judge(base, weak, strong);
    expect(card.decision).toBe('fail');
    const reason = rule(card, /^max_regression\.auc: /);
    expect(reason).toMatch(/candidate - champion = -0\.2\d+ \[-0\.\d+, -0\.\d+\] \(95% paired bootstrap\) is entirely below -0\.0100 \(allowed regression 0\.01 absolute\)$/);
    expect(rule(card, /^max_regression\.log_loss: .*is entirely above \+0\.0200/)).toBeDefined();
    // The weak model (AUC about 0.66) is also below the 0.7 floor.
    expect(rule(card, /^floor\.auc: 0\.6\d+ below the floor 0\.7/)).toBeDefined();
  });

  it('fails a candidate that improves the aggregate but regresses on one slice, naming the slice bound', () => {
    const spec: EvaluationSpecInput = { ...base, slices: { features: ['region'], maxRegression: { auc: { absolute: 0.02 } } } };
    const card = judge(spec, noInteraction, noX2);
    expect(card.decision).toBe('fail');
    // The aggregate improved, significantly.
    const aucRow = card.metrics.find((m) => m.name === 'auc')!;
    expect(aucRow.difference!.lower!).toBeGreaterThan(0.05);
    expect(card.checks.find((c) => c.rule === 'max_regression.auc')!.status).toBe('pass');
    // Only the region-2 slice fails.
    expect(card.reasons).toHaveLength(1);
    expect(card.reasons[0]).toMatch(/^slice_bound\.auc\[region=2\]: candidate - champion = -0\.\d+ \[-0\.\d+, -0\.\d+\] \(95% paired bootstrap\) is entirely below -0\.0200 \(allowed regression 0\.02 absolute\) \[slice of \d+ rows\]$/);
    const region2 = card.slices.find((s) => s.key === 'region=2')!;
    expect(region2.rows).toBeGreaterThan(500);
    expect(region2.candidate.auc!).toBeLessThan(region2.champion!.auc!);
    expect(card.checks.filter((c) => c.category === 'slice_bound').map((c) => c.status)).toEqual(['pass', 'pass', 'fail']);
  });

  it('reports small slices without gating them', () => {
    const spec: EvaluationSpecInput = {
      ...base,
      slices: { cohorts: [{ name: 'extreme_x0', where: { feature: 'x0', op: '>', value: 2.8 } }], maxRegression: { auc: { absolute: 0 } } },
    };
    const card = judge(spec, weak, strong);
    const cohort = card.slices.find((s) => s.key === 'cohort:extreme_x0')!;
    expect(cohort.rows).toBeGreaterThan(0);
    expect(cohort.rows).toBeLessThan(50);
    expect(cohort.gated).toBe(false);
    expect(card.notes.some((n) => n.includes('cohort:extreme_x0') && n.includes('not gated'))).toBe(true);
    expect(card.checks.some((c) => c.category === 'slice_bound')).toBe(false);
  });

  it('fails a candidate over the latency budget, measured with a real onnxruntime session', () => {
    expect(measurements.latencyMs.p50).toBeGreaterThan(0);
    expect(measurements.modelBytes).toBe(onnxBytes.byteLength);
    expect(measurements.throughput.rowsPerSecond).toBeGreaterThan(0);
    const spec: EvaluationSpecInput = { ...base, budgets: { maxLatencyP50Ms: 1e-6, maxModelBytes: 1_000_000 } };
    const card = judge(spec, strong, weak, { budgets: measurements });
    expect(card.decision).toBe('fail');
    expect(card.reasons).toHaveLength(1);
    expect(card.reasons[0]).toMatch(/^budget\.latency_p50_ms: single-row latency p50 [\d.e-]+ ms > budget 0\.000001 ms$/);
    expect(card.checks.find((c) => c.rule === 'budget.model_bytes')!.status).toBe('pass');
    // A generous budget passes on the same measurements.
    expect(judge({ ...base, budgets: { maxLatencyP50Ms: 1000 } }, strong, weak, { budgets: measurements }).decision).toBe('pass');
    // A declared budget without a measurement fails rather than passing unmeasured.
    expect(rule(judge(spec, strong, weak), /^budget: budgets are declared but no measurements/)).toBeDefined();
  });

  it('fails a candidate trained on poisoned labels (30% flipped) against a clean champion', () => {
    const card = judge(base, poisoned, strong);
    expect(card.decision).toBe('fail');
    // Flipped labels barely move the ranking but wreck the probabilities: log loss is what catches it.
    expect(rule(card, /^max_regression\.log_loss: candidate - champion = \+0\.1\d+ .* is entirely above \+0\.0200/)).toBeDefined();
    const ece = card.metrics.find((m) => m.name === 'ece')!;
    expect(ece.difference!.lower!).toBeGreaterThan(0.1);
  });

  it('without a champion gates on floors only, and says so', () => {
    const card = judge(base, strong);
    expect(card.decision).toBe('pass');
    expect(card.hasChampion).toBe(false);
    expect(card.notes.some((n) => /^no champion: .*floors.*skipped max_regression\.auc, max_regression\.log_loss/.test(n))).toBe(true);
    expect(card.checks.filter((c) => c.status === 'skipped').map((c) => c.rule)).toEqual(['max_regression.auc', 'max_regression.log_loss']);
    expect(card.reasons[0]).toBe('all 1 checks passed: floor.auc');
    expect(card.metrics[0].champion).toBeNull();
    // The floor still bites without a champion.
    const low = judge({ ...base, floors: { auc: 0.9 } }, strong);
    expect(low.decision).toBe('fail');
    expect(rule(low, /^floor\.auc: 0\.8\d+ below the floor 0\.9 \(must be >= 0\.9\)/)).toBeDefined();
  });

  it('with no thresholds and no champion passes with an explicit "no thresholds set" reason', () => {
    const card = judge({}, weak);
    expect(card.decision).toBe('pass');
    expect(card.reasons[0]).toMatch(/^no thresholds set: /);
    expect(card.checks).toEqual([]);
  });

  it('with no thresholds but a champion applies and notes the default primary-metric rule', () => {
    const worse = judge({}, weak, strong);
    expect(worse.decision).toBe('fail');
    expect(rule(worse, /^max_regression\.auc: .* is entirely below 0\.0000 \(allowed regression 0 absolute\) \[default rule\]$/)).toBeDefined();
    expect(worse.notes.some((n) => n.startsWith('max_regression.auc not set: defaulted to "not significantly worse than the champion"'))).toBe(true);
    // A retrain that is not significantly worse passes under the same default.
    expect(judge({}, strong, strong).decision).toBe('pass');
  });

  it('returns needs_approval when approval is required and every check passed, never for a failing candidate', () => {
    const spec: EvaluationSpecInput = { ...base, requireApproval: true, approval: { timeout: '48h', onTimeout: 'reject' } };
    const card = judge(spec, strong, weak);
    expect(card.decision).toBe('needs_approval');
    expect(card.reasons.some((r) => r === 'approval required: a person must approve within 48h (on timeout: reject)')).toBe(true);
    expect(card.approval).toEqual({ required: true, timeout: '48h', onTimeout: 'reject' });
    expect(judge(spec, weak, strong).decision).toBe('fail');
  });

  it('gates on behavioural tests run against onnxruntime', async () => {
    const spec: EvaluationSpecInput = {
      ...base,
      behavioural: [
        { kind: 'invariance', name: 'noise_feature_invariant', feature: 'x4', change: { setTo: 0 }, epsilon: 0.05 },
        { kind: 'directional', name: 'x2_raises_score', feature: 'x2', delta: 0.5, expect: 'non_decreasing', minFraction: 0.99 },
        { kind: 'perturbation', name: 'small_noise', features: ['x0', 'x1', 'x2', 'x3', 'x4'], sigma: 0.01, maxMeanChange: 0.01, maxP99Change: 0.03 },
        { kind: 'invariance', name: 'x2_invariant', feature: 'x2', change: { setTo: 0 }, epsilon: 0.05 },
      ],
    };
    const tests = parseEvaluationSpec(spec).behavioural;
    const results = await runBehaviouralTests(tests, matrix(test, FULL), (m) => onnx.predictProba(m));
    const card = judge(spec, strong, weak, { behavioural: results });
    expect(card.decision).toBe('fail');
    expect(card.checks.filter((c) => c.category === 'behavioural').map((c) => [c.rule, c.status])).toEqual([
      ['behavioural.noise_feature_invariant', 'pass'],
      ['behavioural.x2_raises_score', 'pass'],
      ['behavioural.small_noise', 'pass'],
      ['behavioural.x2_invariant', 'fail'],
    ]);
    expect(card.reasons).toEqual([expect.stringMatching(/^behavioural\.x2_invariant: invariance: "x2" set to 0: max \|change\| 0\.\d+ > epsilon 0\.05 \(\d+ of 4000 rows over\)/)]);
    // A declared test without a result fails.
    expect(rule(judge(spec, strong, weak), /^behavioural\.noise_feature_invariant: invariance test declared in the spec but no result was supplied/)).toBeDefined();
  });

  it('produces a card that validates against the versioned schema and round-trips through JSON', () => {
    const spec: EvaluationSpecInput = { ...base, slices: { features: ['region'], maxRegression: { auc: { absolute: 0.02 } } }, budgets: { maxLatencyP99Ms: 1000 } };
    const card = judge(spec, noInteraction, noX2, { budgets: measurements, candidateId: 'ctr/v7', championId: 'ctr/v6' });
    const again = parseReportCard(reportCardToJson(card));
    expect(again).toEqual(card);
    expect(again.generatedAt).toBe('2026-02-01T00:00:00.000Z');
    expect(() => parseReportCard({ ...card, schemaVersion: 2 })).toThrow(/schemaVersion is 2, this reader understands 1/);
    expect(() => parseReportCard({ ...card, decision: 'maybe' })).toThrow(/decision/);
  });

  it('rejects a spec naming metrics of another task, and mismatched inputs', () => {
    expect(() => judge({ floors: { rmse: 1 } }, strong)).toThrow(/floors\.rmse: metric "rmse" does not apply to binary_classification/);
    expect(() => judge(base, strong, weak.subarray(0, 10))).toThrow(/4000 labels but 10 champion predictions/);
    expect(() => judge({ slices: { features: ['country'] } }, strong)).toThrow(/no column "country" was supplied for slicing/);
  });
});
