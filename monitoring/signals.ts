// Every signal of one monitoring window, reference sample vs production sample: feature drift per
// feature (and random projections), the share of drifted features, prediction drift (the model's
// output distribution), label drift (once labels arrive) and performance on the labelled rows,
// each again per slice. Also the stage-4 trigger signals derived from them. Pure: no I/O.
import type { TriggerSignal } from '../lifecycle/triggers';
import type { CategoricalSample } from './categorical-drift';
import { computeDriftReport, formatNumber, type DriftFeature, type DriftReport } from './drift-report';
import { performanceSignals, type PerformanceRules } from './performance';
import { predictionDriftSignals } from './projections';
import { describeSignal, type SignalKind, type SignalRow } from './signal-row';
import { sliceFeatureOf } from './slice-keys';
import { evaluateFeatureDrift, P_VALUE_METHODS, resolveDriftPolicy, type DriftPolicy, type DriftSignal, type ResolvedDriftPolicy } from './thresholds';
import type { MonitoredTask, WindowSample } from './windows';

/** The drift share at which a window's drift_share signal fires when the spec sets no drift trigger (the trigger's own default). */
export const DEFAULT_DRIFT_SHARE = 0.25;

export interface WindowSignalsInput {
  reference: WindowSample;
  current: WindowSample;
  features: readonly DriftFeature[];
  task: MonitoredTask;
  policy?: DriftPolicy | ResolvedDriftPolicy;
  /** Random projections of the numeric features (count 0 or null: none). */
  projections?: { count: number; seed: number } | null;
  /** The drift_share signal fires when at least this share of features drifted. */
  driftShareThreshold: number;
  performance: PerformanceRules;
  /** Slices with fewer rows in either window are reported but never fire. */
  minSliceRows: number;
  /**
   * How much stricter slices are judged than the whole window: the slice family's tests run at
   * the policy's significance level / (strictness x m), i.e. a 1% family-wise false-alarm rate per
   * window by default (5% / 5). Slices are many and small; at the policy's 5%, a stationary stream
   * would page someone every 20 windows somewhere among them.
   */
  sliceStrictness?: number;
}

export const DEFAULT_SLICE_STRICTNESS = 5;

export interface WindowSignals {
  signals: SignalRow[];
  /** The whole-window feature drift report; null when no feature had values in both windows. */
  report: DriftReport | null;
  notes: string[];
}

function sampleSize(set: WindowSample, feature: DriftFeature): number {
  if (feature.kind === 'numeric') return set.features.columns.numeric[feature.name]?.length ?? 0;
  const sample = set.features.columns.categorical[feature.name] as { total?: number } | undefined;
  return sample?.total ?? 0;
}

function statisticsDetail(signal: DriftSignal): Record<string, unknown> {
  if (signal.kind === 'numeric') {
    const s = signal.statistics;
    return { ksStatistic: s.ks.statistic, ksPValue: s.ks.pValue, wasserstein: s.wasserstein, normalizedWasserstein: s.normalizedWasserstein, referenceMean: s.referenceMean, currentMean: s.currentMean };
  }
  const s = signal.statistics;
  return { js: s.jsDistance, linf: s.linf, l1: s.l1, chi2PValue: s.chiSquare.pValue, unseenShare: s.unseenShare, unseenCategories: s.unseenCategories, topChanges: s.topChanges.slice(0, 5) };
}

/** A drift signal as a stored row; `muted` (a reason) keeps it from firing. */
export function driftRow(signal: DriftSignal, kind: SignalKind, slice: string, muted?: string): SignalRow {
  const detail: Record<string, unknown> = { psi: signal.psi, psiBand: signal.psiBand, reason: signal.reason, ...statisticsDetail(signal) };
  if (muted && signal.fired) detail.note = muted;
  return {
    kind,
    feature: signal.feature,
    slice,
    statistic: signal.method,
    value: signal.value,
    threshold: signal.threshold,
    firesWhen: signal.firesWhen,
    fired: signal.fired && !muted,
    nRef: signal.n_ref,
    nCur: signal.n_cur,
    detail,
  };
}

function emptyFeatureRow(feature: DriftFeature, slice: string, nRef: number, nCur: number, muted?: string): SignalRow {
  // A feature that stopped arriving is a data problem worth an alert, not a silent gap in a chart.
  const lost = nRef > 0 && nCur === 0;
  return {
    kind: 'feature_drift',
    feature: feature.name,
    slice,
    statistic: 'no_values',
    value: null,
    threshold: null,
    firesWhen: null,
    fired: lost && !muted,
    nRef,
    nCur,
    detail: { note: nCur === 0 ? 'no values in the current window (missing or not a number)' : 'no values in the reference' },
  };
}

/** Label samples as drift inputs: class counts (binary) or values (regression); null when empty. */
function labelInput(sample: WindowSample): { kind: 'categorical'; sample: CategoricalSample } | { kind: 'numeric'; sample: Float64Array } | null {
  if (sample.labels.kind === 'categorical') return sample.labels.counts.total > 0 ? { kind: 'categorical', sample: sample.labels.counts } : null;
  return sample.labels.values.length > 0 ? { kind: 'numeric', sample: sample.labels.values } : null;
}

/**
 * In a slice, a distance above its threshold must also be significant: slices sit near the
 * policy's distance/test switch (about 1000 rows), where a distance of 0.1 is within sampling
 * noise. The two-sample test that comes with every signal (KS, chi-square) confirms it at the
 * family's Bonferroni level; on large slices any material shift passes this easily.
 */
function confirmInSlice(row: SignalRow, signal: DriftSignal, policy: ResolvedDriftPolicy, family: number): SignalRow {
  if (!row.fired || P_VALUE_METHODS.has(signal.method)) return row;
  const rule = policy.features[signal.feature]?.thresholds;
  const [test, pValue, alpha] =
    signal.kind === 'numeric'
      ? (['ks', signal.statistics.ks.pValue, rule?.ks ?? policy.thresholds.ks] as const)
      : (['chi2', signal.statistics.chiSquare.pValue, rule?.chi2 ?? policy.thresholds.chi2] as const);
  const level = alpha / Math.max(1, family);
  if (pValue < level) return row;
  return { ...row, fired: false, detail: { ...row.detail, note: `${row.statistic} above its threshold but not significant in this slice (${test} p = ${formatNumber(pValue)} >= ${formatNumber(level)})` } };
}

function labelSignal(ref: WindowSample, cur: WindowSample, policy: ResolvedDriftPolicy, simultaneousTests: number): DriftSignal | null {
  const r = labelInput(ref);
  const c = labelInput(cur);
  if (!r || !c) return null;
  if (r.kind === 'categorical' && c.kind === 'categorical') return evaluateFeatureDrift('categorical', r.sample, c.sample, policy, 'label', { simultaneousTests });
  if (r.kind === 'numeric' && c.kind === 'numeric') return evaluateFeatureDrift('numeric', r.sample, c.sample, policy, 'label', { simultaneousTests, informationalKsMethod: 'asymp' });
  return null;
}

/** Signals of one window or slice. */
function windowPart(
  input: WindowSignalsInput,
  policy: ResolvedDriftPolicy,
  ref: WindowSample,
  cur: WindowSample,
  slice: string,
  features: readonly DriftFeature[],
  /** The slice family's divisor of p-value thresholds (decisions x strictness); null for the whole window. */
  family: number | null,
  muted: string | undefined,
  notes: string[],
): { rows: SignalRow[]; report: DriftReport | null } {
  const rows: SignalRow[] = [];
  const judged = (row: SignalRow, signal: DriftSignal) => (family === null ? row : confirmInSlice(row, signal, policy, family));
  const usable = features.filter((f) => sampleSize(ref, f) > 0 && sampleSize(cur, f) > 0);
  for (const f of features) if (!usable.includes(f)) rows.push(emptyFeatureRow(f, slice, sampleSize(ref, f), sampleSize(cur, f), muted));

  let report: DriftReport | null = null;
  if (usable.length > 0) {
    const numeric = usable.filter((f) => f.kind === 'numeric').map((f) => f.name);
    const wantsProjections = !slice && !!input.projections && input.projections.count > 0 && numeric.length > 0;
    const hasRows = (ref.features.completeRows[numeric[0]]?.length ?? 0) > 0 && (cur.features.completeRows[numeric[0]]?.length ?? 0) > 0;
    if (wantsProjections && !hasRows) notes.push('projections skipped: no row has every numeric feature in one of the windows');
    report = computeDriftReport({
      reference: ref.features.columns,
      current: cur.features.columns,
      features: usable,
      policy,
      projections:
        wantsProjections && hasRows
          ? { count: input.projections!.count, seed: input.projections!.seed, features: numeric, reference: ref.features.completeRows, current: cur.features.completeRows }
          : undefined,
      simultaneousTests: family ?? undefined,
      informationalKsMethod: 'asymp',
    });
    for (const s of report.signals) rows.push(judged(driftRow(s, s.source === 'projection' ? 'projection_drift' : 'feature_drift', slice, muted), s));
  }

  const featureRows = rows.filter((r) => r.kind === 'feature_drift');
  const firedFeatures = featureRows.filter((r) => r.fired);
  const share = features.length ? firedFeatures.length / features.length : 0;
  if (!slice) {
    rows.push({
      kind: 'drift_share',
      feature: '',
      slice,
      statistic: 'share',
      value: share,
      threshold: input.driftShareThreshold,
      firesWhen: 'at_least',
      fired: firedFeatures.length > 0 && share >= input.driftShareThreshold,
      nRef: ref.rows,
      nCur: cur.rows,
      detail: { drifted: firedFeatures.map((r) => r.feature), features: features.length },
    });
  }

  if (ref.predictions.length > 0 && cur.predictions.length > 0) {
    for (const s of predictionDriftSignals(ref.predictions, cur.predictions, policy, 'prediction', { simultaneousTests: family ?? undefined, informationalKsMethod: 'asymp' })) {
      rows.push(judged(driftRow(s, 'prediction_drift', slice, muted), s));
    }
  } else if (!slice) {
    notes.push(ref.predictions.length === 0 ? 'prediction drift skipped: the reference has no predictions' : 'prediction drift skipped: no served prediction in the window has a score');
  }

  const label = labelSignal(ref, cur, policy, family ?? 1);
  if (label) rows.push(judged(driftRow(label, 'label_drift', slice, muted), label));
  else if (!slice) notes.push(cur.labelledRows === 0 ? 'label drift and performance skipped: no labels have arrived for the window yet' : 'label drift skipped: the reference has no labels');

  if (cur.pairs.labels.length > 0) {
    try {
      rows.push(...performanceSignals({ task: input.task, reference: ref.pairs.labels.length > 0 ? ref.pairs : null, current: cur.pairs, rules: input.performance, slice, muted }));
    } catch (error) {
      // Scores that are not probabilities (logits) make log loss undefined: say so, keep the rest.
      notes.push(`performance${slice ? ` [${slice}]` : ''} skipped: ${(error as Error).message}`);
    }
  }
  return { rows, report };
}

/** Every signal of the window and its slices. */
export function computeWindowSignals(input: WindowSignalsInput): WindowSignals {
  const policy = resolveDriftPolicy(input.policy);
  const notes: string[] = [];
  const overall = windowPart(input, policy, input.reference, input.current, '', input.features, null, undefined, notes);
  const signals = [...overall.rows];

  // Slices are judged as one family: Bonferroni over every drift decision of every (non-muted)
  // slice and signal kind in the window, times the slice strictness, so many small slices do not
  // multiply false alarms.
  const keys = Object.keys(input.current.slices).sort();
  const plans = keys.map((key) => {
    const cur = input.current.slices[key];
    const ref = input.reference.slices[key];
    const sliceFeature = sliceFeatureOf(key);
    const features = input.features.filter((f) => f.name !== sliceFeature);
    const smallest = Math.min(cur.rows, ref?.rows ?? 0);
    const muted = smallest < input.minSliceRows ? `slice has ${smallest} rows in a window (fewer than slices.minRows ${input.minSliceRows}): reported, not alerted` : undefined;
    return { key, cur, ref, features, muted };
  });
  let family = 0;
  for (const p of plans) {
    if (!p.ref || p.muted) continue;
    for (const f of p.features) {
      const nRef = sampleSize(p.ref, f);
      const nCur = sampleSize(p.cur, f);
      if (nRef > 0 && nCur > 0) family += 1;
    }
    if (p.ref.predictions.length > 0 && p.cur.predictions.length > 0) family += 1;
    if (p.ref.labelledRows > 0 && p.cur.labelledRows > 0) family += 1;
  }
  family *= input.sliceStrictness ?? DEFAULT_SLICE_STRICTNESS;
  for (const p of plans) {
    if (!p.ref) {
      notes.push(`slice ${p.key}: new in the window (${p.cur.rows} rows), the reference has none to compare with`);
      if (p.cur.pairs.labels.length > 0) signals.push(...performanceSignals({ task: input.task, reference: null, current: p.cur.pairs, rules: input.performance, slice: p.key, muted: p.muted }));
      continue;
    }
    signals.push(...windowPart(input, policy, p.ref, p.cur, p.key, p.features, family, p.muted, notes).rows);
  }
  for (const [feature, rows] of Object.entries(input.current.unslicedRows)) {
    notes.push(`slice feature ${feature}: ${rows} rows had values beyond the first ${Object.keys(input.current.slices).filter((k) => k.startsWith(`${feature}=`)).length} and were not sliced`);
  }
  return { signals, report: overall.report, notes };
}

/** The window's fired signals, one line each, whole-window first. */
export function firedLines(signals: readonly SignalRow[], limit = 20): string[] {
  return signals
    .filter((s) => s.fired)
    .sort((a, b) => (a.slice === b.slice ? 0 : a.slice === '' ? -1 : b.slice === '' ? 1 : a.slice < b.slice ? -1 : 1))
    .slice(0, limit)
    .map(describeSignal);
}

/**
 * The stage-4 drift trigger: the share of features that drifted against its threshold, with the
 * drifted features named. `context` says what was compared ("the latest 2000 served rows vs ...").
 */
export function driftTriggerSignal(report: DriftReport | null, threshold: number, context: string): TriggerSignal {
  if (!report) return { kind: 'drift', fired: false, value: null, threshold, detail: `no feature could be compared: ${context}` };
  const features = report.signals.filter((s) => s.source === 'feature');
  const fired = report.firedFeatures.length > 0 && report.shareDrifted >= threshold;
  const named = features
    .filter((s) => s.fired)
    .map((s) => `${s.feature} (${s.method} ${formatNumber(s.value)} ${s.firesWhen === 'above' ? '>' : '<'} ${formatNumber(s.threshold)})`);
  return {
    kind: 'drift',
    fired,
    value: report.shareDrifted,
    threshold,
    detail:
      `${report.firedFeatures.length} of ${features.length} features drifted (${(report.shareDrifted * 100).toFixed(1)}%, fires at >= ${(threshold * 100).toFixed(1)}%)` +
      `${named.length ? `: ${named.join(', ')}` : ''}; ${context}`,
  };
}

/**
 * The rows the stage-4 drift trigger stores for its window, consistent with the signal it returns:
 * a feature_drift row per compared feature (as monitoring stores them), a no_values row (never
 * fired: the trigger leaves such a feature out) per feature a window has no values of, and the
 * drift_share row carrying the trigger's own value, threshold and decision.
 */
export function driftTriggerRows(
  report: DriftReport | null,
  trigger: TriggerSignal,
  windows: { nRef: number; nCur: number },
  missing: ReadonlyArray<{ feature: DriftFeature; nRef: number; nCur: number }>,
): SignalRow[] {
  const rows: SignalRow[] = [];
  for (const s of report?.signals ?? []) if (s.source === 'feature') rows.push(driftRow(s, 'feature_drift', ''));
  for (const m of missing) rows.push(emptyFeatureRow(m.feature, '', m.nRef, m.nCur, 'not compared by the drift trigger'));
  rows.push({
    kind: 'drift_share',
    feature: '',
    slice: '',
    statistic: 'share',
    value: trigger.value,
    threshold: trigger.threshold,
    firesWhen: 'at_least',
    fired: trigger.fired,
    nRef: windows.nRef,
    nCur: windows.nCur,
    detail: { drifted: report?.firedFeatures ?? [], features: report?.signals.filter((s) => s.source === 'feature').length ?? 0, trigger: trigger.detail },
  });
  return rows;
}

/**
 * The stage-4 performance signal from a window's whole-window performance row of `metric`. The
 * row's direction decides: a higher-is-better metric fires below its threshold ("min"), an error
 * metric above it ("max").
 */
export function performanceTriggerSignal(signals: readonly SignalRow[], metric: string, context: string): TriggerSignal {
  const row = signals.find((s) => s.kind === 'performance' && s.slice === '' && s.statistic === metric);
  if (!row) return { kind: 'performance', fired: false, value: null, threshold: null, detail: `${metric}: no labelled rows with scores yet; ${context}` };
  if (row.value === null) {
    const why = metric === 'auc' ? ' (AUC needs both classes among the labels)' : '';
    return { kind: 'performance', fired: false, value: null, threshold: row.threshold, detail: `${metric} is undefined on the ${row.nCur} labelled rows${why}; ${context}` };
  }
  const op = row.firesWhen === 'above' ? 'max' : 'min';
  return {
    kind: 'performance',
    fired: row.fired,
    value: row.value,
    threshold: row.threshold,
    detail: `${metric} ${row.value.toFixed(4)} on ${row.nCur} labelled rows${row.threshold === null ? '' : ` (${op} ${row.threshold.toFixed(4)})`}${typeof row.detail.note === 'string' ? `; ${row.detail.note}` : ''}; ${context}`,
  };
}
