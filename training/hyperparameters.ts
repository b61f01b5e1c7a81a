// Turns the spec's trainer section plus a run's overrides into what the trainer process receives
// (FLYWHEEL_HPARAMS and FLYWHEEL_FEATURES); errors name the offending field.
import type { TabularKind, TabularTask } from '../ml/tabular/model';
import { resolveTrainerSettings } from '../ml/tabular/trainer';
import type { BuiltinTrainerSpec, CommandTrainerSpec, FeatureSpec } from '../spec/model-spec';
import type { BuiltinHyperparameters } from './builtin/run';
import type { FeaturesContract } from './contract';
import type { HyperparameterOverrides } from './types';

export function featuresContract(features: readonly FeatureSpec[]): FeaturesContract {
  return {
    numeric: features.filter((f) => f.type === 'numeric').map((f) => f.name),
    categorical: features.flatMap((f) => (f.type === 'categorical' ? [{ name: f.name, vocabulary: f.vocabulary, maxCategories: f.maxCategories }] : [])),
  };
}

const OVERRIDABLE = ['epochs', 'learningRate', 'batchSize', 'l2', 'earlyStoppingPatience', 'seed', 'optimizer'] as const;

export function builtinHyperparameters(
  trainer: BuiltinTrainerSpec,
  task: TabularTask,
  overrides: HyperparameterOverrides = {},
  extra: Pick<BuiltinHyperparameters, 'restandardize' | 'parentSamplesSeen' | 'numClasses'> = {},
): BuiltinHyperparameters {
  for (const key of Object.keys(overrides)) {
    if (!(OVERRIDABLE as readonly string[]).includes(key)) {
      throw new Error(`hyperparameters.${key} cannot be overridden per run for a built-in trainer; allowed: ${OVERRIDABLE.join(', ')}`);
    }
  }
  const merged = { ...trainer, ...overrides } as BuiltinTrainerSpec;
  const settings = resolveTrainerSettings({
    kind: trainer.type as TabularKind,
    task,
    hiddenLayers: trainer.type === 'mlp' ? trainer.hiddenLayers : [],
    activation: trainer.type === 'mlp' ? trainer.activation : 'relu',
    optimizer: merged.optimizer,
    learningRate: merged.learningRate,
    epochs: merged.epochs,
    batchSize: merged.batchSize,
    l2: merged.l2,
    seed: merged.seed,
    patience: merged.earlyStoppingPatience,
  });
  const out: BuiltinHyperparameters = { ...settings };
  if (extra.restandardize !== undefined) out.restandardize = extra.restandardize;
  if (extra.parentSamplesSeen !== undefined) out.parentSamplesSeen = extra.parentSamplesSeen;
  if (extra.numClasses !== undefined) out.numClasses = extra.numClasses;
  return out;
}

/** FLYWHEEL_HPARAMS of a command trainer: the spec's hyperparameters, the run's overrides on top. */
export function commandHyperparameters(trainer: CommandTrainerSpec, task: TabularTask, overrides: HyperparameterOverrides = {}): Record<string, unknown> {
  return { task, ...trainer.hyperparameters, ...overrides };
}
