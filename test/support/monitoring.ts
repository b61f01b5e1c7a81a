// Monitoring fixtures: a CTR model served by the simulator with a champion that knows the
// pre-drift truth (a logistic regression with the simulator's own weights, exported to ONNX), its
// prediction log and natural labels, and a champion training snapshot formed from the labelled
// reference days, registered in lineage the way the retrain DAG would leave it.
import type { Kysely } from 'kysely';
import { encodeDataset, SPLIT_TRAIN, SPLIT_VALIDATION, type DatasetColumns } from '../../datasets/snapshot';
import { applyModelSpec } from '../../lineage/models';
import { computeNaturalLabels } from '../../lineage/natural-labels';
import type { Database } from '../../lineage/schema';
import type { LogisticRegressionModel } from '../../ml/logistic-regression';
import { exportLogisticRegressionToOnnx } from '../../ml/onnx';
import { SIMULATOR_FEATURES, simulateDays, type DriftSpec } from '../../scenarios/simulator';
import type { LabelRule } from '../../spec/data-spec';
import { featureLayout, parseModelSpec } from '../../spec/model-spec';
import type { ArtifactStore } from '../../storage/artifact-store';

export const DAY_MS = 86_400_000;
export const SIM_START = new Date('2026-03-01T00:00:00Z');
export const CLICK_RULE: LabelRule = { kind: 'event_within', eventType: 'click', window: '30m', joinOn: 'request_id' };

/** The champion: the simulator's true click model without the device effect (bias folds in position's centring). */
export const CHAMPION_MODEL: LogisticRegressionModel = {
  kind: 'logistic_regression',
  featureNames: ['ad_relevance', 'user_ctr_7d', 'position', 'hour_sin'],
  mean: [0, 0, 0, 0],
  std: [1, 1, 1, 1],
  weights: [1.2, 0.8, -0.5, 0.3],
  bias: -0.9,
};

/** What the service serves: the champion's probability. */
export function championPredict(features: Record<string, number | string>): number {
  let logit = CHAMPION_MODEL.bias;
  CHAMPION_MODEL.featureNames.forEach((name, j) => (logit += CHAMPION_MODEL.weights[j] * (features[name] as number)));
  return 1 / (1 + Math.exp(-logit));
}

export function monitoredSpec(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    task: 'binary_classification',
    features: SIMULATOR_FEATURES.ctr.map((f) => ({ name: f.name, type: f.type })),
    labels: CLICK_RULE,
    evaluation: { slices: { features: ['device'] } },
    ...extra,
  };
}

export interface Scenario {
  name: string;
  /** Days simulated, reference days included. */
  days: number;
  /** The first referenceDays days form the champion's training snapshot. */
  referenceDays: number;
  rowsPerDay: number;
  seed: number;
  drift?: DriftSpec[];
  specExtra?: Record<string, unknown>;
}

/** The end of simulated day d (the window of day d ends here). */
export function dayEnd(day: number): Date {
  return new Date(SIM_START.getTime() + (day + 1) * DAY_MS);
}

/**
 * Applies the spec, simulates every day into the prediction log (outcomes included), computes the
 * natural labels as of the end, and installs the champion: its ONNX model and a training snapshot
 * of the labelled reference days (validation = the latest 20%), as datasets / model_versions /
 * deployments rows.
 */
export async function seedScenario(db: Kysely<Database>, store: ArtifactStore, scenario: Scenario): Promise<void> {
  const spec = parseModelSpec(monitoredSpec(scenario.name, scenario.specExtra));
  await applyModelSpec(db, spec);
  await simulateDays(db, {
    task: 'ctr',
    modelName: scenario.name,
    versionId: `${scenario.name}@v1`,
    start: SIM_START,
    days: scenario.days,
    rowsPerDay: scenario.rowsPerDay,
    seed: scenario.seed,
    drift: scenario.drift,
    predict: championPredict,
    flushOutcomes: true,
  });
  const end = dayEnd(scenario.days - 1);
  await computeNaturalLabels(db, { modelName: scenario.name, rule: CLICK_RULE, referenceTime: end, from: SIM_START });
  await installChampion(db, store, scenario.name, dayEnd(scenario.referenceDays - 1));
}

/** Registers a champion trained on the model's labelled rows known before `referenceEnd`. */
export async function installChampion(db: Kysely<Database>, store: ArtifactStore, name: string, referenceEnd: Date): Promise<{ versionId: string; datasetId: string }> {
  const spec = parseModelSpec((await db.selectFrom('models').select('spec').where('name', '=', name).executeTakeFirstOrThrow()).spec);
  const layout = featureLayout(spec.features);
  const rows = await db
    .selectFrom('labelled_examples')
    .select(['event_time', 'entity_id', 'features', 'label'])
    .where('model_name', '=', name)
    .where('event_time', '<', referenceEnd)
    // Point in time: only labels known by the reference end (imported history has no availability time).
    .where((eb) => eb.or([eb('label_available_at', 'is', null), eb('label_available_at', '<=', referenceEnd)]))
    .orderBy('event_time')
    .orderBy('id')
    .execute();
  const n = rows.length;
  const cut = Math.floor(n * 0.8);
  const columns: DatasetColumns = {
    eventTimeMs: Float64Array.from(rows, (r) => new Date(r.event_time).getTime()),
    entityIds: rows.map((r) => r.entity_id),
    features: Object.fromEntries(layout.numeric.map((f) => [f, Float64Array.from(rows, (r) => Number(r.features[f]))])),
    categorical: Object.fromEntries(layout.categorical.map((f) => [f, rows.map((r) => String(r.features[f]))])),
    labels: Float64Array.from(rows, (r) => r.label),
    split: Int8Array.from(rows, (_, i) => (i < cut ? SPLIT_TRAIN : SPLIT_VALIDATION)),
  };
  const datasetUri = await store.put(`datasets/${name}/reference/data.arrow`, encodeDataset(columns, layout));
  const modelUri = await store.put(`models/${name}/v1/model.onnx`, exportLogisticRegressionToOnnx(CHAMPION_MODEL));
  const runId = `retrain/${name}/fixture`;
  const datasetId = `ds-${name}-reference`;
  const versionId = `${name}@v1`;
  await db.insertInto('pipeline_runs').values({ id: runId, run_id: 'fixture', model_name: name, trigger: 'manual', stage: 1, status: 'succeeded', current_step: 'done', timings: '{}', started_at: referenceEnd }).execute();
  await db
    .insertInto('datasets')
    .values({ id: datasetId, model_name: name, window_start: SIM_START, window_end: referenceEnd, row_count: n, content_hash: `fixture-${name}`, uri: datasetUri, manifest: '{}' })
    .execute();
  await db
    .insertInto('model_versions')
    .values({
      id: versionId,
      model_name: name,
      version: 'v1',
      major: 1,
      minor: 0,
      parent_version_id: null,
      training_mode: 'stateless',
      iteration_kind: 'model',
      spec_hash: 'fixture',
      dataset_id: datasetId,
      artifact_uri: modelUri,
      status: 'champion',
      metrics: '{}',
      samples_seen: n,
      high_water_mark: referenceEnd,
      pipeline_run_id: runId,
    })
    .execute();
  await db.insertInto('deployments').values({ model_name: name, version_id: versionId, mode: 'champion', traffic_percent: 100, reason: 'fixture champion', pipeline_run_id: runId, started_at: referenceEnd, ended_at: null }).execute();
  return { versionId, datasetId };
}
