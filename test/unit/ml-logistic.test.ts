// Built-in logistic regression: learns known weights, is deterministic, early-stops to the best
// epoch, warm-starts exactly from a parent, and rejects bad input with errors that name the problem.
import { describe, expect, it } from 'vitest';
import { createMatrix, matrixFromRows, type DatasetMatrix } from '../../ml/dataset-matrix';
import {
  logisticRegressionLoss,
  predictProba,
  sigmoid,
  trainLogisticRegression,
  type EpochProgress,
  type LogisticRegressionModel,
} from '../../ml/logistic-regression';
import { auc, logLoss } from '../../ml/metrics';
import { syntheticLogisticData } from '../../ml/synthetic';

// Different offsets and scales per feature so a missing or wrong standardisation would show.
const TRUE_WEIGHTS = [2.5, -2, 1.5, -1, 0.7];
const spec = { weights: TRUE_WEIGHTS, intercept: -0.3, offsets: [100, -5, 0, 1e4, 3], scales: [20, 0.01, 1, 500, 2] };
const train = syntheticLogisticData({ ...spec, rows: 4000, seed: 11 });
const test = syntheticLogisticData({ ...spec, rows: 2000, seed: 12 });

describe('trainLogisticRegression', () => {
  it.each(['adam', 'sgd'] as const)('learns the synthetic problem with %s: AUC > 0.9 and the sign of every true weight', (optimizer) => {
    const { model } = trainLogisticRegression(train.X, train.y, { optimizer, epochs: 10, seed: 1 });
    const p = predictProba(model, test.X);
    // The Bayes-optimal scorer (true probabilities) bounds what any model can reach on this data.
    const bayes = auc(test.y, test.probabilities);
    expect(bayes).toBeGreaterThan(0.9);
    expect(auc(test.y, p)).toBeGreaterThan(0.9);
    expect(auc(test.y, p)).toBeGreaterThan(bayes - 0.01);
    model.weights.forEach((w, j) => expect(Math.sign(w)).toBe(Math.sign(TRUE_WEIGHTS[j])));
    // Weights live on standardised features, the same space the true weights were drawn in.
    model.weights.forEach((w, j) => expect(Math.abs(w - TRUE_WEIGHTS[j])).toBeLessThan(0.25));
    expect(Math.abs(model.bias - spec.intercept)).toBeLessThan(0.15);
    // Mean/std come from the raw training data.
    expect(model.mean[3]).toBeCloseTo(1e4, -2);
    expect(model.std[1]).toBeCloseTo(0.01, 3);
  });

  it('is deterministic for a seed, and the seed matters', () => {
    const a = trainLogisticRegression(train.X, train.y, { epochs: 3, seed: 7 });
    const b = trainLogisticRegression(train.X, train.y, { epochs: 3, seed: 7 });
    const c = trainLogisticRegression(train.X, train.y, { epochs: 3, seed: 8 });
    expect(b.model).toEqual(a.model);
    expect(b.history).toEqual(a.history);
    expect(c.model.weights).not.toEqual(a.model.weights);
  });

  it('records history, samplesSeen and calls onEpoch after each epoch', () => {
    const seen: EpochProgress[] = [];
    const result = trainLogisticRegression(train.X, train.y, { epochs: 4, batchSize: 100, onEpoch: (p) => void seen.push(p) });
    expect(result.history.map((h) => h.epoch)).toEqual([0, 1, 2, 3, 4]);
    expect(result.history.map((h) => h.samplesSeen)).toEqual([0, 4000, 8000, 12000, 16000]);
    expect(result.samplesSeen).toBe(16000);
    expect(seen.map((p) => [p.epoch, p.epochs])).toEqual([[1, 4], [2, 4], [3, 4], [4, 4]]);
    expect(result.history[4].trainLoss).toBeLessThan(result.history[0].trainLoss);
    // Epoch 0 is the base-rate model: its loss is the entropy of the label mean.
    const rate = train.y.reduce((s, v) => s + v, 0) / train.y.length;
    expect(result.history[0].trainLoss).toBeCloseTo(-(rate * Math.log(rate) + (1 - rate) * Math.log(1 - rate)), 12);
    expect(result.stopReason).toBe('epochs');
  });

  it("stops when onEpoch returns 'stop'", () => {
    const result = trainLogisticRegression(train.X, train.y, { epochs: 50, onEpoch: (p) => (p.epoch === 2 ? 'stop' : undefined) });
    expect(result.stopReason).toBe('callback');
    expect(result.history).toHaveLength(3);
  });

  it('early stopping on validation restores the weights of the best epoch', () => {
    // 60 rows and 40 features, 37 of them noise: the model overfits, so validation loss turns up.
    const weights = Array.from({ length: 40 }, (_, j) => [2, -2, 1.5][j] ?? 0);
    const small = syntheticLogisticData({ rows: 60, weights, seed: 1 });
    const validation = syntheticLogisticData({ rows: 2000, weights, seed: 2 });
    const patience = 10;
    const result = trainLogisticRegression(small.X, small.y, {
      epochs: 200, learningRate: 0.005, batchSize: 16, patience, seed: 3,
      validation: { X: validation.X, y: validation.y },
    });
    const losses = result.history.map((h) => h.validationLoss as number);
    const best = losses.indexOf(Math.min(...losses));
    expect(result.stopReason).toBe('early_stopping');
    expect(best).toBeGreaterThan(0);
    expect(result.bestEpoch).toBe(best);
    expect(result.history.length - 1).toBe(best + patience);
    expect(losses[losses.length - 1]).toBeGreaterThan(losses[best]);
    // The returned model is the best epoch's, not the last one's.
    expect(logisticRegressionLoss(result.model, validation.X, validation.y)).toBeCloseTo(losses[best], 12);
    expect(logisticRegressionLoss(result.model, small.X, small.y)).toBeCloseTo(result.history[best].trainLoss, 12);
  });

  it('early stopping can be told to keep the last weights', () => {
    const weights = Array.from({ length: 40 }, (_, j) => [2, -2, 1.5][j] ?? 0);
    const small = syntheticLogisticData({ rows: 60, weights, seed: 1 });
    const validation = syntheticLogisticData({ rows: 2000, weights, seed: 2 });
    const result = trainLogisticRegression(small.X, small.y, {
      epochs: 200, learningRate: 0.005, batchSize: 16, patience: 10, seed: 3, restoreBestWeights: false,
      validation: { X: validation.X, y: validation.y },
    });
    const last = result.history[result.history.length - 1];
    expect(result.bestEpoch).toBe(last.epoch);
    expect(logisticRegressionLoss(result.model, validation.X, validation.y)).toBeCloseTo(last.validationLoss as number, 12);
  });

  it('warm start begins at the parent loss and continuing lowers it', () => {
    const first = syntheticLogisticData({ ...spec, rows: 1000, seed: 21 });
    const next = syntheticLogisticData({ ...spec, rows: 3000, seed: 22 });
    const parent = trainLogisticRegression(first.X, first.y, { epochs: 1, learningRate: 0.002, seed: 1 }).model;
    const parentLoss = logisticRegressionLoss(parent, next.X, next.y);
    // Independent route to the same number: the metrics module on the parent's probabilities.
    expect(logLoss(next.y, predictProba(parent, next.X))).toBeCloseTo(parentLoss, 10);

    const child = trainLogisticRegression(next.X, next.y, { initial: parent, epochs: 5, seed: 2 });
    expect(Math.abs(child.history[0].trainLoss - parentLoss)).toBeLessThan(1e-12);
    expect(child.history[0].samplesSeen).toBe(0);
    expect(child.history[5].trainLoss).toBeLessThan(parentLoss - 0.01);
    // The parent's standardisation is kept, or its weights would mean something else.
    expect(child.model.mean).toEqual(parent.mean);
    expect(child.model.std).toEqual(parent.std);
  });

  it('a constant feature gets std 1 and weight 0 instead of NaN', () => {
    const data = syntheticLogisticData({ rows: 500, weights: [2, -1], seed: 5 });
    const X = createMatrix(['x0', 'x1', 'constant'], 500);
    for (let i = 0; i < 500; i++) X.data.set([data.X.data[2 * i], data.X.data[2 * i + 1], 42], 3 * i);
    const { model } = trainLogisticRegression(X, data.y, { epochs: 5, l2: 0.01 });
    expect(model.std[2]).toBe(1);
    expect(model.mean[2]).toBe(42);
    expect(model.weights[2]).toBe(0);
    expect(predictProba(model, X).every(Number.isFinite)).toBe(true);
  });
});

describe('trainLogisticRegression input errors', () => {
  const X = matrixFromRows(['age', 'income'], [[30, 1], [40, 2], [50, 3], [60, 4]]);
  const y = Float64Array.from([0, 1, 0, 1]);

  it('zero rows', () => {
    expect(() => trainLogisticRegression(createMatrix(['age'], 0), new Float64Array(0))).toThrow(/0 rows/);
  });
  it('mismatched lengths', () => {
    expect(() => trainLogisticRegression(X, Float64Array.from([0, 1, 0]))).toThrow(/4 rows but 3 labels/);
  });
  it('labels other than 0/1, naming the row', () => {
    expect(() => trainLogisticRegression(X, Float64Array.from([0, 1, 2, 1]))).toThrow(/must be 0 or 1, but row 2 has label 2/);
  });
  it('NaN or Infinity in a feature, naming feature and row', () => {
    const bad = matrixFromRows(['age', 'income'], [[30, 1], [40, 2], [50, NaN], [60, 4]]);
    expect(() => trainLogisticRegression(bad, y)).toThrow(/NaN\) in feature "income" \(column 1\) at row 2/);
    const inf = matrixFromRows(['age', 'income'], [[30, 1], [Infinity, 2], [50, 3], [60, 4]]);
    expect(() => trainLogisticRegression(inf, y)).toThrow(/Infinity\) in feature "age" \(column 0\) at row 1/);
  });
  it('one-class labels', () => {
    expect(() => trainLogisticRegression(X, Float64Array.from([1, 1, 1, 1]))).toThrow(/only class 1.*needs both classes/);
    expect(() => trainLogisticRegression(X, new Float64Array(4))).toThrow(/only class 0/);
  });
  it('bad options', () => {
    expect(() => trainLogisticRegression(X, y, { epochs: 0 })).toThrow(/epochs must be a positive integer/);
    expect(() => trainLogisticRegression(X, y, { learningRate: -1 })).toThrow(/learningRate/);
    expect(() => trainLogisticRegression(X, y, { batchSize: 2.5 })).toThrow(/batchSize/);
    expect(() => trainLogisticRegression(X, y, { optimizer: 'lbfgs' as 'adam' })).toThrow(/'sgd' or 'adam'/);
  });
  it('validation data with other features', () => {
    const other = matrixFromRows(['income', 'age'], [[1, 30], [2, 40]]);
    expect(() => trainLogisticRegression(X, y, { validation: { X: other, y: Float64Array.from([0, 1]) } })).toThrow(
      /validation data: feature 0 is "income" but the model expects "age"/,
    );
  });
  it('warm start from a model with other features', () => {
    const parent: LogisticRegressionModel = {
      kind: 'logistic_regression', featureNames: ['age', 'zip'], mean: [0, 0], std: [1, 1], weights: [0, 0], bias: 0,
    };
    expect(() => trainLogisticRegression(X, y, { initial: parent })).toThrow(/warm start: feature 1 is "income" but the model expects "zip"/);
  });
  it('predictProba on columns in another order', () => {
    const { model } = trainLogisticRegression(X, y, { epochs: 1 });
    const swapped: DatasetMatrix = matrixFromRows(['income', 'age'], [[1, 30]]);
    expect(() => predictProba(model, swapped)).toThrow(/feature 0 is "income" but the model expects "age"/);
  });
});

describe('sigmoid', () => {
  it('is finite and correct at the extremes', () => {
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(800)).toBe(1);
    expect(sigmoid(-800)).toBe(0); // exp(-800) underflows to 0, without an Infinity/Infinity NaN
    expect(sigmoid(-30)).toBeCloseTo(9.357622968840175e-14, 25);
  });
});
