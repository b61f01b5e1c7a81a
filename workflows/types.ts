// The inputs and outputs of the retrain DAG and its activities: small JSON shapes only (claim
// check: data and models travel as artifact URIs, never as payload bytes).
import type { TrainingPlan } from '../lifecycle/training-plan';
import type { FeatureLayout, ModelSpec } from '../spec/model-spec';

export interface RetrainInput {
  modelName: string;
  /** Why this run started: manual, schedule, volume, drift, ... (search attribute TriggerReason). */
  trigger?: string;
  /** The data window ends here (ISO 8601); default: the workflow's start time. */
  referenceTime?: string;
  /** Train from scratch even where the stage would warm-start (a manual full retrain). */
  forceStateless?: boolean;
  /**
   * Requested training mode: 'stateless' = full retrain; 'stateful' = warm-start from the champion
   * even below stage 3 (a run with no champion, a model iteration or a due recalibration still
   * trains from scratch, and says why in planReason). Unset: the model's stage decides.
   */
  mode?: 'stateless' | 'stateful';
  /** After a promotion, retrain the models that depend on this one (default true; cascaded children pass false). */
  cascade?: boolean;
}

export interface PipelineRunStarted {
  spec: ModelSpec;
  specHash: string;
  architectureHash: string;
  stage: number;
}

export interface WindowRequest {
  pipelineRunId: string;
  modelName: string;
  layout: FeatureLayout;
  windowStart: string;
  windowEnd: string;
  /** Stateful runs: only rows strictly after this instant (the parent's high-water mark). */
  since?: string | null;
  minRows: number;
}

export interface PulledWindow {
  stagingUri: string;
  rows: number;
  positives: number;
  negatives: number;
  firstEventTime: string;
  lastEventTime: string;
  elapsedMs: number;
}

export interface DatasetRequest {
  pipelineRunId: string;
  modelName: string;
  layout: FeatureLayout;
  stagingUri: string;
  windowStart: string;
  windowEnd: string;
  validationFraction: number;
}

export interface DatasetSnapshot {
  datasetId: string;
  uri: string;
  contentHash: string;
  rows: number;
  trainRows: number;
  validationRows: number;
  /** The latest event time in the snapshot: the high-water mark a stateful update continues from. */
  highWaterMark: string;
  /** True when an identical snapshot already existed (same window, same rows). */
  reused: boolean;
  elapsedMs: number;
}

export interface TrainRequest {
  pipelineRunId: string;
  modelName: string;
  datasetUri: string;
  spec: ModelSpec;
}

export interface TrainedCandidate {
  artifactUri: string;
  samplesSeen: number;
  epochs: number;
  bestEpoch: number;
  finalTrainLoss: number;
  finalValidationLoss: number | null;
  elapsedMs: number;
}

export interface EvaluateRequest {
  pipelineRunId: string;
  modelName: string;
  datasetUri: string;
  artifactUri: string;
  spec: ModelSpec;
  /** The frozen static test set, when the model has one (judged beside the backtest). */
  staticTestSetId?: string | null;
  staticTestSetUri?: string | null;
  candidateLabel?: string;
}

export interface CandidateEvaluation {
  /** The candidate's point estimates on the backtest. */
  metrics: Record<string, number>;
  decision: 'pass' | 'fail' | 'needs_approval';
  /** Each failed rule by name, or the pass summary. */
  reasons: string[];
  /** What the gate decided on its own (no champion, defaults applied, slices not gated). */
  notes: string[];
  validationRows: number;
  staticTestSetRows: number | null;
  championId: string | null;
  reportJsonUri: string;
  reportHtmlUri: string;
  approval: { required: boolean; timeoutMs: number; onTimeout: 'reject' | 'approve' };
  elapsedMs: number;
}

/** A person's sign-off on a candidate the gate sent for approval. */
export interface ApprovalDecision {
  approve: boolean;
  by: string;
  comment?: string;
}

export interface RetrainStatus {
  step: string;
  candidateVersionId: string | null;
  decision: CandidateEvaluation['decision'] | null;
  awaitingApproval: boolean;
  reportHtmlUri: string | null;
}

export interface RegisterRequest {
  pipelineRunId: string;
  modelName: string;
  specHash: string;
  architectureHash: string;
  plan: TrainingPlan;
  checkpointUri?: string | null;
  datasetId: string;
  artifactUri: string;
  samplesSeen: number;
  highWaterMark: string;
  evaluation: CandidateEvaluation;
}

export interface RegisteredVersion {
  versionId: string;
  version: string;
  elapsedMs: number;
}

export interface PromotionRequest {
  pipelineRunId: string;
  modelName: string;
  versionId: string;
  reason: string;
}

export interface RunFinish {
  pipelineRunId: string;
  status: 'succeeded' | 'rejected' | 'failed';
  error?: string;
  timings?: Record<string, number>;
}

export interface RetrainResult {
  workflowId: string;
  runId: string;
  model: string;
  stage: number;
  trigger: string;
  decision: 'promoted' | 'rejected';
  /** The staged rollout's outcome, when the spec has a rollout section and there was a champion. */
  rollout: { rolloutId: string; outcome: string; reason: string } | null;
  /** Who signed off, when the spec requires approval. */
  approval: { approved: boolean; by: string; comment?: string } | null;
  reportHtmlUri: string;
  runReportUri: string;
  modelPageUri: string;
  notes: string[];
  version: string;
  versionId: string;
  trainingMode: 'stateless' | 'stateful';
  parentVersionId: string | null;
  /** Why the run trained stateless or stateful. */
  planReason: string;
  /** Dependants retrained (or signalled, for stage 4) after this promotion. */
  dependants: Array<{ model: string; outcome: string }>;
  datasetId: string;
  datasetUri: string;
  artifactUri: string;
  metrics: Record<string, number>;
  reasons: string[];
  rows: { total: number; train: number; validation: number };
  /** Each step's own time in ms as measured inside its activity. */
  stepMs: Record<string, number>;
  /** Wall time of the whole run in ms (workflow clock). */
  wallMs: number;
}
