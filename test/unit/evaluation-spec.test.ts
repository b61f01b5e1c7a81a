// The evaluation spec: explicit defaults, errors that name the field, task-dependent checks.
import { describe, expect, it } from 'vitest';
import {
  durationToMs,
  evaluationSpecProblems,
  evaluationSpecSchema,
  InvalidEvaluationSpecError,
  parseEvaluationSpec,
  resolvePrimaryMetric,
} from '../../evaluation/spec';

describe('evaluationSpecSchema', () => {
  it('fills every default from an empty object', () => {
    expect(parseEvaluationSpec({})).toEqual({
      metricOptions: { threshold: 0.5, eceBins: 10 },
      floors: {},
      maxRegression: {},
      regressionTest: 'significant_regression',
      slices: { features: [], cohorts: [], minRows: 50, maxDistinctValues: 50, maxRegression: {} },
      behavioural: [],
      requireApproval: false,
      approval: { timeout: '24h', onTimeout: 'reject' },
      bootstrap: { resamples: 1000, confidence: 0.95, seed: 0 },
      staticTestSet: { enabled: true, fraction: 0.1, minRows: 100, seed: 0 },
    });
    expect(parseEvaluationSpec(undefined)).toEqual(parseEvaluationSpec({}));
    // The parsed form parses to itself (the report card stores it).
    const full = parseEvaluationSpec({ budgets: { maxLatencyP99Ms: 5 }, behavioural: [{ kind: 'directional', name: 'd', feature: 'x', delta: 1, expect: 'non_decreasing' }] });
    expect(evaluationSpecSchema.parse(full)).toEqual(full);
    expect(full.budgets!.measurement).toEqual({ warmupRuns: 20, runs: 200, batchSize: 1024, batchRuns: 5 });
  });

  it('names the field and the fix for each problem', () => {
    const bad = () =>
      parseEvaluationSpec({
        floors: { aucc: 0.7 },
        maxRegression: { auc: {} },
        primaryMetric: { name: 'log_loss', direction: 'higher_is_better' },
        approval: { timeout: 'a day' },
        slices: { cohorts: [{ name: 'old', where: { feature: 'age', op: 'in', value: 60 } }] },
        behavioural: [
          { kind: 'perturbation', name: 'p', sigma: 0.1 },
          { kind: 'directional', name: 'p', feature: 'x', delta: 0, expect: 'non_decreasing' },
        ],
        treshold: 0.5,
      });
    expect(bad).toThrow(InvalidEvaluationSpecError);
    let problems: string[] = [];
    try {
      bad();
    } catch (e) {
      problems = (e as InvalidEvaluationSpecError).problems;
    }
    const text = problems.join('\n');
    expect(text).toMatch(/floors: Unrecognized key: "aucc"; metrics are auc, log_loss, /);
    expect(text).toMatch(/maxRegression\.auc: give absolute and\/or relative/);
    expect(text).toMatch(/primaryMetric\.direction: log_loss is lower_is_better/);
    expect(text).toMatch(/approval\.timeout: use a number and a unit/);
    expect(text).toMatch(/slices\.cohorts\[0\]\.where\.value: op 'in' needs a list/);
    expect(text).toMatch(/behavioural\[0\]: give maxMeanChange and\/or maxP99Change/);
    expect(text).toMatch(/behavioural\[1\]\.delta: delta must be a non-zero finite number/);
    expect(text).toMatch(/\(evaluation\): Unrecognized key: "treshold"; check the spelling/);
  });

  it('rejects duplicate test and cohort names', () => {
    expect(() =>
      parseEvaluationSpec({ behavioural: [{ kind: 'invariance', name: 'a', feature: 'x', change: { setTo: 0 } }, { kind: 'invariance', name: 'a', feature: 'y', change: { setTo: 0 } }] }),
    ).toThrow(/behavioural\[1\]\.name: duplicate behavioural test name "a"/);
  });
});

describe('task-dependent checks and helpers', () => {
  it('flags metrics of the other task', () => {
    const spec = parseEvaluationSpec({ primaryMetric: { name: 'mae' }, floors: { auc: 0.7 }, slices: { maxRegression: { rmse: { absolute: 1 } } } });
    expect(evaluationSpecProblems(spec, 'binary_classification')).toEqual([
      'primaryMetric.name: metric "mae" does not apply to binary_classification; use one of auc, log_loss, accuracy, precision, recall, ece, brier',
      'slices.maxRegression.rmse: metric "rmse" does not apply to binary_classification; use one of auc, log_loss, accuracy, precision, recall, ece, brier',
    ]);
    expect(evaluationSpecProblems(spec, 'regression')).toEqual(['floors.auc: metric "auc" does not apply to regression; use one of mae, rmse']);
  });

  it('resolves the primary metric per task and parses durations', () => {
    expect(resolvePrimaryMetric(parseEvaluationSpec({}), 'binary_classification')).toEqual({ name: 'auc', direction: 'higher_is_better' });
    expect(resolvePrimaryMetric(parseEvaluationSpec({}), 'regression')).toEqual({ name: 'rmse', direction: 'lower_is_better' });
    expect(resolvePrimaryMetric(parseEvaluationSpec({ primaryMetric: { name: 'log_loss' } }), 'binary_classification').direction).toBe('lower_is_better');
    expect(durationToMs('24h')).toBe(86_400_000);
    expect(durationToMs('90s')).toBe(90_000);
    expect(durationToMs('1.5d')).toBe(129_600_000);
    expect(() => durationToMs('soon')).toThrow(/use a number and a unit/);
  });
});
