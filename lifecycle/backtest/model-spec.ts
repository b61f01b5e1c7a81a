// The model a backtest retrains: a model spec file when one is given (its features, data window,
// curation and trainer; its stage and schedule are ignored — the strategies decide), else a spec
// built from the history's features with the model spec's defaults, validated by the same schema.
import { parseModelSpec, type FeatureSpec, type ModelSpec } from '../../spec/model-spec';

export function defaultBacktestSpec(features: FeatureSpec[], task: 'binary_classification' | 'regression'): ModelSpec {
  return parseModelSpec({
    name: 'backtest',
    task,
    features,
    // A day of simulated traffic is ~1000 rows; 200 keeps a stateful update of a few hours from being refused as noise.
    data: { windowDays: 30, validationFraction: 0.2, minRows: 200 },
    // Regression needs a network trainer (logistic_regression is a classifier); [] hidden layers = linear regression.
    trainer: task === 'regression' ? { type: 'mlp', hiddenLayers: [] } : { type: 'logistic_regression' },
  });
}

/** A spec file's model, refused when its task disagrees with the history's labels. */
export function checkedSpec(spec: ModelSpec, task: 'binary_classification' | 'regression'): ModelSpec {
  if (spec.task !== task) throw new Error(`--spec: the spec's task is ${spec.task} but the history's labels make it ${task}`);
  return spec;
}
