// One drift report for a reference window vs a current window: a signal per declared feature,
// optional random-projection signals, the share of drifted features and the report-level decision,
// plus a fixed-width text table for the CLI (`flywheel drift <reference> <current>`).

import type { CategoricalSample } from './categorical-drift';
import type { KsMethod } from './numeric-drift';
import { projectionDriftSignals, projectionName, shareOfDriftedFeatures, type NumericColumns } from './projections';
import {
  decideMethod,
  evaluateFeatureDrift,
  P_VALUE_METHODS,
  resolveDriftPolicy,
  type DriftPolicy,
  type DriftSignal,
  type FeatureKind,
  type ResolvedDriftPolicy,
} from './thresholds';

/** One window's columns. Categorical columns may be raw strings or exact counts (from streaming). */
export interface ColumnSet {
  numeric: Readonly<Record<string, Float64Array>>;
  categorical: Readonly<Record<string, CategoricalSample>>;
}

export interface DriftFeature {
  name: string;
  kind: FeatureKind;
}

export interface DriftReportInput {
  reference: ColumnSet;
  current: ColumnSet;
  features: readonly DriftFeature[];
  policy?: DriftPolicy | ResolvedDriftPolicy;
  projections?: {
    count: number;
    seed: number;
    /** Numeric features to project; default: every declared numeric feature, in declared order. */
    features?: readonly string[];
    /** Row-aligned columns to project when the ColumnSet's are not aligned (streaming: completeRows). */
    reference?: NumericColumns;
    current?: NumericColumns;
  };
  /**
   * When this report is one of several judged together (monitoring: one per slice), the number of
   * p-value decisions across all of them, so Bonferroni controls the false alarms of the whole
   * family; never fewer than this report's own decisions. Default: this report's own count.
   */
  simultaneousTests?: number;
  /** KS p-value method where a distance decides (see EvaluateOptions.informationalKsMethod). */
  informationalKsMethod?: KsMethod;
}

export interface DriftReport {
  /** Feature signals in declared order, then projection signals. */
  signals: DriftSignal[];
  /** Share of declared features that fired (projections excluded). */
  shareDrifted: number;
  /** Share of projections that fired, or null without projections. */
  projectionShareDrifted: number | null;
  /** Report-level decision (see computeDriftReport). */
  fired: boolean;
  firedFeatures: string[];
  summary: string;
}

function sampleRows(sample: Float64Array | CategoricalSample): number {
  if (sample instanceof Float64Array || Array.isArray(sample)) return sample.length;
  return (sample as { total: number }).total;
}

function column(set: ColumnSet, feature: DriftFeature, role: 'reference' | 'current'): Float64Array | CategoricalSample {
  const group = feature.kind === 'numeric' ? set.numeric : set.categorical;
  const value = group[feature.name];
  if (value === undefined) {
    const present = Object.keys(group);
    throw new Error(
      `drift: ${feature.kind} feature '${feature.name}' is missing from the ${role} window` +
        ` (its ${feature.kind} columns: ${present.length ? present.join(', ') : 'none'})`,
    );
  }
  return value;
}

/**
 * Evaluates every declared feature (and the projections, if asked) under one policy.
 *
 * Multiple testing: with policy multipleTesting 'bonferroni' (default) each p-value decision in the
 * report uses alpha / m, m = the number of p-value decisions in the report; distance decisions are
 * unaffected. The report fires when at least one declared feature fired and the share of drifted
 * features is at least minShareDrifted (default 0: any one), or when any projection fired.
 */
export function computeDriftReport(input: DriftReportInput): DriftReport {
  const policy = resolveDriftPolicy(input.policy);
  const seen = new Set<string>();
  for (const f of input.features) {
    if (f.kind !== 'numeric' && f.kind !== 'categorical') throw new Error(`drift: feature '${f.name}' has kind '${String(f.kind)}'; use numeric or categorical`);
    if (seen.has(f.name)) throw new Error(`drift: feature '${f.name}' is declared twice`);
    seen.add(f.name);
  }
  const pairs = input.features.map((f) => ({ feature: f, ref: column(input.reference, f, 'reference'), cur: column(input.current, f, 'current') }));

  // Projection inputs, so the number of p-value decisions is known before anything is evaluated.
  let projection: { ref: NumericColumns; cur: NumericColumns; features: string[]; count: number; seed: number } | undefined;
  if (input.projections) {
    const features = input.projections.features
      ? [...input.projections.features]
      : input.features.filter((f) => f.kind === 'numeric').map((f) => f.name);
    if (features.length === 0) throw new Error('drift: projections need at least one numeric feature');
    projection = {
      ref: input.projections.reference ?? input.reference.numeric,
      cur: input.projections.current ?? input.current.numeric,
      features,
      count: input.projections.count,
      seed: input.projections.seed,
    };
  }
  let pValueDecisions = 0;
  for (const { feature, ref, cur } of pairs) {
    if (P_VALUE_METHODS.has(decideMethod(policy, feature.name, feature.kind, sampleRows(ref), sampleRows(cur)).method)) pValueDecisions += 1;
  }
  if (projection) {
    const nRef = projection.ref[projection.features[0]]?.length ?? 0;
    const nCur = projection.cur[projection.features[0]]?.length ?? 0;
    for (let p = 0; p < projection.count; p++) {
      if (P_VALUE_METHODS.has(decideMethod(policy, projectionName(p), 'numeric', nRef, nCur).method)) pValueDecisions += 1;
    }
  }
  const options = { simultaneousTests: Math.max(pValueDecisions, input.simultaneousTests ?? 0), informationalKsMethod: input.informationalKsMethod };

  const featureSignals: DriftSignal[] = pairs.map(({ feature, ref, cur }) =>
    feature.kind === 'numeric'
      ? evaluateFeatureDrift('numeric', ref as Float64Array, cur as Float64Array, policy, feature.name, options)
      : evaluateFeatureDrift('categorical', ref as CategoricalSample, cur as CategoricalSample, policy, feature.name, options),
  );
  const projectionSignals = projection
    ? projectionDriftSignals(projection.ref, projection.cur, { count: projection.count, seed: projection.seed, features: projection.features }, policy, options)
    : [];

  const shareDrifted = shareOfDriftedFeatures(featureSignals);
  const firedFeatures = featureSignals.filter((s) => s.fired).map((s) => s.feature);
  const projectionsFired = projectionSignals.filter((s) => s.fired).length;
  const fired = (firedFeatures.length > 0 && shareDrifted >= policy.minShareDrifted) || projectionsFired > 0;
  const projectionShareDrifted = projection ? shareOfDriftedFeatures(projectionSignals) : null;

  const details = featureSignals
    .filter((s) => s.fired)
    .map((s) => `${s.feature} (${s.method} ${formatNumber(s.value)} ${s.firesWhen === 'above' ? '>' : '<'} ${formatNumber(s.threshold)})`);
  const parts = [
    `${fired ? 'DRIFT' : 'no drift'}: ${firedFeatures.length} of ${featureSignals.length} features drifted (${(shareDrifted * 100).toFixed(1)}%)` +
      (details.length ? `: ${details.join(', ')}` : ''),
  ];
  if (projection) parts.push(`projections: ${projectionsFired} of ${projectionSignals.length} fired`);
  if (policy.minShareDrifted > 0) parts.push(`report fires at >= ${(policy.minShareDrifted * 100).toFixed(1)}% of features`);
  return {
    signals: [...featureSignals, ...projectionSignals],
    shareDrifted,
    projectionShareDrifted,
    fired,
    firedFeatures,
    summary: parts.join('; '),
  };
}

/** Compact number for tables: 4 significant digits, exponent form for very small or large values. */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs < 1e-3 || abs >= 1e6) return value.toExponential(2);
  return String(Number(value.toPrecision(4)));
}

/** Fixed-width text table of a report's signals, followed by its summary line. */
export function renderDriftTable(report: DriftReport): string {
  const header = ['feature', 'kind', 'source', 'method', 'value', 'fires if', 'fired', 'n_ref', 'n_cur', 'psi', 'psi band'];
  const rows = report.signals.map((s) => [
    s.feature,
    s.kind,
    s.source,
    s.method,
    formatNumber(s.value),
    `${s.firesWhen === 'above' ? '>' : '<'} ${formatNumber(s.threshold)}`,
    s.fired ? 'YES' : 'no',
    String(s.n_ref),
    String(s.n_cur),
    formatNumber(s.psi),
    s.psiBand,
  ]);
  const numericColumns = new Set([4, 7, 8, 9]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (numericColumns.has(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), '', report.summary].join('\n');
}
