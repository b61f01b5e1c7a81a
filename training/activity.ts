// The training activity's body: stages the snapshot (and the parent, and a checkpoint to resume
// from) in a temp dir, runs the trainer — built-in or command — as a child process, heartbeats on
// a timer, uploads checkpoints as they appear, and uploads the final model and checkpoint to
// deterministic keys. Retries resume from the checkpoint named in the last heartbeat.
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import type { TabularTask } from '../ml/tabular/model';
import { ArtifactNotFoundError, type ArtifactStore } from '../storage/artifact-store';
import { FailureType } from '../workflows/failure-types';
import { ENV, EXIT_BAD_INPUT, type TrainerEvent, type TrainerResultFile } from './contract';
import { builtinHyperparameters, commandHyperparameters, featuresContract } from './hyperparameters';
import { processAlive, startTrainerProcess, TrainerSpawnError, type TrainerProcessResult } from './process';
import type { TrainedCandidateV2, TrainingHeartbeat, TrainRequestV2 } from './types';

export interface TrainActivityOptions {
  /** How often the activity heartbeats while the trainer runs; default 2000 ms. */
  heartbeatIntervalMs?: number;
  /** Where per-attempt temp dirs go; default the OS temp dir. */
  tempRoot?: string;
  /** SIGTERM → SIGKILL grace when stopping a trainer; default 5000 ms. */
  killGraceMs?: number;
  /** argv that starts the built-in trainer (default: this Node with tsx on training/builtin/main.ts). */
  builtinCommand?: string[];
  /** Trainer log lines and notices; default: the activity context's logger. */
  log?: (line: string) => void;
  /** Sees every event the trainer prints (progress, checkpoint, info), e.g. for worker logs or tests. */
  onEvent?: (event: TrainerEvent) => void;
  /** Trainer crashes (non-zero exits) one run may have before the failure is final; default TRAINER_CRASH_LIMIT. */
  crashLimit?: number;
  /**
   * On a GPU host, leases each attempt one GPU (worker/gpus.ts GpuPool) and sets the trainer's
   * CUDA_VISIBLE_DEVICES to it, so concurrent trainers do not all land on GPU 0. Unset: the trainer
   * sees what the worker sees. A command trainer's own `env.CUDA_VISIBLE_DEVICES` wins.
   */
  gpus?: { acquire(): { visibleDevices: string; release(): void } };
}

/**
 * How many times a run's trainer may crash before the activity stops asking Temporal for another
 * attempt. Worker deaths (heartbeat timeouts) are not crashes: they are counted by Temporal against
 * the workflow's larger maximumAttempts and cost only the epochs since the last checkpoint.
 */
export const TRAINER_CRASH_LIMIT = 3;

export interface TrainActivityDeps {
  store: ArtifactStore;
  /** Records the step in lineage (pipeline_runs.current_step); injected to keep this module DB-free. */
  markStep?: (pipelineRunId: string, step: string) => Promise<void>;
}

export function builtinTrainerCommand(): string[] {
  return [process.execPath, '--require', require.resolve('tsx/cjs'), path.join(__dirname, 'builtin', 'main.ts')];
}

/** Failure types this activity raises; the non-retryable ones also set nonRetryable on the failure itself. */
export const TrainingFailure = {
  InvalidTrainingData: FailureType.InvalidTrainingData,
  InvalidSpec: FailureType.InvalidSpec,
  CorruptArtifact: FailureType.CorruptArtifact,
  TrainerTimedOut: 'TrainerTimedOut',
  TrainerCrashed: 'TrainerCrashed',
} as const;

function nonRetryable(type: string, message: string, details?: Record<string, unknown>): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details: details ? [details] : undefined });
}

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

function runKey(pipelineRunId: string): string {
  return pipelineRunId.replace(/[^A-Za-z0-9._-]+/g, '_');
}

export async function trainWithTrainerProcess(deps: TrainActivityDeps, request: TrainRequestV2, options: TrainActivityOptions = {}): Promise<TrainedCandidateV2> {
  const started = performance.now();
  const context = activityContext();
  const attempt = context?.info.attempt ?? 1;
  const mode = request.mode ?? 'stateless';
  const spec = request.spec;
  const trainer = spec.trainer;
  const task = spec.task as TabularTask;
  const prefix = `models/${request.modelName}/runs/${runKey(request.pipelineRunId)}`;
  // Trainer output goes to the activity's logger (tagged with the workflow and activity) unless told otherwise.
  const log = options.log ?? ((line: string) => context?.log.info(line));
  options = { ...options, log };
  await deps.markStep?.(request.pipelineRunId, 'train');

  if (mode === 'stateful' && !request.parentArtifactUri && !request.parentCheckpointUri) {
    throw nonRetryable(TrainingFailure.InvalidSpec, 'a stateful training run needs parentArtifactUri or parentCheckpointUri (the champion the update continues from); pass them or run stateless');
  }

  // A checkpoint from an earlier attempt of this run, named in its last heartbeat.
  const previous = resumableHeartbeat(context, request.pipelineRunId);
  const heartbeat: TrainingHeartbeat = {
    pipelineRunId: request.pipelineRunId,
    attempt,
    phase: 'preparing',
    epoch: previous?.checkpointEpoch ?? 0,
    epochs: null,
    step: 0,
    loss: null,
    validationLoss: null,
    // Carried forward: if this attempt dies before its own first checkpoint, the next resumes from this one.
    checkpointUri: previous?.checkpointUri ?? null,
    checkpointEpoch: previous?.checkpointEpoch ?? null,
    pid: null,
    device: null,
  };
  const beat = () => context?.heartbeat({ ...heartbeat });
  beat();

  const tempRoot = options.tempRoot ?? tmpdir();
  sweepStaleWorkDirs(tempRoot);
  const workDir = mkdtempSync(path.join(tempRoot, WORK_DIR_PREFIX));
  writeFileSync(path.join(workDir, OWNER_FILE), String(process.pid));
  const outputDir = path.join(workDir, 'output');
  const timer = setInterval(beat, options.heartbeatIntervalMs ?? 2000);
  const gpu = options.gpus?.acquire();
  try {
    const features = featuresContract(spec.features);
    const env: NodeJS.ProcessEnv = {
      ...trainerBaseEnv(process.env),
      ...(gpu ? { CUDA_VISIBLE_DEVICES: gpu.visibleDevices } : {}),
      ...(trainer.type === 'command' ? trainer.env : {}),
      [ENV.datasetPath]: await download(deps.store, request.datasetUri, path.join(workDir, 'dataset.arrow'), 'dataset snapshot'),
      [ENV.datasetUri]: request.datasetUri,
      [ENV.outputDir]: outputDir,
      [ENV.features]: JSON.stringify(features),
      [ENV.task]: task,
      [ENV.mode]: mode,
      [ENV.checkpointEvery]: String(trainer.checkpointEveryEpochs),
      [ENV.runId]: request.pipelineRunId,
      [ENV.attempt]: String(attempt),
    };
    let hparams: Record<string, unknown>;
    try {
      hparams =
        trainer.type === 'command'
          ? commandHyperparameters(trainer, task, request.hyperparameters)
          : { ...builtinHyperparameters(trainer, task, request.hyperparameters, { restandardize: restandardizeFor(request, log), parentSamplesSeen: request.parentSamplesSeen }) };
    } catch (error) {
      throw nonRetryable(TrainingFailure.InvalidSpec, `trainer settings for ${request.modelName} are invalid: ${(error as Error).message}`);
    }
    env[ENV.hparams] = JSON.stringify(hparams);
    if (request.dataSinceMs !== undefined) env[ENV.dataSinceMs] = String(request.dataSinceMs);
    if (mode === 'stateful') {
      if (request.parentCheckpointUri) {
        env[ENV.parentCheckpointPath] = await download(deps.store, request.parentCheckpointUri, path.join(workDir, `parent-checkpoint${extensionOf(request.parentCheckpointUri)}`), 'parent checkpoint');
      }
      if (request.parentArtifactUri) {
        env[ENV.parentModelPath] = await download(deps.store, request.parentArtifactUri, path.join(workDir, 'parent-model.onnx'), 'parent model');
      }
    }
    let resumedFromCheckpointUri: string | null = null;
    if (previous?.checkpointUri) {
      try {
        env[ENV.resumeCheckpointPath] = await download(deps.store, previous.checkpointUri, path.join(workDir, `resume${extensionOf(previous.checkpointUri)}`), 'resume checkpoint');
        resumedFromCheckpointUri = previous.checkpointUri;
      } catch (error) {
        // Losing the checkpoint costs time, not correctness: train from the start.
        options.log?.(`not resuming from ${previous.checkpointUri}: ${(error as Error).message}`);
      }
    }

    const argv = trainer.type === 'command' ? trainer.command : options.builtinCommand ?? builtinTrainerCommand();
    const timeoutMs = trainer.type === 'command' ? trainer.timeoutMinutes * 60_000 : 24 * 3_600_000;
    let device: string | null = null;
    let resumedFromEpoch: number | null = null;
    let lastProgress: Extract<TrainerEvent, { event: 'progress' }> | undefined;
    // Checkpoint uploads run one after another, in the order the trainer wrote them.
    let uploads: Promise<void> = Promise.resolve();
    let uploadError: Error | undefined;
    const abort = new AbortController();
    const onCancel = () => abort.abort();
    context?.cancellationSignal.addEventListener('abort', onCancel, { once: true });
    if (context?.cancellationSignal.aborted) abort.abort();

    heartbeat.phase = 'training';
    let running;
    try {
      running = startTrainerProcess({
        argv,
        env,
        cwd: trainer.type === 'command' ? trainer.cwd : undefined,
        timeoutMs,
        signal: abort.signal,
        killGraceMs: options.killGraceMs,
        onLog: (line) => options.log?.(`[trainer] ${line}`),
        onEvent: (event) => {
          options.onEvent?.(event);
          if (event.event === 'progress') {
            lastProgress = event;
            heartbeat.epoch = event.epoch;
            heartbeat.epochs = event.epochs ?? heartbeat.epochs;
            heartbeat.step = event.step ?? heartbeat.step;
            heartbeat.loss = event.loss ?? null;
            heartbeat.validationLoss = event.validationLoss ?? null;
          } else if (event.event === 'checkpoint') {
            const local = path.resolve(outputDir, event.path);
            const key = `${prefix}/checkpoints/epoch-${String(event.epoch).padStart(6, '0')}${extensionOf(event.path)}`;
            uploads = uploads.then(async () => {
              try {
                const uri = await deps.store.put(key, readFileSync(local));
                heartbeat.checkpointUri = uri;
                heartbeat.checkpointEpoch = event.epoch;
                beat();
              } catch (error) {
                uploadError = error as Error;
              }
            });
          } else if (event.event === 'info') {
            if (typeof event.device === 'string') device = heartbeat.device = event.device;
            if (typeof event.resumedFromEpoch === 'number') resumedFromEpoch = event.resumedFromEpoch;
            if (event.message) options.log?.(`[trainer] ${event.message}`);
          }
        },
      });
    } catch (error) {
      if (error instanceof TrainerSpawnError) throw nonRetryable(TrainingFailure.InvalidSpec, error.message);
      throw error;
    }
    heartbeat.pid = running.pid;
    beat();
    let outcome: TrainerProcessResult;
    try {
      outcome = await running.done;
    } catch (error) {
      if (error instanceof TrainerSpawnError) throw nonRetryable(TrainingFailure.InvalidSpec, error.message);
      throw error;
    } finally {
      context?.cancellationSignal.removeEventListener('abort', onCancel);
    }
    await uploads;
    if (outcome.outcome === 'cancelled') {
      throw new CancelledFailure(`training of ${request.modelName} cancelled: trainer process group ${outcome.pid} killed after epoch ${heartbeat.epoch}`);
    }
    if (outcome.outcome === 'timed_out') {
      const minutes = trainer.type === 'command' ? trainer.timeoutMinutes : timeoutMs / 60_000;
      throw nonRetryable(TrainingFailure.TrainerTimedOut, `trainer for ${request.modelName} ran past its timeout (${minutes} min) and was killed at epoch ${heartbeat.epoch}; raise trainer.timeoutMinutes or make it faster${tail(outcome)}`);
    }
    if (outcome.exitCode !== 0) {
      const how = outcome.exitCode === null ? `was killed by ${outcome.signal}` : `exited with status ${outcome.exitCode}`;
      const message = `trainer for ${request.modelName} ${how}${tail(outcome)}`;
      if (outcome.exitCode === EXIT_BAD_INPUT) throw nonRetryable(TrainingFailure.InvalidTrainingData, message);
      const crashes = await recordTrainerCrash(deps.store, `${prefix}/trainer-crashes.json`, attempt, how);
      const limit = options.crashLimit ?? TRAINER_CRASH_LIMIT;
      if (crashes.length >= limit) {
        throw nonRetryable(
          TrainingFailure.TrainerCrashed,
          `${message}; the trainer crashed ${crashes.length} times in this run (attempts ${crashes.map((c) => c.attempt).join(', ')}; limit ${limit}), so it is not retried again: fix the trainer or its data and start a new run`,
          { crashes },
        );
      }
      throw ApplicationFailure.create({ type: TrainingFailure.TrainerCrashed, message: `${message} (crash ${crashes.length} of at most ${limit} in this run; retrying)` });
    }
    if (uploadError) throw uploadError;

    heartbeat.phase = 'uploading';
    beat();
    const modelPath = path.join(outputDir, 'model.onnx');
    if (!existsSync(modelPath)) {
      throw nonRetryable(TrainingFailure.CorruptArtifact, `trainer for ${request.modelName} exited 0 but wrote no model.onnx to FLYWHEEL_OUTPUT_DIR; see training/COMMAND_TRAINER.md`);
    }
    const onnx = readFileSync(modelPath);
    await assertLoadable(onnx, request.modelName);
    // Deterministic keys: a retried attempt overwrites its own files, never adds others.
    const artifactUri = await deps.store.put(`${prefix}/model.onnx`, onnx, { contentType: 'application/octet-stream' });
    const finalCheckpoint = readdirSync(outputDir).find((name) => /^checkpoint\.[A-Za-z0-9]+$/.test(name));
    const checkpointUri = finalCheckpoint ? await deps.store.put(`${prefix}/${finalCheckpoint}`, readFileSync(path.join(outputDir, finalCheckpoint))) : null;
    const summary = readResult(outputDir, lastProgress);
    return {
      artifactUri,
      samplesSeen: summary.samplesSeen,
      epochs: summary.epochs,
      bestEpoch: summary.bestEpoch,
      finalTrainLoss: summary.finalTrainLoss,
      finalValidationLoss: summary.finalValidationLoss,
      elapsedMs: Math.round((performance.now() - started) * 1000) / 1000,
      mode,
      trainer: trainer.type,
      checkpointUri,
      samplesSeenTotal: summary.samplesSeenTotal ?? (mode === 'stateful' ? (request.parentSamplesSeen ?? 0) : 0) + summary.samplesSeen,
      parentVersionId: request.parentVersionId ?? null,
      init: summary.init ?? (resumedFromEpoch !== null ? 'resume' : mode === 'stateful' ? 'warm_start' : 'fresh'),
      attempt,
      resumedFromCheckpointUri: resumedFromEpoch !== null || summary.startEpoch ? resumedFromCheckpointUri : null,
      resumedFromEpoch: resumedFromEpoch ?? (summary.startEpoch ? summary.startEpoch : null),
      device: summary.device ?? device,
      stopReason: summary.stopReason ?? null,
    };
  } finally {
    clearInterval(timer);
    gpu?.release();
    rmSync(workDir, { recursive: true, force: true });
  }
}

/**
 * Whether a stateful run re-folds merged feature moments into the weights: the request's say, else
 * the spec's `stateful.restandardize`, which needs the parent's checkpoint (its moments) and is
 * skipped, with a log line, for a parent that has only an ONNX file.
 */
function restandardizeFor(request: TrainRequestV2, log: (line: string) => void): boolean | undefined {
  if (request.restandardize !== undefined) return request.restandardize;
  if ((request.mode ?? 'stateless') !== 'stateful' || !request.spec.stateful?.restandardize) return undefined;
  if (!request.parentCheckpointUri) {
    log(`stateful.restandardize skipped: parent ${request.parentVersionId ?? request.parentArtifactUri} has no checkpoint (no feature moments to merge); its standardisation is kept`);
    return undefined;
  }
  return true;
}

const WORK_DIR_PREFIX = 'flywheel-train-';
const OWNER_FILE = 'owner.pid';

/**
 * Removes work dirs left by attempts whose worker process died (kill -9, OOM): each dir names its
 * owner's pid, and a dir whose owner no longer exists can never be cleaned up by it.
 */
function sweepStaleWorkDirs(root: string): void {
  let names: string[];
  try {
    names = readdirSync(root).filter((name) => name.startsWith(WORK_DIR_PREFIX));
  } catch {
    return;
  }
  for (const name of names) {
    const dir = path.join(root, name);
    try {
      const owner = Number(readFileSync(path.join(dir, OWNER_FILE), 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && !processAlive(owner)) rmSync(dir, { recursive: true, force: true });
    } catch {
      // No owner file (being created right now, or not ours): leave it.
    }
  }
}

export interface TrainerCrashRecord {
  attempt: number;
  how: string;
  at: string;
}

/**
 * Adds this attempt's crash to the run's crash record in the artifact store and returns the record.
 * The store, not heartbeat details, keeps the count: a heartbeat sent just before an attempt fails
 * may never reach the server, and the count must not depend on it. Keyed by attempt, so the same
 * attempt recorded twice counts once.
 */
async function recordTrainerCrash(store: ArtifactStore, key: string, attempt: number, how: string): Promise<TrainerCrashRecord[]> {
  const uri = store.uriFor(key);
  let crashes: TrainerCrashRecord[] = [];
  try {
    const parsed = JSON.parse((await store.get(uri)).toString('utf8')) as { crashes?: TrainerCrashRecord[] };
    if (Array.isArray(parsed.crashes)) crashes = parsed.crashes;
  } catch (error) {
    if (!(error instanceof ArtifactNotFoundError) && !(error instanceof SyntaxError)) throw error;
  }
  if (!crashes.some((c) => c.attempt === attempt)) crashes = [...crashes, { attempt, how, at: new Date().toISOString() }];
  await store.put(key, JSON.stringify({ crashes }, null, 2), { contentType: 'application/json' });
  return crashes;
}

function resumableHeartbeat(context: Context | undefined, pipelineRunId: string): TrainingHeartbeat | undefined {
  const details = context?.info.heartbeatDetails as Partial<TrainingHeartbeat> | undefined;
  if (!details || details.pipelineRunId !== pipelineRunId || typeof details.checkpointUri !== 'string') return undefined;
  return details as TrainingHeartbeat;
}

async function download(store: ArtifactStore, uri: string, file: string, what: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await store.get(uri);
  } catch (error) {
    if (error instanceof ArtifactNotFoundError) throw nonRetryable(TrainingFailure.InvalidTrainingData, `${what} ${uri} does not exist in the artifact store; re-run the step that writes it`);
    throw error;
  }
  writeFileSync(file, bytes);
  return file;
}

function extensionOf(uriOrPath: string): string {
  const ext = path.extname(uriOrPath);
  return /^\.[A-Za-z0-9]+$/.test(ext) ? ext : '.bin';
}

function tail(outcome: TrainerProcessResult): string {
  const text = outcome.stderrTail.trim();
  return text ? `; stderr (last ${text.length} chars): ${text}` : '; it printed nothing on stderr';
}

async function assertLoadable(onnx: Uint8Array, modelName: string): Promise<void> {
  try {
    const session = await InferenceSession.create(onnx);
    await session.release();
  } catch (error) {
    throw nonRetryable(TrainingFailure.CorruptArtifact, `the trainer's model.onnx for ${modelName} cannot be loaded by onnxruntime: ${(error as Error).message}`);
  }
}

/** result.json when the trainer wrote one, else what its last progress event said. */
function readResult(outputDir: string, last: Extract<TrainerEvent, { event: 'progress' }> | undefined): TrainerResultFile {
  const file = path.join(outputDir, 'result.json');
  if (existsSync(file)) {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<TrainerResultFile>;
    return {
      epochs: parsed.epochs ?? last?.epoch ?? 0,
      bestEpoch: parsed.bestEpoch ?? parsed.epochs ?? last?.epoch ?? 0,
      samplesSeen: parsed.samplesSeen ?? last?.samplesSeen ?? 0,
      samplesSeenTotal: parsed.samplesSeenTotal,
      finalTrainLoss: parsed.finalTrainLoss ?? last?.loss ?? Number.NaN,
      finalValidationLoss: parsed.finalValidationLoss ?? last?.validationLoss ?? null,
      startEpoch: parsed.startEpoch,
      init: parsed.init,
      stopReason: parsed.stopReason,
      device: parsed.device,
    };
  }
  return {
    epochs: last?.epoch ?? 0,
    bestEpoch: last?.epoch ?? 0,
    samplesSeen: last?.samplesSeen ?? 0,
    finalTrainLoss: last?.loss ?? Number.NaN,
    finalValidationLoss: last?.validationLoss ?? null,
  };
}

/**
 * The worker's environment minus its secrets: a trainer gets data through files and FLYWHEEL_*
 * variables, so it has no need for the lineage database's credentials or cloud keys, and whatever it
 * prints (error tails reach the workflow history) must not be able to leak them.
 */
export function trainerBaseEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const secret = /^(DATABASE_URL|TEST_PG_ADMIN_URL|PG(PASSWORD|USER|HOST|DATABASE)|GOOGLE_APPLICATION_CREDENTIALS|.*(SECRET|TOKEN|PASSWORD|_KEY)$)/i;
  return Object.fromEntries(Object.entries(env).filter(([name]) => !secret.test(name)));
}
