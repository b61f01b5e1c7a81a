// The data steps inside the real DAG: logged predictions and outcomes (the simulator acting as the
// application) become natural labels and a trained version; a bad window stops the run at the
// validation gate, before training, with each failed check named and the champion untouched.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyModel } from '../../client/apply';
import { describeError } from '../../client/errors';
import { startRetrain } from '../../client/retrain';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { insertLabelledExamples } from '../../lineage/labelled-examples';
import { currentChampion } from '../../lineage/models';
import { SIMULATOR_FEATURES, simulateDays } from '../../scenarios/simulator';
import { openArtifactStore } from '../../storage/artifact-store';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startTestTemporal, startTestWorkers, type RunningWorkers, type TestTemporal } from '../support/temporal';

describe('data steps in the retrain DAG', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let temporal: TestTemporal;
  let workers: RunningWorkers;
  const start = new Date('2026-02-01T00:00:00Z');
  const reference = new Date('2026-02-08T00:00:00Z');
  const spec = {
    name: 'sim',
    features: SIMULATOR_FEATURES.ctr,
    labels: { kind: 'event_within', eventType: 'click', window: '30m' },
    data: { windowDays: 14, minRows: 500 },
    trainer: { type: 'logistic_regression', epochs: 20, learningRate: 0.05 },
    evaluation: { floors: { auc: 0.6 } },
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    lineage = await openLineageDb({ url: database.url });
    const store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-data-loop-'))).toString());
    temporal = await startTestTemporal();
    workers = await startTestWorkers(temporal.server.address, { db: lineage.db, store });
    await applyModel(temporal.client, lineage.db, spec);
    await simulateDays(lineage.db, { task: 'ctr', modelName: 'sim', start, days: 7, rowsPerDay: 1500, seed: 3 });
  });

  afterAll(async () => {
    await workers?.stop();
    await temporal?.stop();
    await lineage?.close();
    await database?.drop();
  });

  it('labels the logged predictions and trains a champion on them', async () => {
    const result = await (await startRetrain(temporal.client, { model: 'sim', referenceTime: reference.toISOString(), idempotencyKey: 'labels' })).result();
    expect(result.decision).toBe('promoted');
    const labelled = await lineage.db.selectFrom('labelled_examples').select((eb) => eb.fn.countAll<number>().as('n')).where('model_name', '=', 'sim').executeTakeFirstOrThrow();
    // 7 days × 1,500 predictions; the last half hour's are still pending (their window is open).
    expect(Number(labelled.n)).toBeGreaterThan(10_400);
    expect(Number(labelled.n)).toBeLessThan(10_500);
    expect(result.rows.total).toBeGreaterThan(8_000);
    expect(result.metrics.auc).toBeGreaterThan(0.6);
  });

  it('stops at the validation gate before training when a window is broken, champion untouched', async () => {
    const champion = (await currentChampion(lineage.db, 'sim'))!.id;
    // A broken upstream job: a day of rows with ad_relevance missing in 40% of them and an out-of-range position.
    const broken = Array.from({ length: 3000 }, (_, i) => ({
      entityId: `u${i}`,
      eventTime: new Date(reference.getTime() + 60_000 + i * 20_000),
      features: { ...(i % 5 < 2 ? {} : { ad_relevance: 0.1 }), user_ctr_7d: 0.2, position: 400, hour_sin: 0.1, device: 'mobile' } as Record<string, number | string>,
      label: i % 7 === 0 ? 1 : 0,
    }));
    await insertLabelledExamples(lineage.db, 'sim', broken);
    await applyModel(temporal.client, lineage.db, { ...spec, data: { ...spec.data, windowDays: 1 } });
    const handle = await startRetrain(temporal.client, { model: 'sim', referenceTime: new Date(reference.getTime() + 86_400_000).toISOString(), idempotencyKey: 'broken' });
    const failure = await handle.result().then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).not.toBeNull();
    const message = describeError(failure);
    expect(message).toContain('[DataValidationFailed]');
    expect(message).toMatch(/null_rate: feature "ad_relevance" is missing in 40\.0% of rows \(1200 of 3000\), above data\.validation\.maxNullRate 5\.0%/);
    expect(message).toMatch(/numeric_range: feature "position" has 100\.0% of values outside the reference range/);
    const run = await lineage.db.selectFrom('pipeline_runs').select(['status', 'current_step']).where('id', '=', 'retrain/sim/broken').executeTakeFirstOrThrow();
    expect(run).toEqual({ status: 'failed', current_step: 'validate' });
    expect((await currentChampion(lineage.db, 'sim'))?.id).toBe(champion);
    const versions = await lineage.db.selectFrom('model_versions').select('id').where('model_name', '=', 'sim').execute();
    expect(versions).toHaveLength(1);
  });
});
