// Window signals on synthetic samples: each kind of shift moves the signal that should see it (and
// not the others), thresholds and "fired" are consistent, slices are muted below minRows and
// confirmed by their test, performance thresholds follow the bound or the reference's predicted
// range, a label shift or concept flip inside one slice fires that slice's signal and not the
// whole window's, and the stage-4 trigger signals say their value, threshold and why.
import { describe, expect, it } from 'vitest';
import { computeWindowSignals, driftTriggerSignal, performanceTriggerSignal, type WindowSignalsInput } from '../../monitoring/signals';
import { defaultPerformanceRules, metricStandardError, performanceSignals } from '../../monitoring/performance';
import { describeSignal, type SignalRow } from '../../monitoring/signal-row';
import { MonitoringAccumulator, type WindowSample } from '../../monitoring/windows';
import { createRng } from '../../ml/random';

interface Shape {
  shift?: number;
  /** Adds this to the logit of every label (label shift without moving x much). */
  labelBias?: number;
  /** The label's dependence on x flips sign (concept drift). */
  flip?: boolean;
  devices?: string[];
  /** Applies labelBias / flip only to the rows of this device (a shift inside one slice). */
  onlyDevice?: string;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

function sample(seed: number, rows: number, shape: Shape = {}): WindowSample {
  const acc = new MonitoringAccumulator({ numeric: ['x', 'z'], categorical: ['device'], task: 'binary_classification', slices: { features: ['device'], cohorts: [], maxDistinctValues: 10, minRows: 50 }, seed });
  const rng = createRng(seed);
  const devices = shape.devices ?? ['mobile', 'mobile', 'desktop'];
  for (let i = 0; i < rows; i++) {
    const x = rng.normal() + (shape.shift ?? 0);
    const z = rng.normal();
    const device = devices[rng.nextInt(devices.length)];
    const shifted = shape.onlyDevice === undefined || shape.onlyDevice === device;
    const truth = sigmoid((shape.flip && shifted ? -1.5 : 1.5) * x - 1 + (shifted ? (shape.labelBias ?? 0) : 0));
    acc.addRow({ features: { x, z, device }, prediction: sigmoid(1.5 * x - 1), label: rng.next() < truth ? 1 : 0 });
  }
  return acc.toSample();
}

function input(reference: WindowSample, current: WindowSample, extra: Partial<WindowSignalsInput> = {}): WindowSignalsInput {
  return {
    reference,
    current,
    features: [
      { name: 'x', kind: 'numeric' },
      { name: 'z', kind: 'numeric' },
      { name: 'device', kind: 'categorical' },
    ],
    task: 'binary_classification',
    projections: { count: 2, seed: 3 },
    driftShareThreshold: 0.3,
    performance: defaultPerformanceRules('binary_classification'),
    minSliceRows: 50,
    ...extra,
  };
}

const REFERENCE = sample(1, 8000);
const whole = (signals: SignalRow[]) => signals.filter((s) => s.slice === '');
const firedKinds = (signals: SignalRow[]) => [...new Set(whole(signals).filter((s) => s.fired).map((s) => s.kind))].sort();

describe('computeWindowSignals', () => {
  it('a window like the reference fires nothing; every signal carries value, threshold and sizes', () => {
    const { signals, notes } = computeWindowSignals(input(REFERENCE, sample(2, 3000)));
    expect(signals.filter((s) => s.fired)).toEqual([]);
    expect(notes).toEqual([]);
    const rows = whole(signals);
    expect(rows.map((r) => `${r.kind}:${r.feature}:${r.statistic}`)).toEqual(
      expect.arrayContaining(['feature_drift:x:wasserstein', 'feature_drift:device:js', 'projection_drift:projection:0:wasserstein', 'drift_share::share', 'prediction_drift:prediction:wasserstein', 'label_drift:label:js', 'performance::auc', 'performance::log_loss', 'performance::accuracy']),
    );
    expect(rows.find((r) => r.kind === 'drift_share')).toMatchObject({ value: 0, threshold: 0.3, firesWhen: 'at_least', nRef: 8000, nCur: 3000 });
    const auc = rows.find((r) => r.statistic === 'auc')!;
    expect(auc.threshold).toBeLessThan(auc.detail.reference as number);
    expect(auc.firesWhen).toBe('below');
    // Metrics outside the alerting set are recorded for charts, never judged.
    expect(rows.find((r) => r.statistic === 'accuracy')).toMatchObject({ threshold: null, firesWhen: null, fired: false });
    expect(new Set(signals.map((s) => s.slice))).toEqual(new Set(['', 'device=desktop', 'device=mobile']));
  });

  it('covariate shift: feature drift on x, the share, projections and the prediction distribution', () => {
    const { signals, report } = computeWindowSignals(input(REFERENCE, sample(3, 3000, { shift: 0.8 })));
    expect(report!.firedFeatures).toEqual(['x']);
    expect(firedKinds(signals)).toEqual(expect.arrayContaining(['drift_share', 'feature_drift', 'prediction_drift', 'projection_drift']));
    const x = whole(signals).find((s) => s.kind === 'feature_drift' && s.feature === 'x')!;
    expect(x.value!).toBeGreaterThan(x.threshold!);
    expect(describeSignal(x)).toMatch(/^feature drift x \(wasserstein 0\.\d+ > 0\.1\)$/);
    expect(whole(signals).find((s) => s.kind === 'drift_share')).toMatchObject({ value: 1 / 3, fired: true });
  });

  it('label shift: the label distribution moves while x barely does', () => {
    const { signals } = computeWindowSignals(input(REFERENCE, sample(4, 3000, { labelBias: 1.5 })));
    expect(firedKinds(signals)).toContain('label_drift');
    expect(firedKinds(signals)).not.toContain('feature_drift');
  });

  it('concept drift: only performance sees it', () => {
    const { signals } = computeWindowSignals(input(REFERENCE, sample(5, 3000, { flip: true })));
    expect(firedKinds(signals)).toEqual(['performance']);
    expect(whole(signals).find((s) => s.statistic === 'auc')!.value!).toBeLessThan(0.3);
  });

  it('slices: a small slice is reported but muted, a new slice is noted, slice distances need their test', () => {
    const current = sample(6, 3000, { devices: ['mobile', 'mobile', 'desktop', 'tablet'] });
    const reference = sample(7, 8000, { devices: ['mobile', 'mobile', 'desktop', 'tablet'] });
    // Shift only the tablet rows of a tiny window: 40 rows, below minSliceRows.
    const tiny = sample(8, 160, { shift: 3, devices: ['tablet', 'mobile', 'mobile', 'desktop'] });
    const { signals } = computeWindowSignals(input(reference, tiny, { minSliceRows: 50 }));
    const tablet = signals.filter((s) => s.slice === 'device=tablet' && s.kind === 'feature_drift' && s.feature === 'x')[0];
    expect(tablet.fired).toBe(false);
    expect(tablet.detail.note).toMatch(/^slice has \d+ rows in a window \(fewer than slices\.minRows 50\): reported, not alerted$/);

    const { notes } = computeWindowSignals(input(REFERENCE, current));
    expect(notes).toContain(`slice device=tablet: new in the window (${current.slices['device=tablet'].rows} rows), the reference has none to compare with`);
  });
});

describe('slice-level label drift and performance', () => {
  // One device in eight: a label shift confined to it is diluted to an eighth over the whole window
  // (whole-window JS about 0.045 < 0.1; the slice's chi-square p about 1e-53).
  const DEVICES = ['mobile', 'mobile', 'mobile', 'mobile', 'desktop', 'desktop', 'desktop', 'tablet'];
  const reference = sample(11, 8000, { devices: DEVICES });
  const inSlice = (signals: SignalRow[], kind: SignalRow['kind'], slice: string) => signals.filter((s) => s.kind === kind && s.slice === slice);
  const firedSlices = (signals: SignalRow[], kind: SignalRow['kind']) => [...new Set(signals.filter((s) => s.kind === kind && s.slice !== '' && s.fired).map((s) => s.slice))];

  it('labels shifted in one slice only: that slice fires label drift, the whole window does not', () => {
    const { signals } = computeWindowSignals(input(reference, sample(12, 4000, { devices: DEVICES, labelBias: 2.5, onlyDevice: 'tablet' })));
    const tablet = inSlice(signals, 'label_drift', 'device=tablet');
    expect(tablet).toHaveLength(1);
    expect(tablet[0]).toMatchObject({ fired: true });
    expect(firedSlices(signals, 'label_drift')).toEqual(['device=tablet']);
    const overall = inSlice(signals, 'label_drift', '');
    expect(overall).toHaveLength(1);
    expect(overall[0].fired).toBe(false);
    // x did not move anywhere: no feature or prediction drift, whole-window or slice.
    expect(signals.filter((s) => (s.kind === 'feature_drift' || s.kind === 'prediction_drift') && s.fired)).toEqual([]);
  });

  it('the concept flipped in one slice only: that slice fires performance, the whole window does not', () => {
    // A flipped concept costs far more log loss than the label shift above: confined to a slice of
    // one row in 40 (about 200 of 8000 rows) it moves the whole-window AUC and log loss by less than
    // their predicted range, while the slice's own AUC falls to about 0.2.
    const rare = [...Array.from({ length: 25 }, () => 'mobile'), ...Array.from({ length: 14 }, () => 'desktop'), 'tablet'];
    const { signals } = computeWindowSignals(input(sample(14, 16000, { devices: rare }), sample(13, 8000, { devices: rare, flip: true, onlyDevice: 'tablet' })));
    const tabletAuc = inSlice(signals, 'performance', 'device=tablet').find((s) => s.statistic === 'auc')!;
    expect(tabletAuc).toMatchObject({ fired: true, firesWhen: 'below' });
    expect(tabletAuc.value!).toBeLessThan(0.3);
    expect(firedSlices(signals, 'performance')).toEqual(['device=tablet']);
    const overall = inSlice(signals, 'performance', '');
    expect(overall.length).toBeGreaterThan(0);
    expect(overall.filter((s) => s.fired)).toEqual([]);
    expect(signals.filter((s) => (s.kind === 'feature_drift' || s.kind === 'prediction_drift') && s.fired)).toEqual([]);
  });
});

describe('regression models', () => {
  function regression(seed: number, rows: number, slope: number): WindowSample {
    const acc = new MonitoringAccumulator({ numeric: ['x'], categorical: [], task: 'regression', seed });
    const rng = createRng(seed);
    for (let i = 0; i < rows; i++) {
      const x = rng.normal();
      acc.addRow({ features: { x }, prediction: 20 + 5 * x, label: 20 + slope * x + rng.normal() });
    }
    return acc.toSample();
  }

  it('labels drift as numbers; rmse and mae alert when the relationship changes', () => {
    const reference = regression(1, 5000, 5);
    const quiet = computeWindowSignals({ ...input(reference, regression(2, 2000, 5)), features: [{ name: 'x', kind: 'numeric' }], task: 'regression', projections: null, performance: defaultPerformanceRules('regression') });
    expect(quiet.signals.filter((s) => s.fired)).toEqual([]);
    expect(quiet.signals.find((s) => s.kind === 'label_drift')).toMatchObject({ statistic: 'wasserstein' });
    expect(quiet.signals.filter((s) => s.kind === 'performance').map((s) => s.statistic)).toEqual(['mae', 'rmse']);
    const drifted = computeWindowSignals({ ...input(reference, regression(3, 2000, 1)), features: [{ name: 'x', kind: 'numeric' }], task: 'regression', projections: null, performance: defaultPerformanceRules('regression') });
    expect(firedKinds(drifted.signals)).toEqual(['label_drift', 'performance']);
    expect(drifted.signals.find((s) => s.statistic === 'rmse')).toMatchObject({ fired: true, firesWhen: 'above' });
  });
});

describe('performance signals', () => {
  const pairs = (labels: number[], predictions: number[]) => ({ labels: Float64Array.from(labels), predictions: Float64Array.from(predictions) });

  it('Hanley-McNeil standard error of AUC', () => {
    const labels = Array.from({ length: 100 }, (_, i) => (i < 50 ? 1 : 0));
    const se = metricStandardError('auc', pairs(labels, labels.map(() => 0.5)), 0.8, 0.5)!;
    // (0.16 + 49 (0.8/1.2 - 0.64) + 49 (1.28/1.8 - 0.64)) / 2500
    expect(se).toBeCloseTo(Math.sqrt((0.16 + 49 * (0.8 / 1.2 - 0.64) + 49 * (1.28 / 1.8 - 0.64)) / 2500), 12);
  });

  it('a spec bound replaces the reference rule; fewer labelled rows than minRows never fire', () => {
    const rules = defaultPerformanceRules('binary_classification', { bound: { metric: 'accuracy', bound: 0.9 }, minRows: 5 });
    const current = pairs([1, 0, 1, 0, 1, 0], [0.9, 0.8, 0.7, 0.2, 0.1, 0.3]);
    const rows = performanceSignals({ task: 'binary_classification', reference: null, current, rules });
    expect(rows.find((r) => r.statistic === 'accuracy')).toMatchObject({ value: 4 / 6, threshold: 0.9, firesWhen: 'below', fired: true });
    expect(rows.find((r) => r.statistic === 'auc')).toMatchObject({ threshold: null, fired: false, detail: { note: 'no reference value to compare with' } });

    const strict = performanceSignals({ task: 'binary_classification', reference: null, current, rules: { ...rules, minRows: 100 } });
    expect(strict.find((r) => r.statistic === 'accuracy')).toMatchObject({ fired: false, detail: { note: 'only 6 labelled rows (an alert needs 100)' } });
  });
});

describe('stage-4 trigger signals', () => {
  it('drift: the share against its threshold with the drifted features named', () => {
    const { report } = computeWindowSignals(input(REFERENCE, sample(9, 3000, { shift: 0.8 })));
    const signal = driftTriggerSignal(report, 0.3, 'the latest 3000 rows vs the reference');
    expect(signal).toMatchObject({ kind: 'drift', fired: true, value: 1 / 3, threshold: 0.3 });
    expect(signal.detail).toMatch(/^1 of 3 features drifted \(33\.3%, fires at >= 30\.0%\): x \(wasserstein 0\.\d+ > 0\.1\); the latest 3000 rows vs the reference$/);
    expect(driftTriggerSignal(null, 0.3, 'nothing to compare')).toEqual({ kind: 'drift', fired: false, value: null, threshold: 0.3, detail: 'no feature could be compared: nothing to compare' });
  });

  it('performance: the whole-window row of the metric', () => {
    const { signals } = computeWindowSignals(input(REFERENCE, sample(10, 3000, { flip: true })));
    const signal = performanceTriggerSignal(signals, 'auc', 'window w');
    expect(signal).toMatchObject({ kind: 'performance', fired: true });
    expect(signal.detail).toMatch(/^auc 0\.\d{4} on \d+ labelled rows \(min 0\.\d{4}\); window w$/);
    expect(performanceTriggerSignal([], 'auc', 'window w')).toMatchObject({ fired: false, value: null, detail: 'auc: no labelled rows with scores yet; window w' });
  });
});
