// The spec's monitoring section (drift policy per feature, default window), checked against the
// model's features with errors naming the field; the rows the stage-4 drift trigger stores; the
// performance trigger's metric directions (higher-is-better fires below its bound, error metrics
// above); and the categorical L1 distance kept in a stored signal's detail.
import { describe, expect, it } from 'vitest';
import { performanceSignal } from '../../lifecycle/triggers';
import { METRIC_DIRECTIONS } from '../../ml/metrics';
import { computeDriftReport } from '../../monitoring/drift-report';
import { defaultPerformanceRules, performanceSignals } from '../../monitoring/performance';
import { driftRow, driftTriggerRows, driftTriggerSignal, performanceTriggerSignal } from '../../monitoring/signals';
import { evaluateFeatureDrift } from '../../monitoring/thresholds';
import { createRng } from '../../ml/random';
import { PERFORMANCE_TRIGGER_METRICS } from '../../spec/lifecycle-spec';
import { InvalidSpecError, parseModelSpec, specHash } from '../../spec/model-spec';

const base = { name: 'm', features: [{ name: 'price' }, { name: 'country', type: 'categorical' }] };

function problemsOf(spec: Record<string, unknown>): string[] {
  try {
    parseModelSpec(spec);
    return [];
  } catch (error) {
    return (error as InvalidSpecError).problems;
  }
}

describe('spec monitoring section', () => {
  it('is optional: a spec without it parses and hashes as before', () => {
    const spec = parseModelSpec(base);
    expect(spec.monitoring).toBeUndefined();
    expect(specHash(spec)).toBe(specHash(parseModelSpec({ ...base, monitoring: undefined })));
  });

  it('takes the drift policy and a window (text forms normalised)', () => {
    const drift = { defaults: { thresholds: { wasserstein: 0.15 } }, features: { price: { thresholds: { wasserstein: 0.5 } }, country: { method: 'linf', threshold: 0.2 }, prediction: { method: 'psi' }, label: { thresholds: { chi2: 0.01 } } } };
    const spec = parseModelSpec({ ...base, monitoring: { drift, window: '2000' } });
    expect(spec.monitoring).toEqual({ drift, window: { rows: 2000 } });
    expect(parseModelSpec({ ...base, monitoring: { window: '6h' } }).monitoring).toEqual({ window: { duration: '6h' } });
    expect(parseModelSpec({ ...base, monitoring: { window: { rows: 500 } } }).monitoring).toEqual({ window: { rows: 500 } });
    // The parsed spec parses again to itself (it is stored and re-read).
    expect(parseModelSpec(spec).monitoring).toEqual(spec.monitoring);
  });

  it('takes a schedule interval of a minute or more, naming the field when it is shorter or not a duration', () => {
    expect(parseModelSpec({ ...base, monitoring: { every: '1h' } }).monitoring).toEqual({ every: '1h' });
    expect(problemsOf({ ...base, monitoring: { every: '1m' } })).toEqual([]);
    expect(problemsOf({ ...base, monitoring: { every: '30s' } })).toEqual([expect.stringMatching(/^monitoring\.every: monitoring\.every "30s" is under a minute/)]);
    expect(problemsOf({ ...base, monitoring: { every: 'hourly' } })).toEqual([expect.stringMatching(/^monitoring\.every: use a positive number and a unit/)]);
  });

  it('names every bad field: unknown features, methods of the wrong kind, thresholds, windows, unknown keys', () => {
    const problems = problemsOf({
      ...base,
      monitoring: {
        drift: { defaults: { thresholds: { ks: 2 } }, features: { prise: { thresholds: { wasserstein: 0.5 } }, country: { method: 'wasserstein' }, price: { threshold: 0.2 } } },
        window: { rows: 0 },
      },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^monitoring\.drift\.defaults\.thresholds\.ks: threshold for ks is a significance level/),
        expect.stringMatching(/^monitoring\.drift\.features\.price\.threshold: a threshold needs a method/),
        expect.stringMatching(/^monitoring\.window\.rows: /),
      ]),
    );
    // Cross-field checks run once the section itself is valid.
    expect(problemsOf({ ...base, monitoring: { drift: { features: { prise: { thresholds: { wasserstein: 0.5 } }, country: { method: 'wasserstein' } } } } })).toEqual([
      'monitoring.drift.features.prise: no feature "prise" in the model (features: price, country; also prediction, label, projection:<i>)',
      'monitoring.drift.features.country.method: "country" is categorical: use one of js, chi2, linf, psi',
    ]);
    expect(problemsOf({ ...base, monitoring: { drift: { features: { label: { method: 'wasserstein' } } } } })).toEqual(['monitoring.drift.features.label.method: "label" is categorical: use one of js, chi2, linf, psi']);
    expect(problemsOf({ ...base, monitoring: { window: 'soon' } })[0]).toMatch(/^monitoring\.window\.duration: /);
    expect(problemsOf({ ...base, monitoring: { window: { rows: 10, duration: '1d' } } })).toEqual([
      'monitoring.window: set exactly one of rows (the latest N served rows, e.g. 2000) or duration (e.g. "1d"); text "2000" or "1d" also works',
    ]);
    expect(problemsOf({ ...base, monitoring: { drfit: {} } })[0]).toMatch(/^monitoring: Unrecognized key.*drfit/);
  });
});

function normal(seed: number, n: number, shift = 0): Float64Array {
  const rng = createRng(seed);
  return Float64Array.from({ length: n }, () => rng.normal() + shift);
}

describe('drift trigger rows', () => {
  it('agree with the trigger signal: one row per compared feature, no_values rows that never fire, the share row', () => {
    const countries = (seed: number, n: number, weights: number[]) => {
      const rng = createRng(seed);
      return Array.from({ length: n }, () => (rng.next() < weights[0] ? 'de' : 'us'));
    };
    const report = computeDriftReport({
      reference: { numeric: { price: normal(1, 3000), size: normal(2, 3000) }, categorical: { country: countries(3, 3000, [0.5]) } },
      current: { numeric: { price: normal(4, 2000, 1), size: normal(5, 2000) }, categorical: { country: countries(6, 2000, [0.8]) } },
      features: [
        { name: 'price', kind: 'numeric' },
        { name: 'size', kind: 'numeric' },
        { name: 'country', kind: 'categorical' },
      ],
    });
    const signal = driftTriggerSignal(report, 0.5, 'ctx');
    const rows = driftTriggerRows(report, signal, { nRef: 3000, nCur: 2000 }, [{ feature: { name: 'age', kind: 'numeric' }, nRef: 3000, nCur: 0 }]);
    expect(rows.map((r) => [r.kind, r.feature, r.statistic, r.fired])).toEqual([
      ['feature_drift', 'price', 'wasserstein', true],
      ['feature_drift', 'size', 'wasserstein', false],
      ['feature_drift', 'country', 'js', true],
      ['feature_drift', 'age', 'no_values', false],
      ['drift_share', '', 'share', true],
    ]);
    expect(rows.at(-1)).toMatchObject({ value: 2 / 3, threshold: 0.5, firesWhen: 'at_least', nRef: 3000, nCur: 2000, detail: { drifted: ['price', 'country'], features: 3, trigger: signal.detail } });
    expect(driftTriggerRows(null, driftTriggerSignal(null, 0.5, 'none'), { nRef: 10, nCur: 60 }, []).map((r) => [r.kind, r.value, r.fired])).toEqual([['drift_share', null, false]]);
  });

  it('keep the categorical L1 distance in the detail (it reaches the stored series and --json)', () => {
    const signal = evaluateFeatureDrift('categorical', ['a', 'a', 'b', 'c'], ['a', 'b', 'b', 'b'], undefined, 'country');
    const row = driftRow(signal, 'feature_drift', '');
    expect(row.detail.l1).toBe(signal.statistics.l1);
    // |0.5 - 0.25| + |0.25 - 0.75| + |0.25 - 0| = 1
    expect(row.detail.l1).toBeCloseTo(1, 12);
  });
});

describe('performance trigger direction', () => {
  const pairs = (labels: number[], predictions: number[]) => ({ labels: Float64Array.from(labels), predictions: Float64Array.from(predictions) });

  it('the metric table agrees with the metrics module: higher-is-better fires below, error metrics above', () => {
    for (const [metric, { direction }] of Object.entries(PERFORMANCE_TRIGGER_METRICS)) expect(METRIC_DIRECTIONS[metric as keyof typeof METRIC_DIRECTIONS], metric).toBe(direction);
    expect(performanceSignal('rmse', 0.9, 0.5, 200).fired).toBe(true);
    expect(performanceSignal('mae', 0.3, 0.5, 200).fired).toBe(false);
    expect(performanceSignal('accuracy', 0.3, 0.5, 200).fired).toBe(true);
  });

  it('regression: rmse above its bound fires, with "max"; below it stays quiet', () => {
    const rng = createRng(9);
    const x = Array.from({ length: 200 }, () => rng.normal());
    const rules = defaultPerformanceRules('regression', { bound: { metric: 'rmse', bound: 0.5 }, minRows: 50 });
    const good = performanceSignals({ task: 'regression', reference: null, current: pairs(x, x.map((v) => v + 0.1)), rules });
    const bad = performanceSignals({ task: 'regression', reference: null, current: pairs(x, x.map((v) => -v)), rules });
    expect(good.find((r) => r.statistic === 'rmse')).toMatchObject({ threshold: 0.5, firesWhen: 'above', fired: false });
    const signal = performanceTriggerSignal(bad, 'rmse', 'ctx');
    expect(signal).toMatchObject({ kind: 'performance', fired: true, threshold: 0.5 });
    expect(signal.detail).toMatch(/^rmse \d\.\d{4} on 200 labelled rows \(max 0\.5000\); ctx$/);
  });

  it('classification: auc below its bound fires, with "min"; an undefined auc (one class) says why', () => {
    const rules = defaultPerformanceRules('binary_classification', { bound: { metric: 'auc', bound: 0.6 }, minRows: 50 });
    const labels = Array.from({ length: 100 }, (_, i) => i % 2);
    const flipped = performanceSignals({ task: 'binary_classification', reference: null, current: pairs(labels, labels.map((y) => (y ? 0.2 : 0.8))), rules });
    expect(performanceTriggerSignal(flipped, 'auc', 'ctx')).toMatchObject({ fired: true, value: 0, threshold: 0.6, detail: 'auc 0.0000 on 100 labelled rows (min 0.6000); ctx' });
    const oneClass = performanceSignals({ task: 'binary_classification', reference: null, current: pairs(labels.map(() => 1), labels.map(() => 0.7)), rules });
    expect(performanceTriggerSignal(oneClass, 'auc', 'ctx')).toEqual({ kind: 'performance', fired: false, value: null, threshold: 0.6, detail: 'auc is undefined on the 100 labelled rows (AUC needs both classes among the labels); ctx' });
  });
});
