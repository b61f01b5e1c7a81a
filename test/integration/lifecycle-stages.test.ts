// The maturity stages on a real Temporal dev server and PostgreSQL: applying a spec reconciles
// Temporal (stage 2 schedule, stage 4 continual workflow), a schedule fires and produces a version,
// each stage-4 trigger starts exactly one retrain with its reason, simultaneous triggers start one,
// a worker restart during the wait loses no trigger, dependants follow a new upstream champion,
// and dependency cycles are refused.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyModel } from '../../client/apply';
import { startRetrain } from '../../client/retrain';
import { insertLabelledExamples } from '../../lineage/labelled-examples';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { currentChampion } from '../../lineage/models';
import { continualWorkflowIdFor, scheduleIdFor } from '../../schedules/reconcile';
import { generateCtrHistory } from '../../scenarios/ctr-history';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import type { ContinualState } from '../../workflows/continual-state';
import { exampleSpec } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startTestTemporal, startTestWorkers, type RunningWorkers, type TestTemporal } from '../support/temporal';

const HOUR = 3_600_000;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('maturity stages on Temporal', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let store: ArtifactStore;
  let temporal: TestTemporal;
  let workers: RunningWorkers;
  const historyEnd = new Date(Math.floor(Date.now() / HOUR) * HOUR - 2 * HOUR);

  const spec = (name: string, extra: Record<string, unknown> = {}) => exampleSpec({ name, data: { windowDays: 30, validationFraction: 0.2, minRows: 50 }, ...extra });

  async function seedWithChampion(name: string, extra: Record<string, unknown> = {}): Promise<void> {
    await applyModel(temporal.client, lineage.db, spec(name, extra.stage === 4 ? {} : extra));
    await insertLabelledExamples(lineage.db, name, generateCtrHistory({ seed: 11, rows: 1200, end: historyEnd, days: 30 }));
    await (await startRetrain(temporal.client, { model: name, referenceTime: new Date(historyEnd.getTime() + HOUR).toISOString(), idempotencyKey: 'initial' })).result();
  }

  async function retrainsOf(name: string): Promise<Array<{ id: string; trigger: string; status: string }>> {
    return lineage.db.selectFrom('pipeline_runs').select(['id', 'trigger', 'status']).where('model_name', '=', name).where('id', '!=', `retrain/${name}/initial`).orderBy('started_at').execute();
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    lineage = await openLineageDb({ url: database.url });
    store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-stages-'))).toString());
    temporal = await startTestTemporal();
    workers = await startTestWorkers(temporal.server.address, { db: lineage.db, store });
  });

  afterAll(async () => {
    await workers?.stop();
    await temporal?.stop();
    await lineage?.close();
    await database?.drop();
  });

  it('stage 2: apply creates a schedule that fires and produces a version; the same spec twice changes nothing', async () => {
    await insertLabelledExamples(lineage.db, 'sched', generateCtrHistory({ seed: 3, rows: 800, end: new Date(Date.now() - 60_000), days: 20 }));
    const staged = spec('sched', { stage: 2, schedule: { every: '3s' } });
    const first = await applyModel(temporal.client, lineage.db, staged);
    expect(first.temporal.schedule).toBe('created');
    expect((await applyModel(temporal.client, lineage.db, staged)).temporal.schedule).toBe('unchanged');

    const version = await waitFor('a scheduled version', async () => (await currentChampion(lineage.db, 'sched')) ?? null);
    const run = await lineage.db.selectFrom('pipeline_runs').selectAll().where('id', '=', version.pipeline_run_id).executeTakeFirstOrThrow();
    expect(run.trigger).toBe('schedule');
    expect(run.stage).toBe(2);
    expect(run.id).toMatch(/^retrain\/sched\/scheduled-/);

    // Back to stage 1: the schedule goes away.
    expect((await applyModel(temporal.client, lineage.db, spec('sched', { stage: 1 }))).temporal.schedule).toBe('removed');
    await expect(temporal.client.schedule.getHandle(scheduleIdFor('sched')).describe()).rejects.toThrow();
  });

  it('stage 3: warm-started chain v1 → v1.1 → v1.2, recalibration every N, full retrain on model iteration', async () => {
    const trainer = { ...(exampleSpec().trainer as object), epochs: 8 };
    const stage3 = (extra: Record<string, unknown> = {}) => spec('chain', { stage: 3, schedule: { every: '1d' }, stateful: { recalibrateEvery: 2 }, trainer, ...extra });
    await applyModel(temporal.client, lineage.db, stage3());
    const day = 86_400_000;
    const start = historyEnd.getTime() - 40 * day;
    // A steady 400 labelled rows a day, so the validation gate's row-count check sees a normal day.
    await insertLabelledExamples(lineage.db, 'chain', generateCtrHistory({ seed: 41, rows: 30 * 400, end: new Date(start + 30 * day), days: 30 }));
    const runOn = async (dayOffset: number, key: string, extra?: Record<string, unknown>) => {
      if (extra) await applyModel(temporal.client, lineage.db, stage3(extra));
      return (await startRetrain(temporal.client, { model: 'chain', referenceTime: new Date(start + dayOffset * day).toISOString(), idempotencyKey: key })).result();
    };
    const addDay = (dayOffset: number, seed: number) =>
      insertLabelledExamples(lineage.db, 'chain', generateCtrHistory({ seed, rows: 400, end: new Date(start + dayOffset * day), days: 1 }));

    const v1 = await runOn(30, 'day30');
    expect([v1.versionId, v1.trainingMode, v1.parentVersionId]).toEqual(['chain@v1', 'stateless', null]);
    await addDay(31, 42);
    const v11 = await runOn(31, 'day31');
    expect([v11.versionId, v11.trainingMode, v11.parentVersionId]).toEqual(['chain@v1.1', 'stateful', 'chain@v1']);
    // Stateful: only the new day's rows (minus the validation tail), not the 30-day window.
    expect(v11.rows.total).toBeLessThanOrEqual(400);
    await addDay(32, 43);
    const v12 = await runOn(32, 'day32');
    expect([v12.versionId, v12.trainingMode, v12.parentVersionId]).toEqual(['chain@v1.2', 'stateful', 'chain@v1.1']);
    await addDay(33, 44);
    const v2 = await runOn(33, 'day33');
    expect([v2.versionId, v2.trainingMode]).toEqual(['chain@v2', 'stateless']);
    expect(v2.planReason).toContain('periodic recalibration: 2 stateful updates');
    await addDay(34, 45);
    const changed = await runOn(34, 'day34', { features: (exampleSpec().features as object[]).slice(0, 3) });
    expect(changed.trainingMode).toBe('stateless');
    expect(changed.planReason).toContain('model iteration');

    const rows = await lineage.db.selectFrom('model_versions').select(['id', 'parent_version_id', 'training_mode', 'iteration_kind', 'checkpoint_uri']).where('model_name', '=', 'chain').orderBy('created_at').execute();
    expect(rows.map((r) => [r.id, r.parent_version_id, r.training_mode, r.iteration_kind])).toEqual([
      ['chain@v1', null, 'stateless', 'model'],
      ['chain@v1.1', 'chain@v1', 'stateful', 'data'],
      ['chain@v1.2', 'chain@v1.1', 'stateful', 'data'],
      ['chain@v2', 'chain@v1.2', 'stateless', 'data'],
      [changed.versionId, rows[3].id === changed.parentVersionId ? 'chain@v2' : changed.parentVersionId, 'stateless', 'model'],
    ]);
    expect(rows.every((r) => r.checkpoint_uri)).toBe(true);
  });

  it('stage 4 volume trigger: new labelled rows start exactly one retrain with reason "volume"', async () => {
    await seedWithChampion('vol');
    const champion = (await currentChampion(lineage.db, 'vol'))!;
    const hwm = new Date(champion.high_water_mark).getTime();
    await insertLabelledExamples(lineage.db, 'vol', generateCtrHistory({ seed: 21, rows: 150, end: new Date(Date.now() - 60_000), days: (Date.now() - 60_000 - hwm - 1000) / 86_400_000 }));
    const applied = await applyModel(temporal.client, lineage.db, spec('vol', { stage: 4, continual: { checkEvery: '1s', cooldown: '1h', triggers: { volume: { everyRows: 100 } } } }));
    expect(applied.temporal.continual).toBe('started');

    const runs = await waitFor('one triggered retrain to finish', async () => {
      const found = await retrainsOf('vol');
      return found.length && found.every((r) => r.status !== 'running') ? found : null;
    });
    // Several more checks pass; cooldown and the moved high-water mark keep it at one.
    await new Promise((r) => setTimeout(r, 3000));
    const after = await retrainsOf('vol');
    expect(after.map((r) => r.trigger)).toEqual(['volume']);
    expect(runs[0].id).toMatch(/^retrain\/vol\/trigger-/);
    const state = await temporal.client.workflow.getHandle(continualWorkflowIdFor('vol')).query<ContinualState>('continualState');
    expect(state.retrainsStarted).toBe(1);
    const fired = state.lastChecks.find((c) => c.retrainWorkflowId)!;
    expect(fired.signals.find((s) => s.kind === 'volume')).toMatchObject({ fired: true, threshold: 100 });
    expect(fired.signals.find((s) => s.kind === 'volume')!.value).toBeGreaterThanOrEqual(100);
    const described = await temporal.client.workflow.getHandle(runs[0].id).describe();
    expect(described.typedSearchAttributes.get({ name: 'TriggerReason', type: 'KEYWORD' } as never)).toBe('volume');
  });

  it('stage 4: time and performance triggers; two at once start one run naming both', async () => {
    await seedWithChampion('perf');
    await insertLabelledExamples(lineage.db, 'perf', generateCtrHistory({ seed: 31, rows: 300, end: new Date(Date.now() - 60_000), days: 0.05 }));
    // Let the champion age past the time trigger's 1 s, so both triggers fire at the first check.
    await new Promise((r) => setTimeout(r, 1500));
    await applyModel(
      temporal.client,
      lineage.db,
      spec('perf', { stage: 4, continual: { checkEvery: '1s', cooldown: '1h', triggers: { time: { every: '1s' }, performance: { metric: 'auc', bound: 0.99, windowRows: 200 } } } }),
    );
    await waitFor('the triggered retrain', async () => {
      const found = await retrainsOf('perf');
      return found.length && found.every((r) => r.status !== 'running') ? found : null;
    });
    await new Promise((r) => setTimeout(r, 2500));
    expect((await retrainsOf('perf')).map((r) => r.trigger)).toEqual(['performance+time']);
  });

  it('stage 4: a worker restart during the wait loses no trigger', async () => {
    await seedWithChampion('restart');
    await applyModel(temporal.client, lineage.db, spec('restart', { stage: 4, continual: { checkEvery: '1h', cooldown: '1s', triggers: { time: { every: '30d' } } } }));
    const handle = temporal.client.workflow.getHandle(continualWorkflowIdFor('restart'));
    await waitFor('the first check', async () => (await handle.query<ContinualState>('continualState')).checks >= 1);
    await workers.stop();
    await handle.signal('retrainNow', 'test');
    workers = await startTestWorkers(temporal.server.address, { db: lineage.db, store });
    const runs = await waitFor('the manual retrain after the restart', async () => {
      const found = await retrainsOf('restart');
      return found.length && found.every((r) => r.status !== 'running') ? found : null;
    });
    expect(runs.map((r) => r.trigger)).toEqual(['manual']);
  });

  it('dependants follow a new upstream champion, upstream first; cycles are refused at apply', async () => {
    await seedWithChampion('emb');
    await seedWithChampion('ranker', { dependsOn: ['emb'] });
    await seedWithChampion('reranker', { dependsOn: ['ranker', 'emb'] });
    const result = await (await startRetrain(temporal.client, { model: 'emb', referenceTime: new Date(historyEnd.getTime() + HOUR).toISOString(), idempotencyKey: 'upstream' })).result();
    expect(result.decision).toBe('promoted');
    expect(result.dependants.map((d) => d.model)).toEqual(['ranker', 'reranker']);
    expect(result.dependants.every((d) => /@v2 promoted$/.test(d.outcome))).toBe(true);
    expect((await retrainsOf('reranker')).map((r) => r.trigger)).toEqual(['upstream']);

    await expect(applyModel(temporal.client, lineage.db, spec('emb', { dependsOn: ['reranker'] }))).rejects.toThrow(
      /dependsOn: dependency cycle emb → reranker → (ranker → )?emb; remove one of these edges/,
    );
    await expect(applyModel(temporal.client, lineage.db, spec('lonely', { dependsOn: ['ghost'] }))).rejects.toThrow('dependsOn: unknown model(s) ghost');
  });
});
