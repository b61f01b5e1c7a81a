// The "plan" step on real PostgreSQL lineage: a stage-3 model's stateful chain is counted from the
// champion, and a periodic full retrain that was not promoted postpones the next one (stateful
// updates go on for recalibrateEvery more runs) instead of being retried on every run while the
// champion stops updating.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planActivities } from '../../activities/plan';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { applyModelSpec } from '../../lineage/models';
import type { VersionStatus } from '../../lineage/schema';
import { openArtifactStore } from '../../storage/artifact-store';
import { exampleSpec } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

const MODEL = 'chainplan';

describe('planTrainingRun on lineage', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let created = Date.parse('2026-02-01T00:00:00Z');

  beforeAll(async () => {
    database = await createTestDatabase();
    lineage = await openLineageDb({ url: database.url });
    await applyModelSpec(lineage.db, exampleSpec({ name: MODEL, stage: 3, schedule: { every: '1d' }, stateful: { recalibrateEvery: 3 } }));
    await lineage.db
      .insertInto('datasets')
      .values({ id: 'ds-chainplan', model_name: MODEL, window_start: '2026-01-01T00:00:00Z', window_end: '2026-01-31T00:00:00Z', row_count: 10, content_hash: 'h', uri: 'file:///ds', manifest: '{}' })
      .execute();
  });

  afterAll(async () => {
    await lineage?.close();
    await database?.drop();
  });

  /** Registers a version the way the register step would (one pipeline run each), in creation order. */
  async function version(label: string, mode: 'stateless' | 'stateful', parent: string | null, status: VersionStatus): Promise<string> {
    const id = `${MODEL}@${label}`;
    const [major, minor = '0'] = label.slice(1).split('.');
    const at = new Date((created += 3_600_000));
    const runId = `retrain/${MODEL}/${label}`;
    await lineage.db.insertInto('pipeline_runs').values({ id: runId, run_id: 'r', model_name: MODEL, trigger: 'schedule', stage: 3, status: 'succeeded', current_step: 'done', timings: '{}', started_at: at }).execute();
    await lineage.db
      .insertInto('model_versions')
      .values({
        id,
        model_name: MODEL,
        version: label,
        major: Number(major),
        minor: Number(minor),
        parent_version_id: parent,
        training_mode: mode,
        iteration_kind: 'data',
        spec_hash: 's',
        dataset_id: 'ds-chainplan',
        artifact_uri: `file:///${label}.onnx`,
        status,
        metrics: '{}',
        samples_seen: 100,
        high_water_mark: at,
        pipeline_run_id: runId,
        created_at: at,
        architecture_hash: 'arch-a',
      })
      .execute();
    if (status === 'champion') {
      await lineage.db.updateTable('deployments').set({ ended_at: at }).where('model_name', '=', MODEL).where('ended_at', 'is', null).execute();
      await lineage.db.insertInto('deployments').values({ model_name: MODEL, version_id: id, mode: 'champion', traffic_percent: 100, reason: 'test', pipeline_run_id: runId, started_at: at }).execute();
    }
    return id;
  }

  const plan = async () => {
    return planActivities({ db: lineage.db, store: openArtifactStore('file:///tmp/flywheel-plan-unused') }).planTrainingRun({
      pipelineRunId: `retrain/${MODEL}/next-${created}`,
      modelName: MODEL,
      stage: 3,
      architectureHash: 'arch-a',
      recalibrateEvery: 3,
    });
  };

  it('recalibrates after recalibrateEvery updates, and after a rejected recalibration goes on updating the champion', async () => {
    await version('v1', 'stateless', null, 'retired');
    await version('v1.1', 'stateful', `${MODEL}@v1`, 'retired');
    await version('v1.2', 'stateful', `${MODEL}@v1.1`, 'retired');
    await version('v1.3', 'stateful', `${MODEL}@v1.2`, 'champion');
    // Three updates since the full retrain v1: time for the next one.
    expect(await plan()).toMatchObject({ mode: 'stateless', reason: 'periodic recalibration: 3 stateful updates since the last full retrain (stateful.recalibrateEvery = 3)' });

    // The gate rejected that recalibration (v2): the champion is still v1.3, whose chain is still 3.
    await version('v2', 'stateless', `${MODEL}@v1.3`, 'rejected');
    const postponed = await plan();
    expect(postponed).toMatchObject({ mode: 'stateful', parentVersionId: `${MODEL}@v1.3`, dataSince: expect.any(String) });
    expect(postponed.reason).toContain('recalibration postponed: the last full retrain was not promoted; 0 stateful update(s) since, of 3 before the next');

    // Two more updates (one of them rejected by the gate: attempts count) — still stateful.
    await version('v1.4', 'stateful', `${MODEL}@v1.3`, 'champion');
    await version('v1.5', 'stateful', `${MODEL}@v1.4`, 'rejected');
    expect((await plan()).mode).toBe('stateful');
    // The third since the failed recalibration: recalibrate again.
    await version('v1.6', 'stateful', `${MODEL}@v1.4`, 'champion');
    expect(await plan()).toMatchObject({
      mode: 'stateless',
      reason: 'periodic recalibration: 5 stateful updates since the last full retrain (3 since the last one that failed) (stateful.recalibrateEvery = 3)',
    });

    // A promoted full retrain starts a fresh chain: the rejected one no longer matters.
    await version('v3', 'stateless', `${MODEL}@v1.6`, 'champion');
    expect(await plan()).toMatchObject({ mode: 'stateful', parentVersionId: `${MODEL}@v3` });
    expect((await plan()).reason).not.toContain('postponed');
  });
});
