// Offline-evaluation metrics (report cards, champion/challenger comparison): binary classifiers
// (labels 0/1 against probabilities or scores) and regressors; pure functions, plus computeMetrics,
// which computes every metric of a task in one call.

/** Probability floor for log loss, the same bound scikit-learn long used: one confident miss costs -ln(1e-15) ~ 34.5. */
export const LOG_LOSS_EPSILON = 1e-15;

/**
 * ROC AUC as the Mann-Whitney statistic: the probability that a random positive scores above a
 * random negative, ties counting one half. Sorting once makes it O(n log n); tied scores share
 * their average rank, which is what yields the one-half credit.
 */
export function auc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  checkPair('auc', labels, scores);
  const n = labels.length;
  let positives = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(scores[i])) throw new Error(`auc: score at index ${i} is NaN`);
    positives += labels[i];
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) {
    throw new Error(`auc: labels contain only class ${positives === 0 ? 0 : 1}; AUC needs both positives and negatives`);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => compareScores(scores[a], scores[b]));
  let positiveRankSum = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && scores[order[end]] === scores[order[start]]) end++;
    // Ranks are 1-based: the tie group [start, end) occupies ranks start+1 .. end.
    const averageRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) if (labels[order[k]] === 1) positiveRankSum += averageRank;
    start = end;
  }
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Mean negative log-likelihood. The probability given to the true class is floored at `epsilon`
 * (default LOG_LOSS_EPSILON) so a single confident mistake costs a bounded ~34.5 instead of
 * Infinity; flooring that probability (rather than clipping p to [eps, 1 - eps]) keeps both
 * classes symmetric, since 1 - (1 - 1e-15) is not exactly 1e-15 in float64.
 * scikit-learn >= 1.5 clips at float64's machine epsilon instead (Number.EPSILON, a cost of ~36.04
 * per confident miss); pass epsilon = Number.EPSILON to reproduce it exactly.
 */
export function logLoss(labels: ArrayLike<number>, probabilities: ArrayLike<number>, epsilon = LOG_LOSS_EPSILON): number {
  checkPair('logLoss', labels, probabilities);
  checkProbabilities('logLoss', probabilities);
  checkEpsilon('logLoss', epsilon);
  let total = 0;
  for (let i = 0; i < labels.length; i++) total += logLossTerm(labels[i], probabilities[i], epsilon);
  return total / labels.length;
}

/** One row's log-loss contribution; shared with the bootstrap kernels so both floor identically. */
export function logLossTerm(label: number, probability: number, epsilon = LOG_LOSS_EPSILON): number {
  const trueClassProbability = label === 1 ? probability : 1 - probability;
  return -Math.log(Math.max(trueClassProbability, epsilon));
}

/** Share of rows where (p >= threshold) equals the label. */
export function accuracy(labels: ArrayLike<number>, probabilities: ArrayLike<number>, threshold = 0.5): number {
  checkPair('accuracy', labels, probabilities);
  if (!Number.isFinite(threshold)) throw new Error(`accuracy: threshold must be finite, got ${threshold}`);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    if ((probabilities[i] >= threshold ? 1 : 0) === labels[i]) correct += 1;
  }
  return correct / labels.length;
}

/** Mean squared error of the probabilities; unlike AUC it also rewards calibration. */
export function brierScore(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  checkPair('brierScore', labels, probabilities);
  checkProbabilities('brierScore', probabilities);
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const d = probabilities[i] - labels[i];
    total += d * d;
  }
  return total / labels.length;
}

/**
 * TP / (TP + FP) with class 1 meaning p >= threshold (as in accuracy). When nothing is predicted
 * positive the ratio is 0/0; like scikit-learn's default (zero_division=0) it is reported as 0.
 */
export function precision(labels: ArrayLike<number>, probabilities: ArrayLike<number>, threshold = 0.5): number {
  const c = countConfusion('precision', labels, probabilities, threshold);
  return c.tp + c.fp === 0 ? 0 : c.tp / (c.tp + c.fp);
}

/** TP / (TP + FN); 0 when there are no positive labels (scikit-learn's zero_division=0). */
export function recall(labels: ArrayLike<number>, probabilities: ArrayLike<number>, threshold = 0.5): number {
  const c = countConfusion('recall', labels, probabilities, threshold);
  return c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn);
}

export interface ConfusionCounts {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** Confusion-matrix counts at a threshold (class 1 when p >= threshold). */
export function confusionCounts(labels: ArrayLike<number>, probabilities: ArrayLike<number>, threshold = 0.5): ConfusionCounts {
  return countConfusion('confusionCounts', labels, probabilities, threshold);
}

function countConfusion(name: string, labels: ArrayLike<number>, probabilities: ArrayLike<number>, threshold: number): ConfusionCounts {
  checkPair(name, labels, probabilities);
  checkThreshold(name, threshold);
  const counts: ConfusionCounts = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < labels.length; i++) {
    const predictedPositive = probabilities[i] >= threshold;
    if (labels[i] === 1) predictedPositive ? counts.tp++ : counts.fn++;
    else predictedPositive ? counts.fp++ : counts.tn++;
  }
  return counts;
}

/** Ten equal-width bins, the usual reliability-diagram default (scikit-learn's n_bins=10). */
export const DEFAULT_ECE_BINS = 10;

/** One equal-width bin of a reliability diagram. */
export interface CalibrationBin {
  /** Bin edges; a probability exactly on an inner edge belongs to the lower bin (see calibrationBinIndex). */
  lower: number;
  upper: number;
  count: number;
  /** Mean predicted probability and observed share of positives; null for an empty bin. */
  meanPredicted: number | null;
  fractionPositive: number | null;
}

/**
 * The bin of probability p among nBins equal-width bins on [0, 1], defined exactly as
 * scikit-learn's calibration_curve(strategy='uniform') does it: edges are
 * numpy.linspace(0, 1, nBins + 1), i.e. k * (1 / nBins) in float64 (so the "0.3" edge is
 * 0.30000000000000004), and the bin is numpy.searchsorted(inner edges, p) with side='left':
 * the number of inner edges strictly below p. Hence bin 0 is [0, e1], bin k is (e_k, e_k+1],
 * and a probability on an edge falls into the LOWER bin. Matching this to the last bit matters
 * because real predictions (rounded scores, float32 outputs) do land on edges.
 */
export function calibrationBinIndex(p: number, nBins: number): number {
  const step = 1 / nBins;
  let bin = Math.min(nBins - 1, Math.max(0, Math.floor(p * nBins)));
  // floor(p * nBins) can be one off either way from the searchsorted answer because of rounding.
  while (bin > 0 && !(bin * step < p)) bin--;
  while (bin < nBins - 1 && (bin + 1) * step < p) bin++;
  return bin;
}

/** Every bin (empty ones included, with null means) of the reliability diagram. */
export function calibrationBins(labels: ArrayLike<number>, probabilities: ArrayLike<number>, nBins = DEFAULT_ECE_BINS): CalibrationBin[] {
  checkPair('calibrationBins', labels, probabilities);
  checkProbabilities('calibrationBins', probabilities);
  checkBins('calibrationBins', nBins);
  const count = new Float64Array(nBins);
  const sumPredicted = new Float64Array(nBins);
  const sumPositive = new Float64Array(nBins);
  for (let i = 0; i < labels.length; i++) {
    const b = calibrationBinIndex(probabilities[i], nBins);
    count[b] += 1;
    sumPredicted[b] += probabilities[i];
    sumPositive[b] += labels[i];
  }
  return Array.from({ length: nBins }, (_, b) => ({
    lower: b * (1 / nBins),
    upper: b === nBins - 1 ? 1 : (b + 1) * (1 / nBins),
    count: count[b],
    meanPredicted: count[b] > 0 ? sumPredicted[b] / count[b] : null,
    fractionPositive: count[b] > 0 ? sumPositive[b] / count[b] : null,
  }));
}

/**
 * Expected calibration error: sum over non-empty bins of (n_b / n) * |mean predicted_b - share
 * of positives_b|, with the equal-width bins of calibrationBinIndex. By construction it equals
 * sum(counts * |prob_true - prob_pred|) / n over the arrays that scikit-learn's
 * calibration_curve(y, p, n_bins, strategy='uniform') returns, with counts the sizes of its
 * non-empty bins. (n_b / n) * |mean_b| reduces to |sum p - sum y|_b / n, which is how it is summed.
 */
export function expectedCalibrationError(labels: ArrayLike<number>, probabilities: ArrayLike<number>, nBins = DEFAULT_ECE_BINS): number {
  let total = 0;
  for (const bin of calibrationBins(labels, probabilities, nBins)) {
    if (bin.count > 0) total += bin.count * Math.abs((bin.meanPredicted as number) - (bin.fractionPositive as number));
  }
  return total / labels.length;
}

/** Mean absolute error of a regressor. */
export function meanAbsoluteError(targets: ArrayLike<number>, predictions: ArrayLike<number>): number {
  checkRegressionPair('meanAbsoluteError', targets, predictions);
  let total = 0;
  for (let i = 0; i < targets.length; i++) total += Math.abs(predictions[i] - targets[i]);
  return total / targets.length;
}

/** Root mean squared error of a regressor; punishes large misses more than MAE does. */
export function rootMeanSquaredError(targets: ArrayLike<number>, predictions: ArrayLike<number>): number {
  checkRegressionPair('rootMeanSquaredError', targets, predictions);
  let total = 0;
  for (let i = 0; i < targets.length; i++) {
    const d = predictions[i] - targets[i];
    total += d * d;
  }
  return Math.sqrt(total / targets.length);
}

export type Task = 'binary_classification' | 'regression';

export const CLASSIFICATION_METRICS = ['auc', 'log_loss', 'accuracy', 'precision', 'recall', 'ece', 'brier'] as const;
export const REGRESSION_METRICS = ['mae', 'rmse'] as const;
export const METRIC_NAMES = [...CLASSIFICATION_METRICS, ...REGRESSION_METRICS] as const;
export type ClassificationMetricName = (typeof CLASSIFICATION_METRICS)[number];
export type RegressionMetricName = (typeof REGRESSION_METRICS)[number];
export type MetricName = (typeof METRIC_NAMES)[number];
export type MetricDirection = 'higher_is_better' | 'lower_is_better';

/** Which way is better for each metric; gates use it to turn "candidate - champion" into better/worse. */
export const METRIC_DIRECTIONS: Readonly<Record<MetricName, MetricDirection>> = {
  auc: 'higher_is_better',
  accuracy: 'higher_is_better',
  precision: 'higher_is_better',
  recall: 'higher_is_better',
  log_loss: 'lower_is_better',
  ece: 'lower_is_better',
  brier: 'lower_is_better',
  mae: 'lower_is_better',
  rmse: 'lower_is_better',
};

export function metricsForTask(task: Task): readonly MetricName[] {
  if (task === 'binary_classification') return CLASSIFICATION_METRICS;
  if (task === 'regression') return REGRESSION_METRICS;
  throw new Error(`unknown task "${String(task)}"; use 'binary_classification' or 'regression'`);
}

export function isMetricForTask(metric: string, task: Task): metric is MetricName {
  return (metricsForTask(task) as readonly string[]).includes(metric);
}

export interface MetricOptions {
  /** Decision threshold for accuracy, precision and recall: class 1 when p >= threshold (default 0.5). */
  threshold?: number;
  /** Equal-width bins for ECE (default 10). */
  eceBins?: number;
  /** Floor of the true-class probability in log loss (default LOG_LOSS_EPSILON). */
  logLossEpsilon?: number;
  /** Compute only these metrics (default: every metric of the task). */
  metrics?: readonly MetricName[];
}

/** Metric values by name; null when a metric is undefined on these rows (AUC when only one class occurs). */
export type MetricValues = { [K in MetricName]?: number | null };

/**
 * Every metric of the task (or options.metrics) on one set of predictions. Invalid input (length
 * mismatch, labels not 0/1, probabilities outside [0, 1], non-finite values) throws; a metric
 * that is merely undefined on valid data is null, so a small slice does not abort a report card.
 */
export function computeMetrics(task: Task, labels: ArrayLike<number>, predictions: ArrayLike<number>, options: MetricOptions = {}): MetricValues {
  const names = options.metrics ?? metricsForTask(task);
  for (const name of names) {
    if (!isMetricForTask(name, task)) throw new Error(`computeMetrics: metric "${name}" does not apply to task ${task}; use one of ${metricsForTask(task).join(', ')}`);
  }
  const threshold = options.threshold ?? 0.5;
  const bins = options.eceBins ?? DEFAULT_ECE_BINS;
  const out: MetricValues = {};
  if (task === 'binary_classification') {
    checkPair('computeMetrics', labels, predictions);
    // AUC only ranks, so it also takes unbounded scores (logits); every other metric needs probabilities.
    if (names.some((name) => name !== 'auc')) checkProbabilities('computeMetrics', predictions);
    else for (let i = 0; i < predictions.length; i++) if (Number.isNaN(predictions[i])) throw new Error(`computeMetrics: prediction at index ${i} is NaN`);
    for (const name of names) out[name] = classificationMetric(name as ClassificationMetricName, labels, predictions, threshold, bins, options.logLossEpsilon);
  } else {
    checkRegressionPair('computeMetrics', labels, predictions);
    for (const name of names) out[name] = name === 'mae' ? meanAbsoluteError(labels, predictions) : rootMeanSquaredError(labels, predictions);
  }
  return out;
}

function classificationMetric(
  name: ClassificationMetricName,
  labels: ArrayLike<number>,
  p: ArrayLike<number>,
  threshold: number,
  bins: number,
  epsilon: number | undefined,
): number | null {
  switch (name) {
    case 'auc':
      return hasBothClasses(labels) ? auc(labels, p) : null;
    case 'log_loss':
      return logLoss(labels, p, epsilon);
    case 'accuracy':
      return accuracy(labels, p, threshold);
    case 'precision':
      return precision(labels, p, threshold);
    case 'recall':
      return recall(labels, p, threshold);
    case 'ece':
      return expectedCalibrationError(labels, p, bins);
    case 'brier':
      return brierScore(labels, p);
  }
}

function hasBothClasses(labels: ArrayLike<number>): boolean {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i];
  return positives > 0 && positives < labels.length;
}

// Subtraction would give NaN for two equal infinities (unbounded scores such as logits).
function compareScores(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkPair(name: string, labels: ArrayLike<number>, values: ArrayLike<number>): void {
  if (labels.length !== values.length) {
    throw new Error(`${name}: ${labels.length} labels but ${values.length} predictions; they must be the same length`);
  }
  if (labels.length === 0) throw new Error(`${name}: no rows; a metric needs at least one labelled prediction`);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new Error(`${name}: label at index ${i} is ${labels[i]}; labels must be 0 or 1`);
  }
}

function checkRegressionPair(name: string, targets: ArrayLike<number>, predictions: ArrayLike<number>): void {
  if (targets.length !== predictions.length) {
    throw new Error(`${name}: ${targets.length} targets but ${predictions.length} predictions; they must be the same length`);
  }
  if (targets.length === 0) throw new Error(`${name}: no rows; a metric needs at least one labelled prediction`);
  for (let i = 0; i < targets.length; i++) {
    if (!Number.isFinite(targets[i])) throw new Error(`${name}: target at index ${i} is ${targets[i]}; targets must be finite`);
    if (!Number.isFinite(predictions[i])) throw new Error(`${name}: prediction at index ${i} is ${predictions[i]}; predictions must be finite`);
  }
}

function checkThreshold(name: string, threshold: number): void {
  if (!Number.isFinite(threshold)) throw new Error(`${name}: threshold must be finite, got ${threshold}`);
}

function checkBins(name: string, nBins: number): void {
  if (!Number.isInteger(nBins) || nBins < 1) throw new Error(`${name}: the number of bins must be a positive integer, got ${nBins}`);
}

function checkEpsilon(name: string, epsilon: number): void {
  if (!(epsilon > 0 && epsilon < 1)) throw new Error(`${name}: epsilon must lie in (0, 1), got ${epsilon}`);
}

function checkProbabilities(name: string, probabilities: ArrayLike<number>): void {
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i];
    if (!(p >= 0 && p <= 1)) throw new Error(`${name}: prediction at index ${i} is ${p}; probabilities must lie in [0, 1]`);
  }
}
