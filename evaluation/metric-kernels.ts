// Weighted metric kernels for the bootstrap: each metric is prepared once per prediction vector
// (sorting, per-row terms, bin ids) and then evaluated in O(n) on a vector of per-row weights,
// the bootstrap counts (how often each row was drawn), instead of copying and re-sorting a
// resample 1000 times. With all weights 1 a kernel equals the plain metric in ml/metrics.ts.
import {
  calibrationBinIndex,
  computeMetrics,
  DEFAULT_ECE_BINS,
  LOG_LOSS_EPSILON,
  logLossTerm,
  METRIC_DIRECTIONS,
  REGRESSION_METRICS,
  type MetricDirection,
  type MetricName,
  type MetricOptions,
  type Task,
} from '../ml/metrics';

/** The metric on the rows weighted by `weights` (one weight per row); NaN when undefined there. */
export type WeightedEvaluator = (weights: Float64Array) => number;

/** A metric the bootstrap can resample: built-in (builtInKernel) or any function (kernelFromFunction). */
export interface MetricKernel {
  readonly name: string;
  readonly direction: MetricDirection;
  /** Validates the inputs and precomputes what does not depend on the weights. */
  prepare(labels: ArrayLike<number>, predictions: ArrayLike<number>): WeightedEvaluator;
}

export function taskOfMetric(name: MetricName): Task {
  return (REGRESSION_METRICS as readonly string[]).includes(name) ? 'regression' : 'binary_classification';
}

/** The kernel of a built-in metric; options (threshold, ECE bins, log-loss epsilon) as in computeMetrics. */
export function builtInKernel(name: MetricName, options: MetricOptions = {}): MetricKernel {
  const direction = METRIC_DIRECTIONS[name];
  if (!direction) throw new Error(`builtInKernel: unknown metric "${String(name)}"`);
  return {
    name,
    direction,
    prepare(labels, predictions) {
      // The plain metric validates the input (lengths, 0/1 labels, probabilities in [0, 1]) and
      // names the offending row; its value is not needed here.
      computeMetrics(taskOfMetric(name), labels, predictions, { ...options, metrics: [name] });
      return prepareBuiltIn(name, labels, predictions, options);
    },
  };
}

/**
 * Wraps any metric function (labels, predictions) => value. Each evaluation materialises the
 * resample (row i repeated weights[i] times), so it costs a copy per replicate; use it for
 * metrics without a kernel. Weights must be non-negative integers (bootstrap counts).
 */
export function kernelFromFunction(
  name: string,
  direction: MetricDirection,
  metric: (labels: Float64Array, predictions: Float64Array) => number,
): MetricKernel {
  return {
    name,
    direction,
    prepare(labels, predictions) {
      if (labels.length !== predictions.length) throw new Error(`${name}: ${labels.length} labels but ${predictions.length} predictions`);
      return (weights) => {
        let total = 0;
        for (let i = 0; i < weights.length; i++) total += weights[i];
        const l = new Float64Array(total);
        const p = new Float64Array(total);
        let k = 0;
        for (let i = 0; i < weights.length; i++) {
          for (let c = 0; c < weights[i]; c++, k++) {
            l[k] = labels[i];
            p[k] = predictions[i];
          }
        }
        try {
          return metric(l, p);
        } catch {
          // A metric that throws on a degenerate resample (one class only) is undefined there.
          return NaN;
        }
      };
    },
  };
}

function prepareBuiltIn(name: MetricName, labels: ArrayLike<number>, p: ArrayLike<number>, options: MetricOptions): WeightedEvaluator {
  const threshold = options.threshold ?? 0.5;
  switch (name) {
    case 'auc':
      return prepareAuc(labels, p);
    case 'log_loss': {
      const epsilon = options.logLossEpsilon ?? LOG_LOSS_EPSILON;
      return weightedMean(rowTerms(labels.length, (i) => logLossTerm(labels[i], p[i], epsilon)));
    }
    case 'brier':
      return weightedMean(rowTerms(labels.length, (i) => (p[i] - labels[i]) ** 2));
    case 'accuracy':
      return weightedMean(rowTerms(labels.length, (i) => ((p[i] >= threshold ? 1 : 0) === labels[i] ? 1 : 0)));
    case 'precision':
      // TP / predicted positives; 0 when nothing is predicted positive, as computeMetrics does.
      return weightedRatio(
        rowTerms(labels.length, (i) => (p[i] >= threshold && labels[i] === 1 ? 1 : 0)),
        rowTerms(labels.length, (i) => (p[i] >= threshold ? 1 : 0)),
      );
    case 'recall':
      return weightedRatio(
        rowTerms(labels.length, (i) => (p[i] >= threshold && labels[i] === 1 ? 1 : 0)),
        rowTerms(labels.length, (i) => labels[i]),
      );
    case 'ece':
      return prepareEce(labels, p, options.eceBins ?? DEFAULT_ECE_BINS);
    case 'mae':
      return weightedMean(rowTerms(labels.length, (i) => Math.abs(p[i] - labels[i])));
    case 'rmse': {
      const mse = weightedMean(rowTerms(labels.length, (i) => (p[i] - labels[i]) ** 2));
      return (weights) => Math.sqrt(mse(weights));
    }
  }
}

function rowTerms(n: number, term: (i: number) => number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = term(i);
  return out;
}

function weightedMean(terms: Float64Array): WeightedEvaluator {
  return (weights) => {
    let total = 0;
    let weight = 0;
    for (let i = 0; i < terms.length; i++) {
      total += weights[i] * terms[i];
      weight += weights[i];
    }
    return weight > 0 ? total / weight : NaN;
  };
}

function weightedRatio(numerator: Float64Array, denominator: Float64Array): WeightedEvaluator {
  return (weights) => {
    let num = 0;
    let den = 0;
    for (let i = 0; i < numerator.length; i++) {
      num += weights[i] * numerator[i];
      den += weights[i] * denominator[i];
    }
    return den > 0 ? num / den : 0;
  };
}

/**
 * Weighted Mann-Whitney AUC. Rows are sorted by score once; each evaluation walks the tie groups
 * in ascending order, crediting every positive weight with the negative weight strictly below its
 * group plus half the negative weight inside it (ties count one half, as in auc()).
 */
function prepareAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): WeightedEvaluator {
  const n = labels.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (scores[a] < scores[b] ? -1 : scores[a] > scores[b] ? 1 : 0));
  // Label as 0/1 floats in sorted order and a flag on the last row of each tie group, so the hot
  // loop below is one linear pass without data-dependent branches (labels are random in score
  // order, and a mispredicted branch per row would dominate its cost).
  const positive = new Float64Array(n);
  const groupEnd = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    positive[k] = labels[order[k]] === 1 ? 1 : 0;
    groupEnd[k] = k === n - 1 || scores[order[k]] !== scores[order[k + 1]] ? 1 : 0;
  }
  return (weights) => {
    let credit = 0;
    let negativesBelow = 0;
    let positives = 0;
    let groupPositives = 0;
    let groupNegatives = 0;
    for (let k = 0; k < n; k++) {
      const w = weights[order[k]];
      const pos = positive[k];
      groupPositives += w * pos;
      groupNegatives += w - w * pos;
      if (groupEnd[k] === 1) {
        credit += groupPositives * (negativesBelow + 0.5 * groupNegatives);
        negativesBelow += groupNegatives;
        positives += groupPositives;
        groupPositives = 0;
        groupNegatives = 0;
      }
    }
    return positives > 0 && negativesBelow > 0 ? credit / (positives * negativesBelow) : NaN;
  };
}

/** Weighted ECE with the same bins as expectedCalibrationError: sum_b |sum_b w p - sum_b w y| / sum w. */
function prepareEce(labels: ArrayLike<number>, p: ArrayLike<number>, nBins: number): WeightedEvaluator {
  const n = labels.length;
  const bin = new Int32Array(n);
  const residual = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    bin[i] = calibrationBinIndex(p[i], nBins);
    residual[i] = p[i] - labels[i];
  }
  const gap = new Float64Array(nBins);
  return (weights) => {
    gap.fill(0);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const w = weights[i];
      gap[bin[i]] += w * residual[i];
      total += w;
    }
    let sum = 0;
    for (let b = 0; b < nBins; b++) sum += Math.abs(gap[b]);
    return total > 0 ? sum / total : NaN;
  };
}
