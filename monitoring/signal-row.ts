// The unit of the monitoring time series: one signal of one window (a feature's drift, the
// prediction or label drift, a performance metric, the share of drifted features), with its value,
// its threshold and whether it fired. Stored as one row of monitoring_signals.

export const SIGNAL_KINDS = ['feature_drift', 'projection_drift', 'drift_share', 'prediction_drift', 'label_drift', 'performance'] as const;
export type SignalKind = (typeof SIGNAL_KINDS)[number];

/** 'above': fires when value > threshold; 'below': value < threshold (p-values, higher-is-better metrics); 'at_least': value >= threshold (shares). */
export type FiresWhen = 'above' | 'below' | 'at_least';

export interface SignalRow {
  kind: SignalKind;
  /** The feature ('prediction', 'label', 'projection:0' for those kinds); '' when not applicable (performance, drift_share). */
  feature: string;
  /** '' for the whole window, else the slice key ("device=mobile", "cohort:top_positions"). */
  slice: string;
  /** The deciding statistic: wasserstein, js, ks, chi2, psi, linf, share, or a metric name (auc, log_loss, ...). */
  statistic: string;
  /** Null when the statistic is undefined on the window (AUC on one class). */
  value: number | null;
  /** Null when nothing is judged (a metric recorded for charts only). */
  threshold: number | null;
  firesWhen: FiresWhen | null;
  fired: boolean;
  nRef: number;
  nCur: number;
  /** Everything else worth keeping: other statistics, PSI band, why this method, notes. */
  detail: Record<string, unknown>;
}

/** "ad_relevance (wasserstein 0.52 > 0.1)": a fired signal in one line. */
export function describeSignal(row: SignalRow): string {
  const op = row.firesWhen === 'below' ? '<' : row.firesWhen === 'at_least' ? '>=' : '>';
  const name = [row.kind.replace('_', ' '), row.feature, row.slice && `[${row.slice}]`].filter(Boolean).join(' ');
  const value = row.value === null ? 'n/a' : formatValue(row.value);
  return `${name} (${row.statistic} ${value}${row.threshold === null ? '' : ` ${op} ${formatValue(row.threshold)}`})`;
}

function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (value !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(2);
  return String(Number(value.toPrecision(4)));
}
