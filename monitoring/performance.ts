// Performance on the labelled part of a window: every metric of the task (ml/metrics), and for the
// few metrics that may alert, a threshold with a "predicted range" rule (the seed lecture's advice
// over bare statistical tests): the window fires when the metric is worse than the reference's by
// more than both a material tolerance and z standard errors of the two estimates, so a small
// window's noise does not page anyone, and a large real drop does. A bound the team set in the
// spec (continual.triggers.performance) replaces the reference rule for its metric.
import { computeMetrics, logLossTerm, METRIC_DIRECTIONS, metricsForTask, type MetricName, type MetricValues } from '../ml/metrics';
import type { SignalRow } from './signal-row';
import type { MonitoredTask } from './windows';

export interface Pairs {
  labels: Float64Array;
  predictions: Float64Array;
}

export interface Tolerance {
  absolute?: number;
  relative?: number;
}

export interface PerformanceRules {
  /** Metrics that may fire; every other metric of the task is recorded for charts only. */
  alertMetrics: readonly MetricName[];
  /** Explicit bounds (the stage-4 performance trigger's): below (or, for losses, above) fires. */
  bounds: Partial<Record<MetricName, number>>;
  /** The smallest worsening that matters, per metric. */
  tolerance: Partial<Record<MetricName, Tolerance>>;
  /** Standard errors of the difference a worsening must exceed (default 3). */
  z: number;
  /** Labelled rows a window needs before a metric may fire (default 100). */
  minRows: number;
  /** Decision threshold of accuracy, precision, recall (class 1 when p >= threshold). */
  threshold: number;
}

export const DEFAULT_TOLERANCE: Readonly<Record<MetricName, Tolerance>> = {
  auc: { absolute: 0.02 },
  accuracy: { absolute: 0.02 },
  precision: { absolute: 0.05 },
  recall: { absolute: 0.05 },
  log_loss: { relative: 0.05 },
  brier: { relative: 0.05 },
  ece: { absolute: 0.02 },
  mae: { relative: 0.05 },
  rmse: { relative: 0.05 },
};

/** Alerting defaults: ranking quality and calibration for classifiers, both error sizes for regressors. */
export const DEFAULT_ALERT_METRICS: Readonly<Record<MonitoredTask, readonly MetricName[]>> = {
  binary_classification: ['auc', 'log_loss'],
  regression: ['rmse', 'mae'],
};

export function defaultPerformanceRules(
  task: MonitoredTask,
  options: { primaryMetric?: MetricName; bound?: { metric: MetricName; bound: number }; threshold?: number; z?: number; minRows?: number } = {},
): PerformanceRules {
  const alert = new Set<MetricName>(DEFAULT_ALERT_METRICS[task]);
  if (options.primaryMetric && metricsForTask(task).includes(options.primaryMetric)) alert.add(options.primaryMetric);
  const bounds: Partial<Record<MetricName, number>> = {};
  if (options.bound && metricsForTask(task).includes(options.bound.metric)) {
    alert.add(options.bound.metric);
    bounds[options.bound.metric] = options.bound.bound;
  }
  return { alertMetrics: [...alert], bounds, tolerance: { ...DEFAULT_TOLERANCE }, z: options.z ?? 3, minRows: options.minRows ?? 100, threshold: options.threshold ?? 0.5 };
}

function meanAndSd(values: ArrayLike<number>): { mean: number; sd: number } {
  const n = values.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i];
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  return { mean, sd: n > 1 ? Math.sqrt(ss / (n - 1)) : 0 };
}

function mapRows(pairs: Pairs, f: (label: number, prediction: number) => number): Float64Array {
  const out = new Float64Array(pairs.labels.length);
  for (let i = 0; i < out.length; i++) out[i] = f(pairs.labels[i], pairs.predictions[i]);
  return out;
}

/**
 * Standard error of a metric estimated on these rows, or null when there is no simple one.
 * AUC: Hanley & McNeil (1982); proportions: binomial; means of per-row terms: sd / sqrt(n);
 * RMSE: the delta method on the mean squared error.
 */
export function metricStandardError(metric: MetricName, pairs: Pairs, value: number, threshold: number): number | null {
  const n = pairs.labels.length;
  if (n < 2) return null;
  switch (metric) {
    case 'auc': {
      let n1 = 0;
      for (let i = 0; i < n; i++) n1 += pairs.labels[i];
      const n0 = n - n1;
      if (n1 === 0 || n0 === 0) return null;
      const a = value;
      const q1 = a / (2 - a);
      const q2 = (2 * a * a) / (1 + a);
      return Math.sqrt(Math.max(0, a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / (n1 * n0));
    }
    case 'accuracy':
      return Math.sqrt((value * (1 - value)) / n);
    case 'precision':
    case 'recall': {
      let k = 0;
      for (let i = 0; i < n; i++) k += metric === 'precision' ? (pairs.predictions[i] >= threshold ? 1 : 0) : pairs.labels[i];
      return k > 0 ? Math.sqrt((value * (1 - value)) / k) : null;
    }
    case 'log_loss':
      return meanAndSd(mapRows(pairs, (y, p) => logLossTerm(y, p))).sd / Math.sqrt(n);
    case 'brier':
      return meanAndSd(mapRows(pairs, (y, p) => (p - y) ** 2)).sd / Math.sqrt(n);
    case 'mae':
      return meanAndSd(mapRows(pairs, (y, p) => Math.abs(p - y))).sd / Math.sqrt(n);
    case 'rmse':
      return value > 0 ? meanAndSd(mapRows(pairs, (y, p) => (p - y) ** 2)).sd / Math.sqrt(n) / (2 * value) : null;
    case 'ece':
      return null;
  }
}

/** Every metric of the task on these rows; null when there are none or the metric is undefined. */
export function windowMetrics(task: MonitoredTask, pairs: Pairs | null, threshold: number): MetricValues | null {
  if (!pairs || pairs.labels.length === 0) return null;
  return computeMetrics(task, pairs.labels, pairs.predictions, { threshold });
}

export interface PerformanceInput {
  task: MonitoredTask;
  reference: Pairs | null;
  current: Pairs;
  rules: PerformanceRules;
  slice?: string;
  /** Extra reason a slice may not fire (too few rows overall). */
  muted?: string;
}

/**
 * One signal per metric of the task. A metric that may alert gets a threshold from its bound, or
 * from the reference value moved by max(tolerance, z x sqrt(se_ref^2 + se_cur^2)) in the bad
 * direction, and fires when the window's value is past it (with at least minRows labelled rows).
 */
export function performanceSignals(input: PerformanceInput): SignalRow[] {
  const { task, rules, current, reference } = input;
  const cur = windowMetrics(task, current, rules.threshold);
  if (!cur) return [];
  const ref = windowMetrics(task, reference, rules.threshold);
  const rows: SignalRow[] = [];
  for (const metric of metricsForTask(task)) {
    const value = cur[metric] ?? null;
    const refValue = ref?.[metric] ?? null;
    const lowerIsBetter = METRIC_DIRECTIONS[metric] === 'lower_is_better';
    const detail: Record<string, unknown> = { reference: refValue, direction: METRIC_DIRECTIONS[metric] };
    let threshold: number | null = null;
    if (rules.alertMetrics.includes(metric)) {
      const bound = rules.bounds[metric];
      if (bound !== undefined) {
        threshold = bound;
        detail.rule = 'bound set in the spec (continual.triggers.performance)';
      } else if (refValue !== null && value !== null) {
        const tolerance = rules.tolerance[metric] ?? {};
        const seCur = metricStandardError(metric, current, value, rules.threshold);
        const seRef = reference ? metricStandardError(metric, reference, refValue, rules.threshold) : null;
        const noise = seCur === null ? 0 : rules.z * Math.sqrt(seCur ** 2 + (seRef ?? 0) ** 2);
        const margin = Math.max(tolerance.absolute ?? 0, (tolerance.relative ?? 0) * Math.abs(refValue), noise);
        threshold = lowerIsBetter ? refValue + margin : refValue - margin;
        Object.assign(detail, { rule: `reference ${lowerIsBetter ? '+' : '-'} max(tolerance, ${rules.z} standard errors)`, margin, seCur, seRef });
      } else {
        detail.note = refValue === null ? 'no reference value to compare with' : 'undefined on this window';
      }
    }
    let fired = false;
    if (threshold !== null && value !== null) {
      const worse = lowerIsBetter ? value > threshold : value < threshold;
      if (worse && current.labels.length < rules.minRows) detail.note = `only ${current.labels.length} labelled rows (an alert needs ${rules.minRows})`;
      else if (worse && input.muted) detail.note = input.muted;
      else fired = worse;
    }
    rows.push({
      kind: 'performance',
      feature: '',
      slice: input.slice ?? '',
      statistic: metric,
      value,
      threshold,
      firesWhen: threshold === null ? null : lowerIsBetter ? 'above' : 'below',
      fired,
      nRef: reference?.labels.length ?? 0,
      nCur: current.labels.length,
      detail,
    });
  }
  return rows;
}
