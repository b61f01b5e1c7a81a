// The built-in trainers' checkpoint: one JSON file with the model (weights, standardisation,
// vocabularies), optimizer state, accumulated feature moments and samples seen, and — for a
// mid-run checkpoint — the training state a retry resumes from. JSON keeps doubles exact (every
// float64 prints and parses back to itself) and is readable by any tool.
import type { OptimizerState } from '../ml/optimizers';
import type { FeatureMoments } from '../ml/standardizer';
import { assertTabularModel, type TabularModel } from '../ml/tabular/model';
import type { TrainingState } from '../ml/tabular/trainer';

export const CHECKPOINT_FORMAT = 'flywheel.tabular-checkpoint';
export const CHECKPOINT_VERSION = 1;

export interface TabularCheckpoint {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  /** The model: current weights mid-run; the returned (best) weights in a final checkpoint. */
  model: TabularModel;
  /** Optimizer state matching `model`'s weights (a warm start continues with it). */
  optimizer: OptimizerState;
  /** Numeric feature moments over every window this lineage trained on (stateful runs merge). */
  moments: FeatureMoments[];
  /** Samples seen across the lineage, this run included up to this point. */
  samplesSeenTotal: number;
  /** Set in mid-run checkpoints: where to continue, and what must match for that to be valid. */
  run: { pipelineRunId: string; settingsKey: string; state: TrainingState } | null;
}

export function encodeCheckpoint(checkpoint: TabularCheckpoint): string {
  return JSON.stringify(checkpoint);
}

/** Parses and checks a checkpoint; errors say which file and what is wrong. */
export function decodeCheckpoint(text: string, source: string): TabularCheckpoint {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`checkpoint ${source} is not valid JSON (${(error as Error).message}); it may be truncated`);
  }
  const c = value as Partial<TabularCheckpoint> | null;
  if (!c || c.format !== CHECKPOINT_FORMAT) {
    throw new Error(`checkpoint ${source} is not a Flywheel tabular checkpoint (format "${String(c?.format)}"); use the parent's ONNX file instead`);
  }
  if (c.version !== CHECKPOINT_VERSION) throw new Error(`checkpoint ${source} has version ${String(c.version)}; this Flywheel reads version ${CHECKPOINT_VERSION}`);
  if (!c.model || !c.optimizer || !Array.isArray(c.moments) || typeof c.samplesSeenTotal !== 'number') {
    throw new Error(`checkpoint ${source} lacks model, optimizer, moments or samplesSeenTotal`);
  }
  assertTabularModel(c.model, `checkpoint ${source}`);
  return c as TabularCheckpoint;
}
