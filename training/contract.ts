// The command-trainer contract (training/COMMAND_TRAINER.md) in code: environment variable names,
// exit codes and the JSON-lines events a trainer prints on stdout.

export const ENV = {
  datasetPath: 'FLYWHEEL_DATASET_PATH',
  datasetUri: 'FLYWHEEL_DATASET_URI',
  outputDir: 'FLYWHEEL_OUTPUT_DIR',
  hparams: 'FLYWHEEL_HPARAMS',
  features: 'FLYWHEEL_FEATURES',
  task: 'FLYWHEEL_TASK',
  mode: 'FLYWHEEL_MODE',
  parentCheckpointPath: 'FLYWHEEL_PARENT_CHECKPOINT_PATH',
  parentModelPath: 'FLYWHEEL_PARENT_MODEL_PATH',
  resumeCheckpointPath: 'FLYWHEEL_RESUME_CHECKPOINT_PATH',
  checkpointEvery: 'FLYWHEEL_CHECKPOINT_EVERY',
  dataSinceMs: 'FLYWHEEL_DATA_SINCE_MS',
  runId: 'FLYWHEEL_RUN_ID',
  attempt: 'FLYWHEEL_ATTEMPT',
} as const;

/** Exit status for "the data or settings are wrong": the activity fails without retrying (sysexits EX_DATAERR). */
export const EXIT_BAD_INPUT = 65;

/** FLYWHEEL_FEATURES: the snapshot's columns, in input order. */
export interface FeaturesContract {
  numeric: string[];
  categorical: { name: string; vocabulary?: string[]; maxCategories: number }[];
}

export type TrainerEvent =
  | { event: 'progress'; epoch: number; epochs?: number; step?: number; loss?: number; validationLoss?: number; samplesSeen?: number; seconds?: number }
  | { event: 'checkpoint'; epoch: number; path: string }
  | { event: 'info'; device?: string; message?: string; [key: string]: unknown };

/** Parses one stdout line; anything that is not a known JSON event is returned as null (plain logging). */
export function parseTrainerEvent(line: string): TrainerEvent | null {
  const text = line.trim();
  if (!text.startsWith('{')) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!value || typeof value !== 'object') return null;
  const record = value as Record<string, unknown>;
  const finiteOrUndefined = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  if (record.event === 'progress' && typeof record.epoch === 'number') {
    return {
      event: 'progress',
      epoch: record.epoch,
      epochs: finiteOrUndefined(record.epochs),
      step: finiteOrUndefined(record.step),
      loss: finiteOrUndefined(record.loss),
      validationLoss: finiteOrUndefined(record.validationLoss ?? record.val_loss),
      samplesSeen: finiteOrUndefined(record.samplesSeen),
      seconds: finiteOrUndefined(record.seconds),
    };
  }
  if (record.event === 'checkpoint' && typeof record.epoch === 'number' && typeof record.path === 'string' && record.path) {
    return { event: 'checkpoint', epoch: record.epoch, path: record.path };
  }
  if (record.event === 'info') return { ...record, event: 'info' } as TrainerEvent;
  return null;
}

/** Printed by a trainer (and by the built-in one) as one line. */
export function formatTrainerEvent(event: TrainerEvent): string {
  return JSON.stringify(event);
}

/** result.json in the output directory (optional for command trainers). */
export interface TrainerResultFile {
  epochs: number;
  bestEpoch: number;
  samplesSeen: number;
  /** Lineage total (parent's + this run's) when the trainer knows it. */
  samplesSeenTotal?: number;
  finalTrainLoss: number;
  finalValidationLoss: number | null;
  startEpoch?: number;
  init?: string;
  stopReason?: string;
  device?: string;
}
