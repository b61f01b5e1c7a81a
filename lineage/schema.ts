// The lineage schema as Kysely types: every table the migrations create, so queries are checked
// against it at compile time. Keep in step with lineage/migrations/.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
/** jsonb: written as a JSON string, read back parsed. */
export type Json<T> = ColumnType<T, string, string>;
/** A nullable column added by a later migration: inserts written before it existed still type-check. */
type OptionalColumn<T> = ColumnType<T | null, T | null | undefined, T | null>;

export type TrainingMode = 'stateless' | 'stateful';
export type IterationKind = 'data' | 'model';
export type VersionStatus = 'candidate' | 'champion' | 'rejected' | 'retired' | 'rolled_back';
export type RunStatus = 'running' | 'succeeded' | 'rejected' | 'failed';
export type DeploymentMode = 'champion' | 'canary' | 'shadow' | 'ab' | 'interleaving';

export interface ModelsTable {
  name: string;
  spec: Json<Record<string, unknown>>;
  spec_hash: string;
  stage: number;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface ModelVersionsTable {
  id: string;
  model_name: string;
  version: string;
  major: number;
  minor: number;
  parent_version_id: string | null;
  training_mode: TrainingMode;
  iteration_kind: IterationKind;
  spec_hash: string;
  dataset_id: string;
  artifact_uri: string;
  status: VersionStatus;
  metrics: Json<Record<string, number>>;
  samples_seen: ColumnType<number, number, number>;
  high_water_mark: Timestamp;
  pipeline_run_id: string;
  created_at: CreatedAt;
  /** Hash of features + trainer architecture; a change is a model iteration (migration 0020). */
  architecture_hash: ColumnType<string | null, string | null | undefined, string | null>;
  checkpoint_uri: ColumnType<string | null, string | null | undefined, string | null>;
  /** Why this run trained stateless or stateful, in words. */
  training_reason: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface DatasetsTable {
  id: string;
  model_name: string;
  window_start: Timestamp;
  window_end: Timestamp;
  row_count: number;
  content_hash: string;
  uri: string;
  manifest: Json<Record<string, unknown>>;
  created_at: CreatedAt;
  /** Rows the pull found before curation; null for datasets formed before migration 0002. */
  source_rows: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface PipelineRunsTable {
  id: string;
  run_id: string;
  model_name: string;
  trigger: string;
  stage: number;
  status: RunStatus;
  current_step: string;
  candidate_version_id: string | null;
  error: string | null;
  timings: Json<Record<string, number>>;
  started_at: Timestamp;
  finished_at: Timestamp | null;
}

export interface EvaluationsTable {
  id: string;
  pipeline_run_id: string;
  version_id: string;
  dataset_id: string;
  metrics: Json<Record<string, number>>;
  decision: 'pass' | 'fail' | 'needs_approval';
  reasons: Json<string[]>;
  /** The report card as HTML; report_json_uri the same card as JSON (migration 0021). */
  report_uri: string | null;
  created_at: CreatedAt;
  report_json_uri: ColumnType<string | null, string | null | undefined, string | null>;
  approval: ColumnType<'approved' | 'rejected' | null, 'approved' | 'rejected' | null | undefined, 'approved' | 'rejected' | null>;
  approved_by: ColumnType<string | null, string | null | undefined, string | null>;
  approval_comment: ColumnType<string | null, string | null | undefined, string | null>;
  approved_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** A frozen, versioned static test set of a model (migration 0021); its rows never train. */
export interface TestSetsTable {
  id: string;
  model_name: string;
  version: number;
  uri: string;
  content_hash: string;
  row_count: number;
  window_start: Timestamp;
  window_end: Timestamp;
  frozen_by_run: string | null;
  created_at: CreatedAt;
}

export interface TestSetRowsTable {
  test_set_id: string;
  model_name: string;
  example_id: ColumnType<string, string | number, string | number>;
}

export interface DeploymentsTable {
  id: Generated<number>;
  model_name: string;
  version_id: string;
  mode: DeploymentMode;
  traffic_percent: number;
  reason: string;
  pipeline_run_id: string | null;
  started_at: Timestamp;
  ended_at: Timestamp | null;
  /** The rollout that wrote the row; null for direct promotions (migration 0010). */
  rollout_id: OptionalColumn<string>;
  /** A/B or interleaving arm label; null for other modes. */
  arm: OptionalColumn<string>;
  /** Sticky-assignment hash salt of canary, A/B and interleaving rows. */
  salt: OptionalColumn<string>;
  /** Why the row stopped serving. */
  end_reason: OptionalColumn<string>;
}

/** Already-labelled history a model trains on (the warehouse-export source kind). */
export interface LabelledExamplesTable {
  id: Generated<string>;
  model_name: string;
  entity_id: string;
  event_time: Timestamp;
  features: Json<Record<string, number | string>>;
  label: number;
  /** Set for natural labels (one row per logged request, upserted); null for imported history. */
  request_id: OptionalColumn<string>;
  /** Where the label came from: "import:<file hash>", "natural:<rule>", or null (older rows). */
  label_source: OptionalColumn<string>;
  /** When the label became known (end of its label window); null when it was known at event_time. */
  label_available_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export type PredictionMode = 'served' | 'shadow';

/** Every prediction a service made (the logging stage of the loop); appended in batches. */
export interface PredictionLogTable {
  request_id: string;
  model_name: string;
  version_id: string;
  mode: PredictionMode;
  unit_id: string | null;
  features: Json<Record<string, number | string | null>>;
  prediction: number | null;
  prediction_detail: ColumnType<unknown, string | null | undefined, string | null>;
  predicted_at: Timestamp;
}

/** What happened after predictions (clicks, arrivals): joined to them by request or unit to form natural labels. */
export interface OutcomeEventsTable {
  id: Generated<string>;
  request_id: string | null;
  unit_id: string | null;
  model_name: string;
  event_type: string;
  value: ColumnType<number, number | undefined, number>;
  occurred_at: Timestamp;
}

/** Per-model routing revision, bumped by a trigger on every deployments change (migration 0010). */
export interface RoutingStateTable {
  model_name: string;
  revision: ColumnType<number, number | undefined, number>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** One row per routing change, with why it happened and the evidence (migration 0010). */
export interface RoutingChangesTable {
  id: Generated<number>;
  model_name: string;
  change_key: string;
  kind: string;
  reason: string;
  rollout_id: string | null;
  revision: number;
  detail: Json<Record<string, unknown>>;
  created_at: CreatedAt;
}

export type RolloutStatus = 'running' | 'promoted' | 'rolled_back' | 'aborted' | 'kept_champion' | 'superseded' | 'failed';

/** One row per staged rollout of a candidate (migration 0010). */
export interface RolloutsTable {
  id: string;
  model_name: string;
  candidate_version_id: string;
  champion_version_id: string | null;
  pipeline_run_id: string | null;
  status: RolloutStatus;
  phase: string | null;
  reason: string | null;
  plan: Json<Record<string, unknown>>;
  summary: ColumnType<Record<string, unknown>, string | undefined, string>;
  started_at: ColumnType<Date, Date | string | undefined, Date | string>;
  finished_at: Timestamp | null;
}

/** One monitoring signal of one window (migration 0030): value, threshold, whether it fired. */
export type MonitoringSignalKind = 'feature_drift' | 'projection_drift' | 'drift_share' | 'prediction_drift' | 'label_drift' | 'performance';

export interface MonitoringSignalsTable {
  model_name: string;
  series: string;
  window_start: Timestamp;
  window_end: Timestamp;
  kind: MonitoringSignalKind;
  feature: string;
  slice: string;
  statistic: string;
  value: number | null;
  threshold: number | null;
  fires_when: 'above' | 'below' | 'at_least' | null;
  fired: boolean;
  n_ref: number;
  n_cur: number;
  detail: Json<Record<string, unknown>>;
  computed_at: CreatedAt;
}

/** One value-of-freshness experiment (migration 0040): the metric-vs-staleness curve and its recommendation. */
export interface FreshnessExperimentsTable {
  id: string;
  model_name: string;
  reference_time: Timestamp;
  metric: string;
  tolerance: number;
  train_window_days: number;
  test_days: number;
  curve: Json<Array<Record<string, unknown>>>;
  max_staleness_days: number | null;
  recommended_interval_days: number | null;
  recommendation: string;
  artifact_uri: string;
  report_uri: string;
  created_at: CreatedAt;
}

export interface Database {
  models: ModelsTable;
  model_versions: ModelVersionsTable;
  datasets: DatasetsTable;
  pipeline_runs: PipelineRunsTable;
  evaluations: EvaluationsTable;
  test_sets: TestSetsTable;
  test_set_rows: TestSetRowsTable;
  deployments: DeploymentsTable;
  labelled_examples: LabelledExamplesTable;
  prediction_log: PredictionLogTable;
  outcome_events: OutcomeEventsTable;
  routing_state: RoutingStateTable;
  routing_changes: RoutingChangesTable;
  rollouts: RolloutsTable;
  monitoring_signals: MonitoringSignalsTable;
  freshness_experiments: FreshnessExperimentsTable;
}

export type ModelRow = Selectable<ModelsTable>;
export type ModelVersionRow = Selectable<ModelVersionsTable>;
export type NewModelVersion = Insertable<ModelVersionsTable>;
export type DatasetRow = Selectable<DatasetsTable>;
export type PipelineRunRow = Selectable<PipelineRunsTable>;
export type PipelineRunUpdate = Updateable<PipelineRunsTable>;
export type EvaluationRow = Selectable<EvaluationsTable>;
export type DeploymentRow = Selectable<DeploymentsTable>;
