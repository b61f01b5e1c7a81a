// The built-in TypeScript trainers behind the command-trainer contract: reads FLYWHEEL_* inputs,
// warm-starts or resumes, trains, writes checkpoints every K epochs and the final model.onnx,
// checkpoint.json and result.json. Runs in a child process so the worker's event loop stays free.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exportTabularToOnnx, tabularModelFromOnnx } from '../../ml/onnx';
import { computeMoments, mergeMoments, type FeatureMoments } from '../../ml/standardizer';
import { trainTabular, type ResumePoint, type TabularTrainerSettings, type WarmStart } from '../../ml/tabular/trainer';
import { decodeCheckpoint, encodeCheckpoint, type TabularCheckpoint, CHECKPOINT_FORMAT, CHECKPOINT_VERSION } from '../checkpoint';
import { ENV, type FeaturesContract, type TrainerEvent, type TrainerResultFile } from '../contract';
import { readTrainingFrames } from '../dataset';

/** FLYWHEEL_HPARAMS of a built-in run: the resolved trainer settings plus warm-start options. */
export interface BuiltinHyperparameters extends TabularTrainerSettings {
  restandardize?: boolean;
  numClasses?: number;
  /** Lineage samples of a parent that has no checkpoint (from the registry). */
  parentSamplesSeen?: number;
}

export class BadInputError extends Error {
  override name = 'BadInputError';
}

export interface BuiltinRunOptions {
  env: Record<string, string | undefined>;
  emit: (event: TrainerEvent) => void;
  /** Polled after every epoch; returning true stops training (e.g. the supervising process died). */
  shouldStop?: () => boolean;
}

export function runBuiltinTrainer({ env, emit, shouldStop }: BuiltinRunOptions): TrainerResultFile {
  const required = (name: string) => {
    const value = env[name];
    if (!value) throw new BadInputError(`${name} is not set; the training activity sets it (see training/COMMAND_TRAINER.md)`);
    return value;
  };
  const datasetBytes = readFileSync(required(ENV.datasetPath));
  const outputDir = required(ENV.outputDir);
  const hparams = parseJson<BuiltinHyperparameters>(required(ENV.hparams), ENV.hparams);
  const features = parseJson<FeaturesContract>(required(ENV.features), ENV.features);
  const mode = env[ENV.mode] === 'stateful' ? 'stateful' : 'stateless';
  const every = Math.max(1, Number(env[ENV.checkpointEvery] ?? '1') || 1);
  const dataSinceMs = env[ENV.dataSinceMs] ? Number(env[ENV.dataSinceMs]) : undefined;
  const runId = env[ENV.runId] ?? '';
  emit({ event: 'info', device: 'cpu', message: `built-in ${hparams.kind} (${hparams.task}), ${mode}` });

  const frames = readTrainingFrames(datasetBytes, features, dataSinceMs);
  const parent = mode === 'stateful' ? loadParent(env, hparams) : undefined;
  const settingsKey = createHash('sha256')
    .update(JSON.stringify({ hparams, features, mode, dataSinceMs, datasetUri: env[ENV.datasetUri], dataset: sha(datasetBytes), parent: parent?.digest }))
    .digest('hex');
  const resume = loadResumePoint(env[ENV.resumeCheckpointPath], runId, settingsKey, emit);

  const windowMoments = computeMoments(frames.train.numeric);
  const moments: FeatureMoments[] = parent?.warm.moments ? mergeMoments(parent.warm.moments, windowMoments) : windowMoments;
  const parentTotal = parent?.samplesSeenTotal ?? 0;
  mkdirSync(path.join(outputDir, 'checkpoints'), { recursive: true });

  const result = trainTabular(
    {
      train: frames.train,
      trainLabels: frames.trainLabels,
      validation: frames.validation,
      categorical: features.categorical,
      numClasses: hparams.numClasses,
    },
    hparams,
    {
      warmStart: resume ? undefined : parent?.warm,
      resume,
      onEpoch: (progress, capture) => {
        emit({
          event: 'progress',
          epoch: progress.epoch,
          epochs: progress.epochs,
          step: progress.step,
          loss: progress.trainLoss,
          validationLoss: progress.validationLoss,
          samplesSeen: progress.samplesSeen,
        });
        if (progress.epoch % every === 0 && progress.epoch < progress.epochs) {
          const point = capture();
          const file = path.join('checkpoints', `epoch-${String(progress.epoch).padStart(6, '0')}.json`);
          const checkpoint: TabularCheckpoint = {
            format: CHECKPOINT_FORMAT,
            version: CHECKPOINT_VERSION,
            model: point.model,
            optimizer: point.state.optimizer,
            moments,
            samplesSeenTotal: parentTotal + progress.samplesSeen,
            run: { pipelineRunId: runId, settingsKey, state: point.state },
          };
          writeFileSync(path.join(outputDir, file), encodeCheckpoint(checkpoint));
          emit({ event: 'checkpoint', epoch: progress.epoch, path: file });
        }
        return shouldStop?.() ? 'stop' : undefined;
      },
    },
  );

  const onnx = exportTabularToOnnx(result.model, { pipeline_run_id: runId, dataset_uri: env[ENV.datasetUri] ?? '', training_mode: mode });
  writeFileSync(path.join(outputDir, 'model.onnx'), onnx);
  const final: TabularCheckpoint = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    model: result.model,
    // The state after the last step; with restored best weights it is a few steps ahead of them,
    // which only affects how the next warm start's first steps are scaled.
    optimizer: result.optimizer,
    moments,
    samplesSeenTotal: parentTotal + result.samplesSeen,
    run: null,
  };
  writeFileSync(path.join(outputDir, 'checkpoint.json'), encodeCheckpoint(final));
  const last = result.history[result.history.length - 1];
  const summary: TrainerResultFile = {
    epochs: last.epoch,
    bestEpoch: result.bestEpoch,
    samplesSeen: result.samplesSeen,
    samplesSeenTotal: parentTotal + result.samplesSeen,
    finalTrainLoss: last.trainLoss,
    finalValidationLoss: last.validationLoss ?? null,
    startEpoch: result.startEpoch,
    init: result.init,
    stopReason: result.stopReason,
    device: 'cpu',
  };
  writeFileSync(path.join(outputDir, 'result.json'), JSON.stringify({ ...summary, history: result.history }));
  return summary;
}

interface LoadedParent {
  warm: WarmStart;
  samplesSeenTotal: number;
  digest: string;
}

/** The parent's checkpoint when there is one (weights, optimizer, moments), else its ONNX initializers. */
function loadParent(env: Record<string, string | undefined>, hparams: BuiltinHyperparameters): LoadedParent {
  const checkpointPath = env[ENV.parentCheckpointPath];
  if (checkpointPath) {
    const bytes = readFileSync(checkpointPath);
    const checkpoint = decodeCheckpoint(bytes.toString('utf8'), 'parent checkpoint');
    return {
      warm: { model: checkpoint.model, optimizer: checkpoint.optimizer, moments: checkpoint.moments, restandardize: hparams.restandardize },
      samplesSeenTotal: checkpoint.samplesSeenTotal,
      digest: sha(bytes),
    };
  }
  const modelPath = env[ENV.parentModelPath];
  if (modelPath) {
    const bytes = readFileSync(modelPath);
    if (hparams.restandardize) throw new BadInputError('restandardize needs the parent\'s checkpoint (its feature moments); the parent has only an ONNX file, so run without restandardize');
    return { warm: { model: tabularModelFromOnnx(bytes) }, samplesSeenTotal: hparams.parentSamplesSeen ?? 0, digest: sha(bytes) };
  }
  throw new BadInputError(`a stateful run needs the parent: set ${ENV.parentCheckpointPath} or ${ENV.parentModelPath} (the workflow passes parentCheckpointUri / parentArtifactUri)`);
}

/** A mid-run checkpoint of this very run (same run id, settings and data) to continue from. */
function loadResumePoint(file: string | undefined, runId: string, settingsKey: string, emit: (event: TrainerEvent) => void): ResumePoint | undefined {
  if (!file) return undefined;
  let checkpoint: TabularCheckpoint;
  try {
    checkpoint = decodeCheckpoint(readFileSync(file, 'utf8'), 'resume checkpoint');
  } catch (error) {
    emit({ event: 'info', message: `not resuming: ${(error as Error).message}; starting over` });
    return undefined;
  }
  if (!checkpoint.run || checkpoint.run.pipelineRunId !== runId || checkpoint.run.settingsKey !== settingsKey) {
    emit({ event: 'info', message: 'not resuming: the checkpoint belongs to another run, settings or dataset; starting over' });
    return undefined;
  }
  emit({ event: 'info', message: `resuming from epoch ${checkpoint.run.state.epoch}`, resumedFromEpoch: checkpoint.run.state.epoch });
  return { model: checkpoint.model, state: checkpoint.run.state };
}

function parseJson<T>(text: string, name: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new BadInputError(`${name} is not valid JSON: ${(error as Error).message}`);
  }
}

function sha(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
