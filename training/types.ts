// What the training activity accepts and returns beyond the workflow's TrainRequest and
// TrainedCandidate: every addition is optional, so the existing workflow call keeps working
// (stateless, spec hyperparameters) until the workflow passes the stateful fields.
import type { TrainedCandidate, TrainRequest } from '../workflows/types';

export type TrainingMode = 'stateless' | 'stateful';

/** Per-run overrides of the spec's trainer settings (e.g. fewer epochs for a daily stateful update). */
export interface HyperparameterOverrides {
  epochs?: number;
  learningRate?: number;
  batchSize?: number;
  l2?: number;
  earlyStoppingPatience?: number;
  seed?: number;
  optimizer?: 'sgd' | 'adam';
  /** Command trainers receive every key in FLYWHEEL_HPARAMS, these and any other. */
  [key: string]: unknown;
}

export interface TrainRequestV2 extends TrainRequest {
  /** Default 'stateless': train from scratch. 'stateful' continues the parent (needs parentArtifactUri). */
  mode?: TrainingMode;
  /** The parent version (lineage id), recorded in the result for the register step. */
  parentVersionId?: string;
  /** The parent's model.onnx; a built-in warm start reads its initializers when there is no checkpoint. */
  parentArtifactUri?: string;
  /** The parent's checkpoint (TrainedCandidateV2.checkpointUri of its run); preferred over the ONNX file. */
  parentCheckpointUri?: string;
  /** The parent's cumulative samples seen (lineage), for samplesSeenTotal when it has no checkpoint. */
  parentSamplesSeen?: number;
  /** Train only on training-split rows with event_time_ms > this (the parent's high-water mark). */
  dataSinceMs?: number;
  hyperparameters?: HyperparameterOverrides;
  /**
   * Built-in stateful runs only: adopt merged parent + window standardisation statistics, folded
   * into the first layer so predictions do not change (default false: keep the parent's).
   */
  restandardize?: boolean;
}

export interface TrainedCandidateV2 extends TrainedCandidate {
  mode: TrainingMode;
  trainer: string;
  /** This run's final checkpoint; a later stateful run passes it as parentCheckpointUri. Null if the command wrote none. */
  checkpointUri: string | null;
  /** Samples seen across the lineage: the parent's plus this run's. */
  samplesSeenTotal: number;
  parentVersionId: string | null;
  /** How training started: fresh, warm_start, warm_start_restandardized, resume, or what a command reported. */
  init: string;
  attempt: number;
  /** Set when this attempt continued from an earlier attempt's checkpoint. */
  resumedFromCheckpointUri: string | null;
  resumedFromEpoch: number | null;
  /** What the trainer reported it ran on (cpu, cuda:0, ...). */
  device: string | null;
  stopReason: string | null;
}

/** The activity's heartbeat details: the newest progress and the newest uploaded checkpoint. */
export interface TrainingHeartbeat {
  pipelineRunId: string;
  attempt: number;
  phase: 'preparing' | 'training' | 'uploading';
  epoch: number;
  epochs: number | null;
  step: number;
  loss: number | null;
  validationLoss: number | null;
  /** The newest checkpoint in the artifact store: a retry resumes from it. */
  checkpointUri: string | null;
  checkpointEpoch: number | null;
  pid: number | null;
  device: string | null;
}
