// Inputs and outputs of the data activities (natural labels, pull, validation, dataset formation):
// small JSON shapes only — rows travel as artifact URIs (claim check). The pull and dataset requests
// extend the workflow's existing WindowRequest / DatasetRequest, so the current DAG keeps working and
// the new fields are optional.
import type { ModelSpec } from '../spec/model-spec';
import type { DatasetRequest, DatasetSnapshot, PulledWindow, WindowRequest } from '../workflows/types';

export interface LabelRequest {
  pipelineRunId: string;
  modelName: string;
  /** The run's reference time (the data window's end): windows closing after it stay pending. */
  referenceTime: string;
  /** The run's spec; its `labels` rule drives the step (absent → the step reports `skipped`). */
  spec: ModelSpec;
}

export interface LabelSummary {
  skipped: boolean;
  rule: string | null;
  /** Predictions made in [from, referenceTime) were (re)labelled. */
  from: string | null;
  referenceTime: string;
  predictions: number;
  unjoinable: number;
  labelled: number;
  positives: number;
  negatives: number;
  pending: number;
  late: number;
  noEvent: number;
  inserted: number;
  updated: number;
  elapsedMs: number;
}

export interface PullRequest extends WindowRequest {
  /** High-water mark for a stateful update: only rows strictly after it (the window start still bounds them). */
  since?: string | null;
  /** The run's spec: data.source, task and curation's extra columns. Absent → labelled_examples, binary. */
  spec?: ModelSpec;
}

export interface PullResult extends PulledWindow {
  /** The staged-window summary (JSON) listing the Arrow part files. */
  stagingUri: string;
  parts: number;
  /** Total missing feature values, values of the wrong type, and labels the task cannot use. */
  missingValues: number;
  typeViolations: number;
  invalidLabels: number;
  source: string;
}

export interface ValidateRequest {
  pipelineRunId: string;
  modelName: string;
  /** PullResult.stagingUri. */
  stagingUri: string;
  windowStart: string;
  windowEnd: string;
  spec: ModelSpec;
  /**
   * The reference snapshot (data.arrow URI) to compare distributions with. undefined → the current
   * champion's training snapshot, looked up in lineage; null → no reference (those checks skip).
   */
  referenceUri?: string | null;
}

export interface ValidationCheckSummary {
  name: string;
  passed: boolean;
  skipped: boolean;
  message: string;
}

export interface ValidationOutcome {
  passed: true;
  reportUri: string;
  referenceUri: string | null;
  checks: ValidationCheckSummary[];
  elapsedMs: number;
}

export interface FormDatasetRequest extends DatasetRequest {
  /** The run's spec: curation (sampling, rebalance, dedupe, seed) and the label rule's window. */
  spec?: ModelSpec;
}

export interface CurationStepSummary {
  step: string;
  rowsBefore: number;
  rowsAfter: number;
  detail?: string;
}

export interface FormedDataset extends DatasetSnapshot {
  /** Rows the pull staged, before curation. */
  sourceRows: number;
  curation: CurationStepSummary[];
}
