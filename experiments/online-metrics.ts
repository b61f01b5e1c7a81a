// Per-request online metrics: what one labelled prediction contributes to a rollout's comparison.
// The SQL in serving/online-metrics.ts aggregates exactly these values (sum and sum of squares);
// this is the reference definition its tests check against.

export const ONLINE_METRICS = ['log_loss', 'brier', 'accuracy', 'outcome_rate'] as const;
export type OnlineMetric = (typeof ONLINE_METRICS)[number];

/** Probabilities are clipped here before the log, as scikit-learn's log_loss does. */
export const LOG_LOSS_EPSILON = 1e-15;

/** Whether a larger value of the metric is better (accuracy, outcome rate) or worse (losses). */
export function higherIsBetter(metric: OnlineMetric): boolean {
  return metric === 'accuracy' || metric === 'outcome_rate';
}

/** Metrics whose per-request value is 0/1, so the two-proportion z-test applies. */
export function isProportionMetric(metric: OnlineMetric): boolean {
  return metric === 'accuracy' || metric === 'outcome_rate';
}

/**
 * One request's value. p is the predicted P(y = 1), y the natural label (0/1). outcome_rate is the
 * label itself: the business metric when the served prediction changes what the user sees.
 */
export function metricValue(metric: OnlineMetric, p: number, y: number): number {
  switch (metric) {
    case 'log_loss': {
      const q = Math.min(Math.max(p, LOG_LOSS_EPSILON), 1 - LOG_LOSS_EPSILON);
      return -(y * Math.log(q) + (1 - y) * Math.log(1 - q));
    }
    case 'brier':
      return (p - y) * (p - y);
    case 'accuracy':
      return (p >= 0.5 ? 1 : 0) === y ? 1 : 0;
    case 'outcome_rate':
      return y;
  }
}

/** Turns "candidate − champion" into "how much worse the candidate is" (positive = worse). */
export function degradation(metric: OnlineMetric, candidateMean: number, championMean: number): number {
  return higherIsBetter(metric) ? championMean - candidateMean : candidateMean - championMean;
}
