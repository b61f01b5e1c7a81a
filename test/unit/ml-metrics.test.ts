// Offline metrics against values worked out by hand (shown in the comments) and a brute-force AUC.
import { describe, expect, it } from 'vitest';
import {
  accuracy,
  auc,
  brierScore,
  calibrationBinIndex,
  calibrationBins,
  computeMetrics,
  confusionCounts,
  expectedCalibrationError,
  logLoss,
  meanAbsoluteError,
  METRIC_DIRECTIONS,
  metricsForTask,
  precision,
  recall,
  rootMeanSquaredError,
} from '../../ml/metrics';
import { createRng } from '../../ml/random';

describe('auc', () => {
  it('counts correctly ordered positive/negative pairs', () => {
    // Pairs (pos, neg): 0.35>0.1 yes, 0.35>0.4 no, 0.8>0.1 yes, 0.8>0.4 yes -> 3/4.
    expect(auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
    expect(auc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])).toBe(1);
    expect(auc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4])).toBe(0);
  });

  it('gives tied positive/negative pairs half credit', () => {
    // Pairs: 0.5 vs 0.2 -> 1, 0.5 vs 0.5 (tie) -> 0.5, 0.9 vs 0.2 -> 1, 0.9 vs 0.5 -> 1: 3.5/4.
    expect(auc([0, 0, 1, 1], [0.2, 0.5, 0.5, 0.9])).toBe(0.875);
    // All scores tied: every pair is a tie -> 0.5.
    expect(auc([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3])).toBe(0.5);
    // A tie group spanning both classes: labels [0,1,1,0], scores [0.1,0.7,0.7,0.7]. Each positive
    // beats the 0.1 negative (2 x 1) and ties the 0.7 negative (2 x 0.5): 3/4.
    expect(auc([0, 1, 1, 0], [0.1, 0.7, 0.7, 0.7])).toBe(0.75);
    // Infinite scores (raw logits) sort and tie like any other value: Inf>-Inf 1, Inf=Inf 0.5,
    // 0>-Inf 1, 0<Inf 0 -> 2.5/4.
    expect(auc([0, 1, 0, 1], [-Infinity, Infinity, Infinity, 0])).toBe(0.625);
  });

  it('agrees with the O(n^2) pairwise definition on random data with many ties', () => {
    const rng = createRng(5);
    const n = 400;
    const labels = Array.from({ length: n }, () => (rng.next() < 0.3 ? 1 : 0));
    const scores = labels.map((l) => Math.round((rng.next() + 0.3 * l) * 10) / 10);
    let credit = 0;
    let pairs = 0;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < n; k++) {
        if (labels[i] !== 1 || labels[k] !== 0) continue;
        pairs += 1;
        credit += scores[i] > scores[k] ? 1 : scores[i] === scores[k] ? 0.5 : 0;
      }
    }
    expect(auc(labels, scores)).toBeCloseTo(credit / pairs, 12);
  });

  it('rejects one class, NaN scores and bad labels', () => {
    expect(() => auc([1, 1], [0.2, 0.3])).toThrow(/only class 1/);
    expect(() => auc([0, 1], [0.2, NaN])).toThrow(/index 1 is NaN/);
    expect(() => auc([0, 2], [0.2, 0.3])).toThrow(/label at index 1 is 2/);
    expect(() => auc([0, 1], [0.2])).toThrow(/2 labels but 1 predictions/);
    expect(() => auc([], [])).toThrow(/no rows/);
  });
});

describe('logLoss', () => {
  it('matches the hand computation', () => {
    // -(ln 0.9 + ln(1 - 0.2) + ln 0.6) / 3 = (0.105360516 + 0.223143551 + 0.510825624) / 3 = 0.2797765635793422
    expect(logLoss([1, 0, 1], [0.9, 0.2, 0.6])).toBeCloseTo(0.2797765635793422, 14);
    // A perfect prediction costs nothing.
    expect(logLoss([1, 0], [1, 0])).toBe(0);
  });

  it('clips the true-class probability at 1e-15, for both classes alike', () => {
    // -ln(1e-15) = 15 ln 10 = 34.538776394910684 for each confidently wrong row.
    expect(logLoss([1, 0], [0, 1])).toBeCloseTo(34.538776394910684, 12);
    // Half right (cost 0), half wrong: 34.538776394910684 / 2.
    expect(logLoss([1, 1], [1, 0])).toBeCloseTo(17.269388197455342, 12);
  });

  it('rejects probabilities outside [0, 1]', () => {
    expect(() => logLoss([1], [1.5])).toThrow(/index 0 is 1.5.*\[0, 1\]/);
    expect(() => logLoss([1], [NaN])).toThrow(/index 0 is NaN/);
  });
});

describe('accuracy', () => {
  it('thresholds with p >= threshold meaning class 1', () => {
    // Predictions at 0.5: [1, 0, 1, 1] vs labels [1, 0, 0, 1] -> 3/4 (0.5 itself counts as 1).
    expect(accuracy([1, 0, 0, 1], [0.9, 0.2, 0.6, 0.5])).toBe(0.75);
    // At 0.95 everything is class 0: right only on the two negatives -> 2/4.
    expect(accuracy([1, 0, 0, 1], [0.9, 0.2, 0.6, 0.5], 0.95)).toBe(0.5);
  });
});

describe('brierScore', () => {
  it('matches the hand computation', () => {
    // ((0.9 - 1)^2 + (0.2 - 0)^2 + (0.6 - 1)^2) / 3 = (0.01 + 0.04 + 0.16) / 3 = 0.07
    expect(brierScore([1, 0, 1], [0.9, 0.2, 0.6])).toBeCloseTo(0.07, 15);
    expect(brierScore([1, 0], [0, 1])).toBe(1);
  });
});

describe('logLoss epsilon', () => {
  it('floors the true-class probability at the given epsilon (scikit-learn >= 1.5 uses 2^-52)', () => {
    // -ln(2^-52) = 52 ln 2 = 36.04365338911715.
    expect(logLoss([1, 0], [0, 1], Number.EPSILON)).toBeCloseTo(36.04365338911715, 12);
    expect(() => logLoss([1], [0.5], 0)).toThrow(/epsilon must lie in \(0, 1\)/);
  });
});

describe('precision and recall', () => {
  it('count p >= threshold as class 1', () => {
    // labels [1,0,1,1,0], p [0.9,0.6,0.4,0.5,0.1] at 0.5: predicted [1,1,0,1,0] -> TP 2, FP 1, FN 1, TN 1.
    const labels = [1, 0, 1, 1, 0];
    const p = [0.9, 0.6, 0.4, 0.5, 0.1];
    expect(confusionCounts(labels, p)).toEqual({ tp: 2, fp: 1, tn: 1, fn: 1 });
    expect(precision(labels, p)).toBeCloseTo(2 / 3, 15);
    expect(recall(labels, p)).toBeCloseTo(2 / 3, 15);
    // At 0.55: predicted [1,1,0,0,0] -> TP 1, FP 1, FN 2.
    expect(precision(labels, p, 0.55)).toBe(0.5);
    expect(recall(labels, p, 0.55)).toBeCloseTo(1 / 3, 15);
  });

  it('report 0 when the ratio is 0/0, as scikit-learn does with zero_division=0', () => {
    expect(precision([1, 0], [0.1, 0.2], 0.9)).toBe(0);
    expect(recall([0, 0], [0.1, 0.9], 0.5)).toBe(0);
  });
});

describe('calibration bins and ECE', () => {
  it('puts a probability on an inner edge into the lower bin, like numpy.searchsorted(side="left")', () => {
    expect(calibrationBinIndex(0, 10)).toBe(0);
    expect(calibrationBinIndex(0.1, 10)).toBe(0);
    expect(calibrationBinIndex(0.10000000000000002, 10)).toBe(1);
    // The numpy edge is 3 * 0.1 = 0.30000000000000004: 0.3 lies below it, in bin 2, and so does the edge itself.
    expect(calibrationBinIndex(0.3, 10)).toBe(2);
    expect(calibrationBinIndex(3 * 0.1, 10)).toBe(2);
    expect(calibrationBinIndex(0.30000000000000010, 10)).toBe(3);
    expect(calibrationBinIndex(1, 10)).toBe(9);
    expect(calibrationBinIndex(0.5, 2)).toBe(0);
    expect(calibrationBinIndex(0.5000001, 2)).toBe(1);
  });

  it('matches the hand computation', () => {
    // 2 bins. Bin 0 [0, 0.5]: p 0.2, 0.4, 0.5 with labels 0, 1, 1 -> mean p 1.1/3, share 2/3, gap 0.9/3 = 0.3.
    // Bin 1 (0.5, 1]: p 0.8, 0.9 with labels 1, 0 -> mean 0.85, share 0.5, gap 0.35.
    // ECE = (3 x 0.3 + 2 x 0.35) / 5 = 1.6 / 5 = 0.32.
    const labels = [0, 1, 1, 1, 0];
    const p = [0.2, 0.4, 0.5, 0.8, 0.9];
    expect(expectedCalibrationError(labels, p, 2)).toBeCloseTo(0.32, 15);
    const bins = calibrationBins(labels, p, 2);
    expect(bins.map((b) => b.count)).toEqual([3, 2]);
    expect(bins[1].meanPredicted).toBeCloseTo(0.85, 15);
    expect(bins[1].fractionPositive).toBe(0.5);
    // A perfectly calibrated constant forecast has ECE 0; empty bins carry null means.
    expect(expectedCalibrationError([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5])).toBe(0);
    expect(calibrationBins([1], [0.95], 10)[0].meanPredicted).toBeNull();
  });
});

describe('regression metrics', () => {
  it('MAE and RMSE match the hand computation', () => {
    // errors [1, -2, 3, 0]: MAE 6/4 = 1.5, RMSE sqrt(14/4) = 1.8708286933869707.
    expect(meanAbsoluteError([1, 2, 3, 4], [2, 0, 6, 4])).toBe(1.5);
    expect(rootMeanSquaredError([1, 2, 3, 4], [2, 0, 6, 4])).toBeCloseTo(1.8708286933869707, 14);
    expect(() => meanAbsoluteError([1, NaN], [1, 2])).toThrow(/target at index 1 is NaN/);
  });
});

describe('computeMetrics', () => {
  it('computes every metric of the task with the given options', () => {
    const labels = [1, 0, 1, 1, 0];
    const p = [0.9, 0.6, 0.4, 0.5, 0.1];
    const m = computeMetrics('binary_classification', labels, p, { threshold: 0.55, eceBins: 2 });
    expect(Object.keys(m).sort()).toEqual([...metricsForTask('binary_classification')].sort());
    expect(m.auc).toBe(auc(labels, p));
    expect(m.log_loss).toBe(logLoss(labels, p));
    expect(m.precision).toBe(0.5);
    expect(m.ece).toBe(expectedCalibrationError(labels, p, 2));
    expect(computeMetrics('regression', [1, 2], [1, 4])).toEqual({ mae: 1, rmse: Math.sqrt(2) });
  });

  it('gives null for a metric undefined on the rows and throws on invalid input', () => {
    expect(computeMetrics('binary_classification', [1, 1], [0.2, 0.7]).auc).toBeNull();
    expect(() => computeMetrics('binary_classification', [1, 0], [0.2, 1.7])).toThrow(/index 1 is 1.7/);
    expect(() => computeMetrics('regression', [1], [1], { metrics: ['auc'] })).toThrow(/"auc" does not apply to task regression/);
  });

  it('knows which way is better', () => {
    expect(METRIC_DIRECTIONS.auc).toBe('higher_is_better');
    expect(METRIC_DIRECTIONS.log_loss).toBe('lower_is_better');
    expect(METRIC_DIRECTIONS.ece).toBe('lower_is_better');
  });
});
