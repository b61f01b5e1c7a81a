// Built-in binary logistic regression: mini-batch SGD/Adam with L2, seeded shuffles, early stopping
// and warm start, plus the float64 forward pass that the ONNX export must reproduce.
import { assertFiniteMatrix, assertMatrixShape, assertSameFeatures, type DatasetMatrix } from './dataset-matrix';
import { createOptimizer, type OptimizerKind } from './optimizers';
import { createRng, shuffleInPlace } from './random';
import { fitStandardizer, standardizeMatrix, type Standardization } from './standardizer';
import { assertBinaryLabels, assertLabelledData, nonNegativeNumber, positiveInteger, positiveNumber } from './training-checks';

export interface LogisticRegressionModel {
  kind: 'logistic_regression';
  featureNames: string[];
  /** Standardisation applied before the linear layer: (x - mean) / std. */
  mean: number[];
  std: number[];
  /** Weights act on standardised features, so their magnitudes are comparable across features. */
  weights: number[];
  bias: number;
}

export interface LabelledData {
  X: DatasetMatrix;
  y: ArrayLike<number>;
}

export interface EpochRecord {
  /** 0 is the starting point, before any gradient step. */
  epoch: number;
  /** Mean log loss on the training set after the epoch (without the L2 term, so it compares with validation). */
  trainLoss: number;
  validationLoss?: number;
  /** Cumulative rows used in gradient steps in this run. */
  samplesSeen: number;
}

export interface EpochProgress extends EpochRecord {
  epochs: number;
  bestEpoch: number;
}

export interface LogisticRegressionOptions {
  optimizer?: OptimizerKind;
  /** Default 0.01 for Adam, 0.1 for SGD. */
  learningRate?: number;
  epochs?: number;
  batchSize?: number;
  /** Penalty (l2 / 2) * ||weights||^2 added to the mean loss; the bias is not penalised. */
  l2?: number;
  seed?: number;
  validation?: LabelledData;
  /** Epochs without a validation improvement (of more than minDelta) before stopping. */
  patience?: number;
  minDelta?: number;
  /** With a validation set, return the weights of the best validation epoch (default true). */
  restoreBestWeights?: boolean;
  /** Warm start: continue from these weights, keeping its standardisation fixed. */
  initial?: LogisticRegressionModel;
  /** Called after every epoch; returning 'stop' ends training (cancellation, time budgets). */
  onEpoch?: (progress: EpochProgress) => void | 'stop';
}

export type StopReason = 'epochs' | 'early_stopping' | 'callback';

export interface LogisticRegressionResult {
  model: LogisticRegressionModel;
  history: EpochRecord[];
  /** Rows used in gradient steps in this run, including epochs after the restored best one. */
  samplesSeen: number;
  /** The epoch whose weights the model holds. */
  bestEpoch: number;
  stopReason: StopReason;
}

const DEFAULTS = { optimizer: 'adam' as OptimizerKind, epochs: 20, batchSize: 32, l2: 0, seed: 0, patience: 5, minDelta: 0 };

export function trainLogisticRegression(
  X: DatasetMatrix,
  y: ArrayLike<number>,
  options: LogisticRegressionOptions = {},
): LogisticRegressionResult {
  assertLabelledData(X, y, 'training data X');
  const positives = assertBinaryLabels(y, 'training data');
  if (positives === 0 || positives === X.rows) {
    throw new Error(
      `training labels contain only class ${positives === 0 ? 0 : 1} (${X.rows} rows); ` +
        'logistic regression needs both classes 0 and 1 in the training data',
    );
  }
  const settings = resolveOptions(options);
  const { validation, initial } = options;
  if (validation) {
    assertLabelledData(validation.X, validation.y, 'validation data X');
    assertBinaryLabels(validation.y, 'validation data');
    assertSameFeatures(X.featureNames, validation.X.featureNames, 'validation data');
  }
  if (initial) {
    assertLogisticRegressionModel(initial, 'initial model');
    assertSameFeatures(initial.featureNames, X.featureNames, 'warm start');
  }

  const cols = X.cols;
  // A warm start keeps the parent's standardisation: its weights only mean something in that space.
  const standardization: Standardization = initial
    ? { mean: [...initial.mean], std: [...initial.std] }
    : fitStandardizer(X);
  const Z = standardizeMatrix(X, standardization);
  const Zval = validation ? standardizeMatrix(validation.X, standardization) : undefined;

  // params = [w_0 .. w_{F-1}, bias]; one flat vector so the optimizer is model-agnostic.
  const params = new Float64Array(cols + 1);
  if (initial) {
    params.set(initial.weights);
    params[cols] = initial.bias;
  } else {
    // Starting the bias at the base-rate log-odds removes the first epochs spent learning the prior.
    const rate = positives / X.rows;
    params[cols] = Math.log(rate / (1 - rate));
  }

  const optimizer = createOptimizer(settings.optimizer, settings.learningRate, cols + 1);
  const rng = createRng(settings.seed);
  const order = new Int32Array(X.rows);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const grad = new Float64Array(cols + 1);

  let samplesSeen = 0;
  const evaluate = (epoch: number): EpochRecord => {
    const record: EpochRecord = { epoch, trainLoss: meanLogLoss(Z, y, params, cols), samplesSeen };
    if (validation && Zval) record.validationLoss = meanLogLoss(Zval, validation.y, params, cols);
    return record;
  };

  const history: EpochRecord[] = [evaluate(0)];
  let best = { epoch: 0, loss: history[0].validationLoss ?? Infinity, params: Float64Array.from(params) };
  let sinceImprovement = 0;
  let stopReason: StopReason = 'epochs';

  for (let epoch = 1; epoch <= settings.epochs; epoch++) {
    shuffleInPlace(order, rng);
    for (let start = 0; start < X.rows; start += settings.batchSize) {
      const end = Math.min(X.rows, start + settings.batchSize);
      batchGradient(Z, y, params, cols, order, start, end, settings.l2, grad);
      optimizer.step(params, grad);
      samplesSeen += end - start;
    }
    const record = evaluate(epoch);
    if (!Number.isFinite(record.trainLoss) || params.some((p) => !Number.isFinite(p))) {
      throw new Error(
        `training diverged at epoch ${epoch} (train loss ${record.trainLoss}); lower learningRate (now ${settings.learningRate})`,
      );
    }
    history.push(record);

    if (record.validationLoss !== undefined) {
      if (record.validationLoss < best.loss - settings.minDelta) {
        best = { epoch, loss: record.validationLoss, params: Float64Array.from(params) };
        sinceImprovement = 0;
      } else {
        sinceImprovement += 1;
      }
    }
    const bestEpoch = validation && settings.restoreBestWeights ? best.epoch : epoch;
    const verdict = options.onEpoch?.({ ...record, epochs: settings.epochs, bestEpoch });
    if (verdict === 'stop') {
      stopReason = 'callback';
      break;
    }
    if (validation && sinceImprovement >= settings.patience) {
      stopReason = 'early_stopping';
      break;
    }
  }

  const restore = validation !== undefined && settings.restoreBestWeights;
  const finalParams = restore ? best.params : params;
  return {
    model: {
      kind: 'logistic_regression',
      featureNames: [...X.featureNames],
      mean: standardization.mean,
      std: standardization.std,
      weights: Array.from(finalParams.subarray(0, cols)),
      bias: finalParams[cols],
    },
    history,
    samplesSeen,
    bestEpoch: restore ? best.epoch : history[history.length - 1].epoch,
    stopReason,
  };
}

/** P(y = 1 | x) for every row of X, in float64. */
export function predictProba(model: LogisticRegressionModel, X: DatasetMatrix): Float64Array {
  const { Z, params } = prepareForward(model, X, 'predictProba');
  const cols = X.cols;
  const out = new Float64Array(X.rows);
  for (let i = 0; i < X.rows; i++) out[i] = sigmoid(linear(Z, i, params, cols));
  return out;
}

/** Mean log loss of the model on (X, y), computed from logits so it stays exact for confident models. */
export function logisticRegressionLoss(model: LogisticRegressionModel, X: DatasetMatrix, y: ArrayLike<number>): number {
  if (y.length !== X.rows) throw new Error(`logisticRegressionLoss: X has ${X.rows} rows but ${y.length} labels`);
  assertBinaryLabels(y, 'logisticRegressionLoss');
  const { Z, params } = prepareForward(model, X, 'logisticRegressionLoss');
  return meanLogLoss(Z, y, params, X.cols);
}

/** Logistic function without overflow: exp is only taken of non-positive numbers. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

export function assertLogisticRegressionModel(model: LogisticRegressionModel, context: string): void {
  if (model.kind !== 'logistic_regression') throw new Error(`${context}: kind is "${String(model.kind)}", expected "logistic_regression"`);
  const f = model.featureNames.length;
  for (const [name, values] of [['mean', model.mean], ['std', model.std], ['weights', model.weights]] as const) {
    if (values.length !== f) throw new Error(`${context}: ${name} has ${values.length} values but the model has ${f} features`);
    values.forEach((v, j) => {
      if (!Number.isFinite(v)) throw new Error(`${context}: ${name}[${j}] (feature "${model.featureNames[j]}") is ${v}`);
    });
  }
  model.std.forEach((s, j) => {
    if (s <= 0) throw new Error(`${context}: std[${j}] (feature "${model.featureNames[j]}") is ${s}; std must be > 0`);
  });
  if (!Number.isFinite(model.bias)) throw new Error(`${context}: bias is ${model.bias}`);
}

function resolveOptions(options: LogisticRegressionOptions) {
  const optimizer = options.optimizer ?? DEFAULTS.optimizer;
  if (optimizer !== 'sgd' && optimizer !== 'adam') throw new Error(`option optimizer must be 'sgd' or 'adam', got "${String(optimizer)}"`);
  const patience = options.patience ?? DEFAULTS.patience;
  if (patience !== Infinity) positiveInteger('patience', patience);
  const seed = options.seed ?? DEFAULTS.seed;
  if (!Number.isSafeInteger(seed)) throw new Error(`option seed must be an integer, got ${seed}`);
  return {
    optimizer,
    learningRate: positiveNumber('learningRate', options.learningRate ?? (optimizer === 'adam' ? 0.01 : 0.1)),
    epochs: positiveInteger('epochs', options.epochs ?? DEFAULTS.epochs),
    batchSize: positiveInteger('batchSize', options.batchSize ?? DEFAULTS.batchSize),
    l2: nonNegativeNumber('l2', options.l2 ?? DEFAULTS.l2),
    seed,
    patience,
    minDelta: nonNegativeNumber('minDelta', options.minDelta ?? DEFAULTS.minDelta),
    restoreBestWeights: options.restoreBestWeights ?? true,
  };
}

function prepareForward(model: LogisticRegressionModel, X: DatasetMatrix, context: string) {
  assertLogisticRegressionModel(model, context);
  assertMatrixShape(X);
  assertSameFeatures(model.featureNames, X.featureNames, context);
  assertFiniteMatrix(X);
  const params = new Float64Array(X.cols + 1);
  params.set(model.weights);
  params[X.cols] = model.bias;
  return { Z: standardizeMatrix(X, model), params };
}

function linear(Z: Float64Array, i: number, params: Float64Array, cols: number): number {
  const base = i * cols;
  let z = params[cols];
  for (let j = 0; j < cols; j++) z += params[j] * Z[base + j];
  return z;
}

/** log(1 + e^z) - y z, i.e. the cross-entropy of sigmoid(z), without overflow or log(0). */
function logLossFromLogit(z: number, label: number): number {
  const softplus = Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
  return softplus - label * z;
}

function meanLogLoss(Z: Float64Array, y: ArrayLike<number>, params: Float64Array, cols: number): number {
  let total = 0;
  for (let i = 0; i < y.length; i++) total += logLossFromLogit(linear(Z, i, params, cols), y[i]);
  return total / y.length;
}

/** Gradient of the mean batch loss plus the L2 term, written into grad. */
function batchGradient(
  Z: Float64Array,
  y: ArrayLike<number>,
  params: Float64Array,
  cols: number,
  order: Int32Array,
  start: number,
  end: number,
  l2: number,
  grad: Float64Array,
): void {
  grad.fill(0);
  for (let k = start; k < end; k++) {
    const i = order[k];
    const residual = sigmoid(linear(Z, i, params, cols)) - y[i];
    const base = i * cols;
    for (let j = 0; j < cols; j++) grad[j] += residual * Z[base + j];
    grad[cols] += residual;
  }
  const size = end - start;
  for (let j = 0; j < cols; j++) grad[j] = grad[j] / size + l2 * params[j];
  grad[cols] /= size;
}
