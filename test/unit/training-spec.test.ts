// The spec's trainer section: built-in trainers with defaults, the MLP's architecture fields, and
// external command trainers, each invalid value reported with its field.
import { describe, expect, it } from 'vitest';
import { InvalidSpecError, parseModelSpec, trainerSpecSchema } from '../../spec/model-spec';

const base = { name: 'm', features: [{ name: 'x' }] };

describe('trainerSpecSchema', () => {
  it('defaults to logistic regression, as before', () => {
    const trainer = trainerSpecSchema.parse({});
    expect(trainer).toMatchObject({ type: 'logistic_regression', optimizer: 'adam', epochs: 30, checkpointEveryEpochs: 1 });
    expect(parseModelSpec(base).trainer.type).toBe('logistic_regression');
  });

  it('accepts softmax regression and an MLP with hidden layers and activation', () => {
    expect(trainerSpecSchema.parse({ type: 'softmax_regression' })).toMatchObject({ type: 'softmax_regression', learningRate: 0.05 });
    expect(trainerSpecSchema.parse({ type: 'mlp' })).toMatchObject({ type: 'mlp', hiddenLayers: [32, 16], activation: 'relu', learningRate: 0.01 });
    expect(trainerSpecSchema.parse({ type: 'mlp', hiddenLayers: [], activation: 'tanh' })).toMatchObject({ hiddenLayers: [], activation: 'tanh' });
  });

  it('accepts a command trainer with env, timeout and hyperparameters', () => {
    const trainer = trainerSpecSchema.parse({ type: 'command', command: ['python', '-m', 'flywheel_torch_trainer'], env: { PYTHONPATH: 'trainers/pytorch' }, hyperparameters: { hiddenLayers: [8] } });
    expect(trainer).toMatchObject({ type: 'command', timeoutMinutes: 110, hyperparameters: { hiddenLayers: [8] }, env: { PYTHONPATH: 'trainers/pytorch' } });
  });

  it('reports each bad field by path', () => {
    const problems = (trainer: unknown) => {
      try {
        parseModelSpec({ ...base, trainer });
      } catch (error) {
        return (error as InvalidSpecError).problems.join('\n');
      }
      return '';
    };
    expect(problems({ type: 'mlp', hiddenLayers: [0], activation: 'gelu' })).toMatch(/trainer\.hiddenLayers\[0\].*\n.*trainer\.activation/s);
    expect(problems({ type: 'command', command: [] })).toMatch(/trainer\.command: give the program to run/);
    expect(problems({ type: 'command', command: ['x'], env: { FLYWHEEL_OUTPUT_DIR: '/tmp' } })).toMatch(/trainer\.env: FLYWHEEL_\* variables are set by Flywheel/);
    expect(problems({ type: 'xgboost' })).toMatch(/trainer\.type/);
    expect(problems({ learningRate: -1 })).toMatch(/trainer\.learningRate/);
    expect(problems({ type: 'logistic_regression', hiddenLayers: [3] })).toMatch(/hiddenLayers/);
  });
});
