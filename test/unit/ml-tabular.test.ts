// Built-in tabular trainers: correct gradients, learning on known problems (with Adam and with plain
// SGD), early stopping that returns the best epoch's weights, determinism, exact resume, warm starts
// that continue from the parent's function (loss before the first step equals the parent's),
// function-preserving re-standardisation, vocabularies, and clear refusals.
import { describe, expect, it } from 'vitest';
import { createMatrix } from '../../ml/dataset-matrix';
import { auc } from '../../ml/metrics';
import { exportTabularToOnnx, tabularModelFromOnnx } from '../../ml/onnx';
import { createRng } from '../../ml/random';
import { computeMoments, mergeMoments, standardizationFromMoments } from '../../ml/standardizer';
import { syntheticLogisticData } from '../../ml/synthetic';
import {
  DenseNetwork,
  encodeFrame,
  foldStandardization,
  learnVocabulary,
  predictTabular,
  tabularLoss,
  trainTabular,
  type ResumePoint,
  type TabularFrame,
} from '../../ml/tabular';

const frameOf = (X: ReturnType<typeof createMatrix>, categorical: TabularFrame['categorical'] = {}): TabularFrame => ({ numeric: X, categorical });

/** y = 1 when x0 and x1 have the same sign: no linear model can do better than chance. */
function xorData(rows: number, seed: number) {
  const rng = createRng(seed);
  const X = createMatrix(['a', 'b'], rows);
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const a = rng.normal();
    const b = rng.normal();
    X.data.set([10 + 3 * a, -2 + 0.5 * b], i * 2);
    y[i] = a * b > 0 ? 1 : 0;
  }
  return { frame: frameOf(X), y };
}

/**
 * 20 features of N(0, 1) noise, of which only x0 carries signal (P(y = 1) = sigmoid(1.5 x0)): with
 * few training rows a wide MLP first learns x0, then fits the noise, so validation loss falls for a
 * few epochs and then rises.
 */
function overfittableData(rows: number, seed: number, features = 20) {
  const rng = createRng(seed);
  const X = createMatrix(Array.from({ length: features }, (_, j) => `x${j}`), rows);
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < features; j++) X.data[i * features + j] = rng.normal();
    y[i] = rng.next() < 1 / (1 + Math.exp(-1.5 * X.data[i * features])) ? 1 : 0;
  }
  return { frame: frameOf(X), y };
}

/** Two concentric rings (radius 1 and 3, class 0 inside): separable, but not by a line. */
function ringsData(rows: number, seed: number) {
  const rng = createRng(seed);
  const X = createMatrix(['a', 'b'], rows);
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const k = rng.nextInt(2);
    const r = (k === 0 ? 1 : 3) + 0.15 * rng.normal();
    const t = rng.next() * 2 * Math.PI;
    X.data.set([r * Math.cos(t), r * Math.sin(t)], i * 2);
    y[i] = k;
  }
  return { frame: frameOf(X), y };
}

/** Three well-separated Gaussian blobs, one per class. */
function blobsData(rows: number, seed: number) {
  const rng = createRng(seed);
  const X = createMatrix(['u', 'v'], rows);
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const k = rng.nextInt(3);
    y[i] = k;
    X.data.set([[0, 4, -4][k] + 0.7 * rng.normal(), [4, -3, -3][k] + 0.7 * rng.normal()], i * 2);
  }
  return { frame: frameOf(X), y };
}

function accuracy(p: Float64Array, y: ArrayLike<number>, classes = 1): number {
  let right = 0;
  for (let i = 0; i < y.length; i++) {
    if (classes === 1) right += (p[i] >= 0.5 ? 1 : 0) === y[i] ? 1 : 0;
    else {
      let best = 0;
      for (let k = 1; k < classes; k++) if (p[i * classes + k] > p[i * classes + best]) best = k;
      right += best === y[i] ? 1 : 0;
    }
  }
  return right / y.length;
}

describe('DenseNetwork gradients', () => {
  it.each([
    ['sigmoid', 1, [0, 1, 1, 0, 1]],
    ['softmax', 3, [0, 2, 1, 1, 0]],
    ['identity', 1, [0.3, -1.2, 2, 0.1, -0.4]],
  ] as const)('%s head: back-propagation matches central finite differences (relu and tanh, with L2)', (head, outputs, labels) => {
    for (const activation of ['relu', 'tanh'] as const) {
      const net = new DenseNetwork([3, 5, 4, outputs], activation, head);
      const rng = createRng(1);
      const params = Float64Array.from({ length: net.paramCount }, () => rng.normal() * 0.7);
      const Z = Float64Array.from({ length: 5 * 3 }, () => rng.normal());
      const order = Int32Array.from([0, 1, 2, 3, 4]);
      const l2 = 0.01;
      const grad = new Float64Array(net.paramCount);
      net.batchGradient(params, Z, labels, order, 0, 5, l2, grad);
      const objective = (p: Float64Array) => {
        let penalty = 0;
        for (let l = 0; l < net.weightOffsets.length; l++) for (let k = net.weightOffsets[l]; k < net.biasOffsets[l]; k++) penalty += p[k] * p[k];
        return net.meanLoss(p, Z, labels) + (l2 / 2) * penalty;
      };
      const h = 1e-6;
      for (let k = 0; k < net.paramCount; k++) {
        const plus = Float64Array.from(params);
        const minus = Float64Array.from(params);
        plus[k] += h;
        minus[k] -= h;
        expect(grad[k]).toBeCloseTo((objective(plus) - objective(minus)) / (2 * h), 5);
      }
    }
  });
});

describe('trainTabular', () => {
  const spec = { weights: [2.5, -2, 1.5], intercept: -0.3, offsets: [100, -5, 0], scales: [20, 0.01, 1] };
  const train = syntheticLogisticData({ ...spec, rows: 3000, seed: 11 });
  const test = syntheticLogisticData({ ...spec, rows: 1500, seed: 12 });

  it('logistic regression reaches the Bayes AUC on the synthetic problem and recovers the true weights', () => {
    const { model } = trainTabular({ train: frameOf(train.X), trainLabels: train.y, categorical: [] }, { kind: 'logistic_regression', task: 'binary_classification', epochs: 10, seed: 1 });
    const p = predictTabular(model, frameOf(test.X));
    expect(auc(test.y, p)).toBeGreaterThan(auc(test.y, test.probabilities) - 0.01);
    model.layers[0].weights.forEach((w, j) => expect(Math.abs(w - spec.weights[j])).toBeLessThan(0.3));
  });

  it('an MLP learns XOR, which logistic regression cannot', () => {
    const tr = xorData(3000, 1);
    const te = xorData(1000, 2);
    const data = { train: tr.frame, trainLabels: tr.y, validation: { frame: te.frame, labels: te.y }, categorical: [] };
    const mlp = trainTabular(data, { kind: 'mlp', task: 'binary_classification', hiddenLayers: [16, 8], epochs: 40, learningRate: 0.01, seed: 3 });
    const lr = trainTabular(data, { kind: 'logistic_regression', task: 'binary_classification', epochs: 10 });
    expect(accuracy(predictTabular(mlp.model, te.frame), te.y)).toBeGreaterThan(0.9);
    expect(accuracy(predictTabular(lr.model, te.frame), te.y)).toBeLessThan(0.65);
  });

  it('softmax regression separates three classes and its probabilities sum to 1', () => {
    const rng = createRng(5);
    const rows = 2000;
    const X = createMatrix(['u', 'v'], rows);
    const y = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      const k = rng.nextInt(3);
      y[i] = k;
      X.data.set([[0, 3, -3][k] + rng.normal(), [3, -2, -2][k] + rng.normal()], i * 2);
    }
    const { model } = trainTabular({ train: frameOf(X), trainLabels: y, categorical: [] }, { kind: 'softmax_regression', task: 'multiclass', epochs: 10 });
    const p = predictTabular(model, frameOf(X));
    expect(accuracy(p, y, 3)).toBeGreaterThan(0.93);
    for (let i = 0; i < 10; i++) expect(p[i * 3] + p[i * 3 + 1] + p[i * 3 + 2]).toBeCloseTo(1, 12);
  });

  it('is deterministic for a seed, and the seed matters', () => {
    const tr = xorData(500, 1);
    const run = (seed: number) => trainTabular({ train: tr.frame, trainLabels: tr.y, categorical: [] }, { kind: 'mlp', task: 'binary_classification', hiddenLayers: [4], epochs: 3, seed }).model.layers;
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it('a run resumed from a mid-run snapshot ends bit-identical to one that never stopped', () => {
    const tr = xorData(800, 4);
    const va = xorData(300, 5);
    const data = { train: tr.frame, trainLabels: tr.y, validation: { frame: va.frame, labels: va.y }, categorical: [] };
    const settings = { kind: 'mlp' as const, task: 'binary_classification' as const, hiddenLayers: [6, 4], epochs: 8, patience: 3, seed: 2 };
    const full = trainTabular(data, settings);
    let snapshot: ResumePoint | undefined;
    const stopped = trainTabular(data, settings, {
      onEpoch: (progress, capture) => {
        if (progress.epoch === 3) {
          snapshot = JSON.parse(JSON.stringify(capture())) as ResumePoint; // through JSON, as checkpoints are stored
          return 'stop';
        }
        return undefined;
      },
    });
    expect(stopped.stopReason).toBe('callback');
    const resumed = trainTabular(data, settings, { resume: snapshot });
    expect(resumed.startEpoch).toBe(3);
    expect(resumed.init).toBe('resume');
    expect(resumed.model.layers).toEqual(full.model.layers);
    expect(resumed.history).toEqual(full.history);
    expect(resumed.samplesSeen).toBe(full.samplesSeen);
    expect(resumed.bestEpoch).toBe(full.bestEpoch);
  });
});

describe('trainTabular early stopping', () => {
  const tr = overfittableData(80, 1);
  const va = overfittableData(1000, 101);
  const data = { train: tr.frame, trainLabels: tr.y, validation: { frame: va.frame, labels: va.y }, categorical: [] };
  const settings = { kind: 'mlp' as const, task: 'binary_classification' as const, hiddenLayers: [64], epochs: 200, learningRate: 0.01, batchSize: 16, seed: 1 };

  it('stops `patience` epochs after the best validation epoch, long before max epochs, and returns the best epoch\'s weights', () => {
    const patience = 5;
    const result = trainTabular(data, { ...settings, patience });
    const validationLosses = result.history.map((r) => r.validationLoss!);
    const last = result.history[result.history.length - 1].epoch;
    const best = result.history.find((r) => r.epoch === result.bestEpoch)!;

    expect(result.stopReason).toBe('early_stopping');
    expect(last).toBeLessThan(settings.epochs);
    expect(result.samplesSeen).toBe(last * tr.y.length); // it really ran only `last` epochs
    // Validation improved at first (the best is not the starting point), then never again.
    expect(result.bestEpoch).toBeGreaterThan(0);
    expect(best.validationLoss).toBe(Math.min(...validationLosses));
    expect(last).toBe(result.bestEpoch + patience);
    for (const r of result.history.filter((h) => h.epoch > result.bestEpoch)) expect(r.validationLoss!).toBeGreaterThanOrEqual(best.validationLoss!);
    // The returned model is the best epoch's, not the last epoch's: its validation loss is the best one.
    const returnedLoss = tabularLoss(result.model, va.frame, va.y);
    expect(Math.abs(returnedLoss - best.validationLoss!)).toBeLessThan(1e-12);
    expect(validationLosses[validationLosses.length - 1] - returnedLoss).toBeGreaterThan(0.01);
  });

  it('with early stopping off (patience 0) the same run trains every epoch', () => {
    const result = trainTabular(data, { ...settings, epochs: 30, patience: 0 });
    expect(result.stopReason).toBe('epochs');
    expect(result.history.map((r) => r.epoch)).toEqual(Array.from({ length: 31 }, (_, e) => e));
  });
});

describe('trainTabular with plain SGD (optimizer: sgd)', () => {
  it('softmax regression: the loss falls far below the start and it separates three classes on held-out rows', () => {
    const tr = blobsData(1500, 1);
    const te = blobsData(600, 2);
    const result = trainTabular({ train: tr.frame, trainLabels: tr.y, categorical: [] }, { kind: 'softmax_regression', task: 'multiclass', optimizer: 'sgd', learningRate: 0.1, epochs: 10 });
    expect(result.optimizer).toEqual({ kind: 'sgd' });
    expect(result.stopReason).toBe('epochs');
    const start = result.history[0].trainLoss;
    expect(start).toBeCloseTo(Math.log(3), 1); // zero weights, prior bias: about ln 3 on balanced classes
    expect(result.history[result.history.length - 1].trainLoss).toBeLessThan(0.2 * start);
    expect(accuracy(predictTabular(result.model, te.frame), te.y, 3)).toBeGreaterThan(0.9); // chance is 1/3
  });

  it('an MLP: the loss falls far below the start and it separates two rings (not linearly separable) on held-out rows', () => {
    const tr = ringsData(2000, 3);
    const te = ringsData(800, 4);
    const result = trainTabular({ train: tr.frame, trainLabels: tr.y, categorical: [] }, { kind: 'mlp', task: 'binary_classification', hiddenLayers: [16, 8], optimizer: 'sgd', learningRate: 0.05, epochs: 30, seed: 1 });
    expect(result.optimizer).toEqual({ kind: 'sgd' });
    const start = result.history[0].trainLoss;
    expect(result.history[result.history.length - 1].trainLoss).toBeLessThan(0.2 * start);
    expect(accuracy(predictTabular(result.model, te.frame), te.y)).toBeGreaterThan(0.9); // chance is 1/2
  });
});

describe('warm start', () => {
  const old = syntheticLogisticData({ weights: [2, -1, 0.5], offsets: [5, 0, -3], scales: [2, 1, 4], rows: 2000, seed: 1 });
  const fresh = syntheticLogisticData({ weights: [1.5, -1.4, 0.9], offsets: [5.5, 0.3, -3], scales: [2.5, 1, 4], rows: 800, seed: 2 });
  const validation = syntheticLogisticData({ weights: [1.5, -1.4, 0.9], offsets: [5.5, 0.3, -3], scales: [2.5, 1, 4], rows: 400, seed: 3 });
  const settings = { kind: 'mlp' as const, task: 'binary_classification' as const, hiddenLayers: [8], epochs: 5, seed: 4 };
  const parent = trainTabular({ train: frameOf(old.X), trainLabels: old.y, categorical: [] }, settings);
  const newData = { train: frameOf(fresh.X), trainLabels: fresh.y, validation: { frame: frameOf(validation.X), labels: validation.y }, categorical: [] };

  it('from a checkpoint: the loss before the first step equals the parent\'s (1e-9), then improves on the new data', () => {
    const child = trainTabular(newData, settings, { warmStart: { model: parent.model, optimizer: parent.optimizer } });
    expect(child.init).toBe('warm_start');
    expect(Math.abs(child.history[0].validationLoss! - tabularLoss(parent.model, newData.validation.frame, validation.y))).toBeLessThan(1e-9);
    expect(Math.abs(child.history[0].trainLoss - tabularLoss(parent.model, newData.train, fresh.y))).toBeLessThan(1e-9);
    expect(child.model.standardization).toEqual(parent.model.standardization); // kept fixed
    expect(child.history[child.bestEpoch].validationLoss!).toBeLessThan(child.history[0].validationLoss!);
  });

  it('from the parent\'s ONNX initializers: the loss before the first step equals the served parent\'s (1e-9)', () => {
    const served = tabularModelFromOnnx(exportTabularToOnnx(parent.model));
    const child = trainTabular(newData, settings, { warmStart: { model: served } });
    expect(Math.abs(child.history[0].validationLoss! - tabularLoss(served, newData.validation.frame, validation.y))).toBeLessThan(1e-9);
  });

  it('re-standardising with merged moments folds into the first layer: same predictions, same starting loss', () => {
    const parentMoments = computeMoments(old.X);
    const merged = standardizationFromMoments(mergeMoments(parentMoments, computeMoments(fresh.X)));
    const folded = foldStandardization(parent.model, merged);
    const before = predictTabular(parent.model, frameOf(validation.X));
    const after = predictTabular(folded, frameOf(validation.X));
    let worst = 0;
    for (let i = 0; i < before.length; i++) worst = Math.max(worst, Math.abs(before[i] - after[i]));
    expect(worst).toBeLessThan(1e-12);
    const child = trainTabular(newData, settings, { warmStart: { model: parent.model, moments: parentMoments, restandardize: true } });
    expect(child.init).toBe('warm_start_restandardized');
    expect(child.model.standardization.mean).toEqual(merged.mean);
    expect(Math.abs(child.history[0].validationLoss! - tabularLoss(parent.model, newData.validation.frame, validation.y))).toBeLessThan(1e-9);
    // The merged moments equal moments of both windows in one pass (Chan et al.).
    const both = createMatrix(['x0', 'x1', 'x2'], old.X.rows + fresh.X.rows, Float64Array.from([...old.X.data, ...fresh.X.data]));
    child.moments.forEach((m, j) => expect(m.mean).toBeCloseTo(computeMoments(both)[j].mean, 10));
  });

  it('refuses an architecture or feature change (model iteration) with the fix', () => {
    expect(() => trainTabular(newData, { ...settings, hiddenLayers: [16] }, { warmStart: { model: parent.model } })).toThrow(/hidden layers are \[8\].*run a stateless \(full\) retrain/);
    const renamed = { ...newData, train: frameOf(createMatrix(['x0', 'x1', 'other'], fresh.X.rows, fresh.X.data)) };
    expect(() => trainTabular(renamed, settings, { warmStart: { model: parent.model } })).toThrow(/numeric features are \[x0, x1, x2\].*model iteration/);
  });
});

describe('categorical encoding', () => {
  it('learns the vocabulary most frequent first, ties by value, up to maxCategories, skipping missing values', () => {
    expect(learnVocabulary(['b', 'a', 'c', 'a', 'b', null, '', 'd', 'a'], 3, 'f')).toEqual(['a', 'b', 'c']);
    expect(() => learnVocabulary([null, ''], 3, 'device')).toThrow(/categorical feature "device" has no non-empty values/);
  });

  it('one-hot encodes after the numeric columns; unseen and missing values encode as all zeros', () => {
    const X = createMatrix(['x'], 3, Float64Array.from([1, 2, 3]));
    const Z = encodeFrame(
      { numericFeatures: ['x'], categorical: [{ name: 'c', vocabulary: ['p', 'q'] }], standardization: { mean: [2], std: [0.5] } },
      frameOf(X, { c: ['q', 'zzz', null] }),
    );
    expect(Array.from(Z)).toEqual([-2, 0, 1, 0, 0, 0, 2, 0, 0]);
  });
});

describe('bad input', () => {
  it('names the row and the fix', () => {
    const X = createMatrix(['x'], 3, Float64Array.from([1, 2, 3]));
    expect(() => trainTabular({ train: frameOf(X), trainLabels: [0, 1, 2], categorical: [] }, { kind: 'logistic_regression', task: 'binary_classification' })).toThrow(
      /labels must be 0 or 1, but row 2 has 2/,
    );
    expect(() => trainTabular({ train: frameOf(X), trainLabels: [1, 1, 1], categorical: [] }, { kind: 'logistic_regression', task: 'binary_classification' })).toThrow(
      /only class 1/,
    );
    expect(() => trainTabular({ train: frameOf(X), trainLabels: [0, 1, 0], categorical: [] }, { kind: 'logistic_regression', task: 'multiclass' })).toThrow(/use softmax_regression/);
    expect(() => trainTabular({ train: frameOf(X), trainLabels: [0, 1.5, 0], categorical: [] }, { kind: 'softmax_regression', task: 'multiclass' })).toThrow(
      /class indices 0, 1, 2, \.\.\., but row 1 has 1\.5/,
    );
  });
});
