// The stage-4 drift and performance triggers through activities/triggers.ts evaluateTriggers on a
// real PostgreSQL: drift quiet on the champion's own distribution, fired with the drifted feature
// named once the latest windowRows served rows have shifted, measured on labelled history when the
// model logs no predictions, a clear "did not fire" when there is no champion to compare with, and
// judged under the spec's monitoring.drift policy (which `flywheel monitor` uses too). Each check
// stores its window's signals in monitoring_signals (a repeated check replaces them). The
// performance trigger scores a champion with a categorical input and watches an error metric
// (rmse: fires above its bound).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monitoringActivities, triggerSeriesName } from '../../activities/monitoring';
import { triggerActivities } from '../../activities/triggers';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { insertLabelledExamples } from '../../lineage/labelled-examples';
import { applyModelSpec } from '../../lineage/models';
import { exportTabularToOnnx } from '../../ml/onnx/tabular';
import { createRng } from '../../ml/random';
import type { TabularModel } from '../../ml/tabular/model';
import { generateDay } from '../../scenarios/simulator';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { dayEnd, installChampion, monitoredSpec, seedScenario, SIM_START } from '../support/monitoring';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

const ONSET = 8;
const stage4 = (rule: Record<string, unknown>) => ({ stage: 4, continual: { checkEvery: '5m', triggers: { drift: rule } } });

let database: TestDatabase;
let lineage: LineageDb;
let store: ArtifactStore;
let triggers: ReturnType<typeof triggerActivities>;

beforeAll(async () => {
  database = await createTestDatabase();
  lineage = await openLineageDb({ url: database.url });
  store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-drift-trigger-'))).toString());
  triggers = triggerActivities({ db: lineage.db, store });
});

afterAll(async () => {
  await lineage?.close();
  await database?.drop();
});

describe('drift trigger', () => {
  it('stays quiet before the shift and fires on the latest served rows after it, naming the feature', async () => {
    await seedScenario(lineage.db, store, {
      name: 'trig',
      days: ONSET + 1,
      referenceDays: 5,
      rowsPerDay: 2000,
      seed: 3,
      drift: [{ kind: 'covariate', feature: 'ad_relevance', shift: 0.6, profile: { shape: 'sudden', atDay: ONSET } }],
      // A window of a whole day's traffic: shorter ones see a different time of day (hour_sin) than the reference.
      specExtra: stage4({ shareDrifted: 0.2, windowRows: 2000 }),
    });
    const before = await triggers.evaluateTriggers({ modelName: 'trig', nowIso: dayEnd(ONSET - 1).toISOString() });
    const quiet = before.signals.find((s) => s.kind === 'drift')!;
    expect(quiet).toMatchObject({ kind: 'drift', fired: false, value: 0, threshold: 0.2 });
    expect(quiet.detail).toContain('the latest 2000 served rows of the prediction log vs trig@v1');

    const after = await triggers.evaluateTriggers({ modelName: 'trig', nowIso: dayEnd(ONSET).toISOString() });
    const drift = after.signals.find((s) => s.kind === 'drift')!;
    expect(drift).toMatchObject({ kind: 'drift', fired: true, value: 0.2, threshold: 0.2 });
    expect(drift.detail).toMatch(/^1 of 5 features drifted \(20\.0%, fires at >= 20\.0%\): ad_relevance \(wasserstein 0\.\d+ > 0\.1\)/);

    // Each check stored its window: per-feature drift and the share, with value, threshold, fired.
    const series = triggerSeriesName('drift', 'rows:2000');
    const stored = () => lineage.db.selectFrom('monitoring_signals').selectAll().where('model_name', '=', 'trig').where('series', '=', series).orderBy('window_end').execute();
    const rows = await stored();
    expect(new Set(rows.map((r) => r.window_end.toISOString()))).toEqual(new Set([dayEnd(ONSET - 1).toISOString(), dayEnd(ONSET).toISOString()]));
    const atOnset = rows.filter((r) => r.window_end.getTime() === dayEnd(ONSET).getTime());
    expect(atOnset).toHaveLength(6);
    expect(atOnset.find((r) => r.kind === 'feature_drift' && r.feature === 'ad_relevance')).toMatchObject({ statistic: 'wasserstein', threshold: 0.1, fires_when: 'above', fired: true, n_cur: 2000 });
    expect(atOnset.find((r) => r.kind === 'feature_drift' && r.feature === 'ad_relevance')!.value!).toBeGreaterThan(0.3);
    expect(atOnset.find((r) => r.kind === 'feature_drift' && r.feature === 'device')).toMatchObject({ statistic: 'js', fired: false });
    expect(atOnset.find((r) => r.kind === 'drift_share')).toMatchObject({ value: 0.2, threshold: 0.2, fires_when: 'at_least', fired: true });
    // A retried check (same workflow time) replaces its window's rows.
    await triggers.evaluateTriggers({ modelName: 'trig', nowIso: dayEnd(ONSET).toISOString() });
    expect(await stored()).toHaveLength(rows.length);
  });

  it("judges drift under the spec's monitoring.drift policy: a raised threshold keeps the trigger and the monitor quiet", async () => {
    // The same data and shift as above; ad_relevance may move by up to one standard deviation.
    const policy = { features: { ad_relevance: { thresholds: { wasserstein: 1 } } } };
    await seedScenario(lineage.db, store, {
      name: 'trig-policy',
      days: ONSET + 1,
      referenceDays: 5,
      rowsPerDay: 2000,
      seed: 3,
      drift: [{ kind: 'covariate', feature: 'ad_relevance', shift: 0.6, profile: { shape: 'sudden', atDay: ONSET } }],
      specExtra: { ...stage4({ shareDrifted: 0.2, windowRows: 2000 }), monitoring: { drift: policy, window: '2000' } },
    });
    const nowIso = dayEnd(ONSET).toISOString();
    const drift = (await triggers.evaluateTriggers({ modelName: 'trig-policy', nowIso })).signals.find((s) => s.kind === 'drift')!;
    expect(drift).toMatchObject({ fired: false, value: 0, threshold: 0.2 });
    expect(drift.detail).toContain("policy: the spec's monitoring.drift");
    const stored = await lineage.db
      .selectFrom('monitoring_signals')
      .selectAll()
      .where('model_name', '=', 'trig-policy')
      .where('series', '=', triggerSeriesName('drift', 'rows:2000'))
      .where('kind', '=', 'feature_drift')
      .where('feature', '=', 'ad_relevance')
      .executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ statistic: 'wasserstein', threshold: 1, fired: false });
    expect(stored.value!).toBeGreaterThan(0.3);

    // `flywheel monitor` (computeMonitoring) uses the spec's policy and window; a request's policy (--policy) replaces it.
    const monitoring = monitoringActivities({ db: lineage.db, store });
    const withSpec = await monitoring.computeMonitoring({ modelName: 'trig-policy', nowIso, report: false });
    expect(withSpec.series).toBe('ref=training;window=rows:2000');
    expect(withSpec.policySource).toBe('spec');
    expect(withSpec.driftedFeatures).toEqual([]);
    const withRequest = await monitoring.computeMonitoring({ modelName: 'trig-policy', nowIso, window: { rows: 2000 }, report: false, policy: {} });
    expect(withRequest.policySource).toBe('request');
    expect(withRequest.driftedFeatures).toEqual(['ad_relevance']);
    // A request policy must fit the model: an unknown feature or a method of the wrong kind is refused, naming the entry.
    await expect(monitoring.computeMonitoring({ modelName: 'trig-policy', nowIso, window: { rows: 2000 }, policy: { features: { ad_relevanse: { thresholds: { wasserstein: 1 } } } } })).rejects.toThrow(
      /invalid drift policy: features\.ad_relevanse: no feature "ad_relevanse" in the model/,
    );
    await expect(monitoring.computeMonitoring({ modelName: 'trig-policy', nowIso, window: { rows: 2000 }, policy: { features: { device: { method: 'wasserstein' } } } })).rejects.toThrow(
      /features\.device\.method: "device" is categorical: use one of js, chi2, linf, psi/,
    );
  });

  it('falls back to the latest labelled rows when the model logs no predictions', async () => {
    const name = 'trig-labelled';
    await applyModelSpec(lineage.db, monitoredSpec(name, stage4({ shareDrifted: 0.4, windowRows: 800 })));
    const history = (days: number[], shift: number) =>
      days.flatMap((day) =>
        generateDay({ task: 'ctr', modelName: name, start: SIM_START, days: 1, rowsPerDay: 800, seed: 9 }, day).predictions.map((p, i) => ({
          entityId: `e-${day}-${i}`,
          eventTime: new Date(p.predictedAt),
          features: { ...(p.features as Record<string, number | string>), ad_relevance: (p.features.ad_relevance as number) + shift, user_ctr_7d: (p.features.user_ctr_7d as number) + shift },
          label: i % 9 === 0 ? 1 : 0,
        })),
      );
    await insertLabelledExamples(lineage.db, name, history([0, 1, 2, 3], 0));
    await installChampion(lineage.db, store, name, dayEnd(3));
    await insertLabelledExamples(lineage.db, name, history([4], 0.8));
    const check = await triggers.evaluateTriggers({ modelName: name, nowIso: dayEnd(4).toISOString() });
    const drift = check.signals.find((s) => s.kind === 'drift')!;
    expect(drift).toMatchObject({ fired: true, value: 0.4, threshold: 0.4 });
    expect(drift.detail).toContain('ad_relevance (ks');
    expect(drift.detail).toContain('user_ctr_7d (ks');
    expect(drift.detail).toContain('the latest 800 labelled rows (the model logs no predictions)');
  });

  it('does not fire, and says why, without a champion or with too few rows', async () => {
    await applyModelSpec(lineage.db, monitoredSpec('untrained', stage4({ shareDrifted: 0.25, windowRows: 200 })));
    const none = (await triggers.evaluateTriggers({ modelName: 'untrained', nowIso: dayEnd(1).toISOString() })).signals.find((s) => s.kind === 'drift')!;
    expect(none).toMatchObject({ fired: false, value: null, threshold: 0.25 });
    expect(none.detail).toContain('has no champion yet');

    const early = (await triggers.evaluateTriggers({ modelName: 'trig', nowIso: new Date(SIM_START.getTime() + 60_000).toISOString() })).signals.find((s) => s.kind === 'drift')!;
    expect(early).toMatchObject({ fired: false, value: null });
    expect(early.detail).toMatch(/^only \d+ served rows of the prediction log before .* \(a drift check needs 50\)$/);
  });
});

describe('performance trigger', () => {
  const T0 = new Date('2026-05-01T00:00:00Z');
  const HOUR = 3_600_000;
  const DEVICES = ['a', 'b'];
  /** y = 2x + 1 on device a, 2x - 1 on device b: a champion blind to the device would be off by 1 everywhere. */
  const champion: TabularModel = {
    kind: 'mlp',
    task: 'regression',
    numericFeatures: ['x'],
    categorical: [{ name: 'device', vocabulary: DEVICES }],
    standardization: { mean: [0], std: [1] },
    hiddenActivation: 'relu',
    layers: [{ inputs: 3, outputs: 1, weights: [2, 1, -1], bias: [0] }],
    target: { mean: 0, std: 1 },
  };

  function rows(seed: number, n: number, from: Date, slope: number) {
    const rng = createRng(seed);
    return Array.from({ length: n }, (_, i) => {
      const x = rng.normal();
      const device = DEVICES[i % 2];
      return { entityId: `e${seed}-${i}`, eventTime: new Date(from.getTime() + i * 1000), features: { x, device }, label: slope * x + (device === 'a' ? 1 : -1) + 0.1 * rng.normal() };
    });
  }

  /** Registers `model` as the champion of `name`, trained on data up to T0 (its high-water mark). */
  async function registerChampion(name: string, model: TabularModel): Promise<void> {
    const uri = await store.put(`models/${name}/v1/model.onnx`, exportTabularToOnnx(model));
    const runId = `retrain/${name}/fixture`;
    await lineage.db.insertInto('pipeline_runs').values({ id: runId, run_id: 'fixture', model_name: name, trigger: 'manual', stage: 1, status: 'succeeded', current_step: 'done', timings: '{}', started_at: T0 }).execute();
    await lineage.db.insertInto('datasets').values({ id: `ds-${name}`, model_name: name, window_start: new Date(T0.getTime() - 86_400_000), window_end: T0, row_count: 1000, content_hash: `fixture-${name}`, uri: `${uri}.unused`, manifest: '{}' }).execute();
    await lineage.db
      .insertInto('model_versions')
      .values({ id: `${name}@v1`, model_name: name, version: 'v1', major: 1, minor: 0, parent_version_id: null, training_mode: 'stateless', iteration_kind: 'model', spec_hash: 'fixture', dataset_id: `ds-${name}`, artifact_uri: uri, status: 'champion', metrics: '{}', samples_seen: 1000, high_water_mark: T0, pipeline_run_id: runId })
      .execute();
    await lineage.db.insertInto('deployments').values({ model_name: name, version_id: `${name}@v1`, mode: 'champion', traffic_percent: 100, reason: 'fixture champion', pipeline_run_id: runId, started_at: T0, ended_at: null }).execute();
  }

  it('scores a champion with a categorical input; rmse fires above its bound, and each check is stored', async () => {
    const name = 'perf-reg';
    await applyModelSpec(lineage.db, {
      name,
      task: 'regression',
      trainer: { type: 'mlp', hiddenLayers: [] },
      features: [{ name: 'x' }, { name: 'device', type: 'categorical' }],
      stage: 4,
      continual: { checkEvery: '5m', triggers: { performance: { metric: 'rmse', bound: 0.5, windowRows: 200 } } },
    });
    await registerChampion(name, champion);
    const t1 = new Date(T0.getTime() + HOUR);
    // Too few rows after the high-water mark: nothing to judge, nothing stored.
    await insertLabelledExamples(lineage.db, name, rows(1, 30, new Date(T0.getTime() + 1000), 2));
    const early = (await triggers.evaluateTriggers({ modelName: name, nowIso: t1.toISOString() })).signals.find((s) => s.kind === 'performance')!;
    expect(early).toMatchObject({ fired: false, value: null, threshold: 0.5 });
    expect(early.detail).toContain('not enough labelled rows to score the champion (30; the trigger needs 50)');

    // The champion's own relation (it needs the device to get it right): rmse ~ 0.1, below the bound.
    await insertLabelledExamples(lineage.db, name, rows(2, 300, new Date(T0.getTime() + 60_000), 2));
    const quiet = (await triggers.evaluateTriggers({ modelName: name, nowIso: t1.toISOString() })).signals.find((s) => s.kind === 'performance')!;
    expect(quiet).toMatchObject({ kind: 'performance', fired: false, threshold: 0.5 });
    expect(quiet.value!).toBeLessThan(0.2);

    // The slope flips: rmse far above the bound fires (an error metric fires above, not below).
    const t2 = new Date(t1.getTime() + HOUR);
    await insertLabelledExamples(lineage.db, name, rows(3, 300, new Date(t1.getTime() + 1000), -2));
    const fired = (await triggers.evaluateTriggers({ modelName: name, nowIso: t2.toISOString() })).signals.find((s) => s.kind === 'performance')!;
    expect(fired).toMatchObject({ kind: 'performance', fired: true, threshold: 0.5 });
    expect(fired.value!).toBeGreaterThan(1);
    expect(fired.detail).toMatch(/^rmse \d+\.\d{4} on 200 labelled rows \(max 0\.5000\); the champion perf-reg@v1 on the latest 200 labelled rows after its high-water mark$/);

    const stored = await lineage.db
      .selectFrom('monitoring_signals')
      .selectAll()
      .where('model_name', '=', name)
      .where('series', '=', triggerSeriesName('performance', 'labelled-rows:200'))
      .orderBy('window_end')
      .orderBy('statistic')
      .execute();
    expect(stored.map((r) => [r.window_end.toISOString(), r.statistic, r.threshold, r.fires_when, r.fired])).toEqual([
      [t1.toISOString(), 'mae', null, null, false],
      [t1.toISOString(), 'rmse', 0.5, 'above', false],
      [t2.toISOString(), 'mae', null, null, false],
      [t2.toISOString(), 'rmse', 0.5, 'above', true],
    ]);
    expect(stored[3].value).toBeCloseTo(fired.value!, 10);
    expect(stored[3].n_cur).toBe(200);
  });
});
