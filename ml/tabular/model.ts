// The one model shape behind every built-in tabular trainer: standardised numeric features and
// one-hot categoricals feeding a stack of dense layers. Logistic regression is the binary case with
// no hidden layer, softmax regression the multiclass one; the MLP adds hidden layers.
import type { Standardization } from '../standardizer';

export type TabularTask = 'binary_classification' | 'multiclass' | 'regression';
export type TabularKind = 'logistic_regression' | 'softmax_regression' | 'mlp';
export type HiddenActivation = 'relu' | 'tanh';

export const TABULAR_TASKS: readonly TabularTask[] = ['binary_classification', 'multiclass', 'regression'];
export const TABULAR_KINDS: readonly TabularKind[] = ['logistic_regression', 'softmax_regression', 'mlp'];

/**
 * One-hot encoding of one categorical feature. A value outside the vocabulary (or a missing one)
 * encodes as all zeros: the model then scores it like "none of the known categories", which is what
 * a linear model learns for a rare value anyway, and needs no extra "other" weight that the
 * training data (where every value is in the vocabulary when it was learned from it) never trains.
 */
export interface CategoricalEncoding {
  name: string;
  vocabulary: string[];
}

/** A fully connected layer: out = in @ weights + bias, weights row-major [inputs, outputs]. */
export interface DenseLayer {
  inputs: number;
  outputs: number;
  weights: number[];
  bias: number[];
}

export interface TabularModel {
  kind: TabularKind;
  task: TabularTask;
  /** Numeric features in input order (the ONNX `features` input's columns). */
  numericFeatures: string[];
  /** Categorical features in input order (the ONNX `categorical` input's columns). */
  categorical: CategoricalEncoding[];
  /** (x - mean) / std for the numeric features, fixed for the life of the weights. */
  standardization: Standardization;
  hiddenActivation: HiddenActivation;
  /** Hidden layers then the output layer; the first layer's inputs = numeric + all vocabulary sizes. */
  layers: DenseLayer[];
  /**
   * Regression only: the network predicts a standardised target; the served value is
   * output * std + mean, so learning rates do not depend on the target's units.
   */
  target?: { mean: number; std: number };
}

/** Width of the first layer's input: standardised numeric columns then each one-hot block. */
export function inputWidth(numericCount: number, categorical: readonly CategoricalEncoding[]): number {
  return numericCount + categorical.reduce((sum, c) => sum + c.vocabulary.length, 0);
}

/** Output units: 1 for binary (a logit) and regression, one per class for multiclass. */
export function outputCount(model: Pick<TabularModel, 'layers'>): number {
  return model.layers[model.layers.length - 1].outputs;
}

export function hiddenLayerSizes(model: Pick<TabularModel, 'layers'>): number[] {
  return model.layers.slice(0, -1).map((l) => l.outputs);
}

/** Checks every shape and value; throws naming the layer, the field and what is wrong. */
export function assertTabularModel(model: TabularModel, context: string): void {
  if (!TABULAR_KINDS.includes(model.kind)) throw new Error(`${context}: kind "${String(model.kind)}" is not one of ${TABULAR_KINDS.join(', ')}`);
  if (!TABULAR_TASKS.includes(model.task)) throw new Error(`${context}: task "${String(model.task)}" is not one of ${TABULAR_TASKS.join(', ')}`);
  assertKindFitsTask(model.kind, model.task, model.layers.length - 1, context);
  const f = model.numericFeatures.length;
  const { mean, std } = model.standardization;
  if (mean.length !== f || std.length !== f) {
    throw new Error(`${context}: standardization has ${mean.length} means and ${std.length} stds but there are ${f} numeric features`);
  }
  std.forEach((s, j) => {
    if (!(s > 0) || !Number.isFinite(s)) throw new Error(`${context}: std[${j}] (feature "${model.numericFeatures[j]}") is ${s}; std must be finite and > 0`);
  });
  mean.forEach((m, j) => {
    if (!Number.isFinite(m)) throw new Error(`${context}: mean[${j}] (feature "${model.numericFeatures[j]}") is ${m}`);
  });
  for (const c of model.categorical) {
    if (c.vocabulary.length === 0) throw new Error(`${context}: categorical feature "${c.name}" has an empty vocabulary`);
    if (new Set(c.vocabulary).size !== c.vocabulary.length) throw new Error(`${context}: categorical feature "${c.name}" repeats a vocabulary value`);
  }
  if (model.layers.length === 0) throw new Error(`${context}: the model has no layers`);
  let width = inputWidth(f, model.categorical);
  if (width === 0) throw new Error(`${context}: the model has no input columns; declare at least one feature`);
  model.layers.forEach((layer, l) => {
    if (layer.inputs !== width) throw new Error(`${context}: layer ${l} takes ${layer.inputs} inputs but the previous stage gives ${width}`);
    if (layer.weights.length !== layer.inputs * layer.outputs) {
      throw new Error(`${context}: layer ${l} has ${layer.weights.length} weights, expected ${layer.inputs} x ${layer.outputs}`);
    }
    if (layer.bias.length !== layer.outputs) throw new Error(`${context}: layer ${l} has ${layer.bias.length} biases, expected ${layer.outputs}`);
    for (const [name, values] of [['weights', layer.weights], ['bias', layer.bias]] as const) {
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new Error(`${context}: layer ${l} ${name}[${bad}] is ${values[bad]}`);
    }
    width = layer.outputs;
  });
  const outputs = outputCount(model);
  if (model.task === 'multiclass' ? outputs < 2 : outputs !== 1) {
    throw new Error(`${context}: a ${model.task} model needs ${model.task === 'multiclass' ? 'at least 2 outputs' : '1 output'}, this one has ${outputs}`);
  }
  if (model.task === 'regression') {
    if (!model.target || !Number.isFinite(model.target.mean) || !(model.target.std > 0)) {
      throw new Error(`${context}: a regression model needs target { mean, std > 0 }`);
    }
  } else if (model.target) {
    throw new Error(`${context}: only regression models carry target statistics`);
  }
}

/** Which architectures fit which task; the messages say what to use instead. */
export function assertKindFitsTask(kind: TabularKind, task: TabularTask, hiddenLayers: number, context: string): void {
  if (kind === 'logistic_regression' && task !== 'binary_classification') {
    throw new Error(
      `${context}: trainer logistic_regression fits binary_classification only, the task is ${task}; ` +
        (task === 'multiclass' ? 'use softmax_regression' : 'use mlp with hiddenLayers [] for linear regression'),
    );
  }
  if (kind === 'softmax_regression' && task !== 'multiclass') {
    throw new Error(`${context}: trainer softmax_regression fits multiclass only, the task is ${task}; use logistic_regression or mlp`);
  }
  if (kind !== 'mlp' && hiddenLayers !== 0) throw new Error(`${context}: ${kind} has no hidden layers, this model has ${hiddenLayers}`);
}

/** A deep copy, so trainers can mutate their own. */
export function cloneModel(model: TabularModel): TabularModel {
  return {
    ...model,
    numericFeatures: [...model.numericFeatures],
    categorical: model.categorical.map((c) => ({ name: c.name, vocabulary: [...c.vocabulary] })),
    standardization: { mean: [...model.standardization.mean], std: [...model.standardization.std] },
    layers: model.layers.map((l) => ({ inputs: l.inputs, outputs: l.outputs, weights: [...l.weights], bias: [...l.bias] })),
    target: model.target ? { ...model.target } : undefined,
  };
}
