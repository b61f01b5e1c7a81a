// The maturity stages on a real Temporal dev server and PostgreSQL: applying a spec reconciles
// Temporal (stage 2 schedule, stage 4 continual workflow), a schedule fires and produces a version,
// moving between stages is one apply (2 → 4 → 3, a quick 4 → 3 → 4), an apply that Temporal or
// lineage refuses changes nothing, each stage-4 trigger starts exactly one retrain with its reason,
// simultaneous triggers start one, a worker restart during the wait loses no trigger, dependants
// follow a new upstream champion (once, after a stage-4 model between them promotes), and
// dependency cycles are refused.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client, Connection, ScheduleNotFoundError } from '@temporalio/client';
import { sql } from 'kysely';
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
      // The model iteration is a new major version, recorded as replacing the champion it retrained from scratch.
      ['chain@v3', 'chain@v2', 'stateless', 'model'],
    ]);
    expect([changed.versionId, changed.parentVersionId]).toEqual(['chain@v3', 'chain@v2']);
    expect(rows.every((r) => r.checkpoint_uri)).toBe(true);
  });

  /** A stage-4 section whose triggers stay quiet (no retrain starts by itself). */
  const QUIET = { checkEvery: '1h', triggers: { volume: { everyRows: 1_000_000 }, upstream: false } };

  it('moving between stages is one apply: 2 → 4 → 3 and a quick 4 → 3 → 4; re-applying changes nothing', async () => {
    const name = 'mover';
    const s2 = spec(name, { stage: 2, schedule: { every: '1d' } });
    const s3 = spec(name, { stage: 3, schedule: { every: '12h' } });
    const s4 = spec(name, { stage: 4, continual: QUIET });
    const apply = (input: Record<string, unknown>) => applyModel(temporal.client, lineage.db, input);
    const schedule = () => temporal.client.schedule.getHandle(scheduleIdFor(name)).describe();
    const continual = () => temporal.client.workflow.getHandle(continualWorkflowIdFor(name));
    const storedStage = async () => (await lineage.db.selectFrom('models').select('stage').where('name', '=', name).executeTakeFirstOrThrow()).stage;
    const checksOf = async (runId: string) => (await temporal.client.workflow.getHandle(continualWorkflowIdFor(name), runId).query<ContinualState>('continualState')).checks;

    expect((await apply(s2)).temporal).toMatchObject({ schedule: 'created', continual: 'none' });

    // 2 → 4: the schedule goes, the continual workflow starts, and its first check (which reads
    // the stored stage) finds stage 4 and keeps it running.
    const to4 = await apply(s4);
    expect([to4.outcome, to4.temporal.schedule, to4.temporal.continual]).toEqual(['updated', 'removed', 'started']);
    await expect(schedule()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expect(await storedStage()).toBe(4);
    const first = await continual().describe();
    expect(first.status.name).toBe('RUNNING');
    await waitFor('the first check of continual/mover', async () => (await checksOf(first.runId)) >= 1);
    expect((await continual().describe()).status.name).toBe('RUNNING');
    const again4 = await apply(s4);
    expect([again4.outcome, again4.temporal.schedule, again4.temporal.continual]).toEqual(['unchanged', 'none', 'running']);
    expect((await continual().describe()).runId).toBe(first.runId);

    // 4 → 3: the continual workflow is stopped at once (not left RUNNING), the schedule created.
    const to3 = await apply(s3);
    expect([to3.outcome, to3.temporal.schedule, to3.temporal.continual]).toEqual(['updated', 'created', 'stopped']);
    expect((await continual().describe()).status.name).not.toBe('RUNNING');
    expect((await schedule()).spec.intervals?.map((i) => i.every)).toEqual([12 * HOUR]);
    expect(await storedStage()).toBe(3);
    const again3 = await apply(s3);
    expect([again3.outcome, again3.temporal.schedule, again3.temporal.continual]).toEqual(['unchanged', 'unchanged', 'none']);

    // A quick 3 → 4 → 3 → 4, back to back: it ends at stage 4 with one continual workflow running.
    expect((await apply(s4)).temporal.continual).toBe('started');
    expect((await apply(s3)).temporal).toMatchObject({ schedule: 'created', continual: 'stopped' });
    const last = await apply(s4);
    expect([last.temporal.schedule, last.temporal.continual]).toEqual(['removed', 'started']);
    const final = await continual().describe();
    expect(final.status.name).toBe('RUNNING');
    expect(final.runId).not.toBe(first.runId);
    await waitFor('the first check of the last continual run', async () => (await checksOf(final.runId)) >= 1);
    await new Promise((r) => setTimeout(r, 1000));
    const still = await continual().describe();
    expect([still.runId, still.status.name]).toEqual([final.runId, 'RUNNING']);
    await expect(schedule()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expect(await storedStage()).toBe(4);
    // Back to stage 1 to leave no workflow running for the tests after this one.
    expect((await apply(spec(name, { stage: 1 }))).temporal).toMatchObject({ schedule: 'none', continual: 'stopped' });
  });

  it('an apply that Temporal or lineage refuses changes nothing: the stored spec and the schedule stay as they were', async () => {
    const name = 'atomic';
    const handle = temporal.client.schedule.getHandle(scheduleIdFor(name));
    const row = () => lineage.db.selectFrom('models').selectAll().where('name', '=', name).executeTakeFirstOrThrow();
    const scheduleState = async () => {
      const d = await handle.describe();
      if (d.action.type !== 'startWorkflow') throw new Error(`unexpected schedule action ${d.action.type}`);
      const { workflowType, workflowId, args, memo, searchAttributes, staticSummary } = d.action;
      return { createdAt: d.info.createdAt, spec: d.spec, policies: d.policies, state: d.state, action: { workflowType, workflowId, args, memo, searchAttributes, staticSummary } };
    };
    await applyModel(temporal.client, lineage.db, spec(name, { stage: 2, schedule: { every: '1d' } }));
    const rowBefore = await row();
    const scheduleBefore = await scheduleState();

    // Temporal refuses every call: a client whose connection is closed.
    const connection = await Connection.connect({ address: temporal.server.address });
    const closed = new Client({ connection, namespace: temporal.server.namespace });
    await connection.close();
    for (const next of [spec(name, { stage: 2, schedule: { every: '6h' } }), spec(name, { stage: 4, continual: QUIET }), spec(name, { stage: 1 })]) {
      await expect(applyModel(closed, lineage.db, next)).rejects.toThrow();
      expect(await row()).toEqual(rowBefore);
      expect(await scheduleState()).toEqual(scheduleBefore);
    }
    await expect(temporal.client.workflow.getHandle(continualWorkflowIdFor(name)).describe()).rejects.toThrow();

    // Lineage refuses the write after the schedule was updated in place (a real CHECK constraint):
    // the update is undone.
    await sql`alter table models add constraint atomic_test_no_stage_3 check (name <> 'atomic' or stage <> 3)`.execute(lineage.db);
    try {
      await expect(applyModel(temporal.client, lineage.db, spec(name, { stage: 3, schedule: { every: '6h' } }))).rejects.toThrow(/atomic_test_no_stage_3/);
      expect(await row()).toEqual(rowBefore);
      expect(await scheduleState()).toEqual(scheduleBefore);
    } finally {
      await sql`alter table models drop constraint atomic_test_no_stage_3`.execute(lineage.db);
    }

    // The same change accepted: the schedule is updated in place (the same schedule, created at the same time).
    const updated = await applyModel(temporal.client, lineage.db, spec(name, { stage: 2, schedule: { every: '6h' } }));
    expect([updated.outcome, updated.temporal.schedule]).toEqual(['updated', 'updated']);
    const after = await scheduleState();
    expect(after.createdAt).toEqual(scheduleBefore.createdAt);
    expect(after.spec.intervals?.map((i) => i.every)).toEqual([6 * HOUR]);
    expect((await applyModel(temporal.client, lineage.db, spec(name, { stage: 2, schedule: { every: '6h' } }))).temporal.schedule).toBe('unchanged');
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

  it('a dependant below a stage-4 dependant retrains once, after that model’s new champion', async () => {
    // mix-a → mix-b (stage 4, signalled) → mix-c (stage 1).
    await seedWithChampion('mix-a');
    // Its stateful update trains on a few hours of rows at a far higher rate than the seeded history:
    // let the row-count check pass.
    const bData = { windowDays: 30, validationFraction: 0.2, minRows: 50, validation: { maxRowCountRatio: 1000 } };
    await seedWithChampion('mix-b', { dependsOn: ['mix-a'], data: bData });
    await seedWithChampion('mix-c', { dependsOn: ['mix-b'] });
    // Fresh rows after mix-b's high-water mark, for its stateful update.
    const hwm = new Date((await currentChampion(lineage.db, 'mix-b'))!.high_water_mark).getTime();
    await insertLabelledExamples(lineage.db, 'mix-b', generateCtrHistory({ seed: 23, rows: 300, end: new Date(Date.now() - 60_000), days: (Date.now() - 60_000 - hwm - 1000) / 86_400_000 }));
    await applyModel(temporal.client, lineage.db, spec('mix-b', { stage: 4, dependsOn: ['mix-a'], data: bData, continual: { checkEvery: '1h', cooldown: '1s', triggers: { upstream: true } } }));
    const continualB = temporal.client.workflow.getHandle(continualWorkflowIdFor('mix-b'));
    await waitFor('the first check of continual/mix-b', async () => (await continualB.query<ContinualState>('continualState')).checks >= 1);

    const result = await (await startRetrain(temporal.client, { model: 'mix-a', referenceTime: new Date(historyEnd.getTime() + HOUR).toISOString(), idempotencyKey: 'mixed' })).result();
    expect([result.versionId, result.decision]).toEqual(['mix-a@v2', 'promoted']);
    // mix-c is left to mix-b's cascade rather than retrained against mix-b's old champion.
    expect(result.dependants).toEqual([{ model: 'mix-b', outcome: 'signalled continual workflow' }]);

    const bRuns = await waitFor('the upstream-triggered retrain of mix-b', async () => {
      const found = await retrainsOf('mix-b');
      return found.length && found.every((r) => r.status !== 'running') ? found : null;
    }, 120_000);
    const bRun = await lineage.db.selectFrom('pipeline_runs').select(['trigger', 'status', 'error']).where('id', '=', bRuns[0]?.id).executeTakeFirst();
    expect(bRuns.map((r) => [r.trigger, r.status]), String(bRun?.error)).toEqual([['upstream', 'succeeded']]);
    expect((await currentChampion(lineage.db, 'mix-b'))!.id).toBe('mix-b@v1.1');
    const cRuns = await waitFor('mix-c retrained by mix-b’s cascade', async () => {
      const found = await retrainsOf('mix-c');
      return found.length && found.every((r) => r.status !== 'running') ? found : null;
    }, 120_000);
    await new Promise((r) => setTimeout(r, 2000));
    expect(await retrainsOf('mix-c')).toEqual(cRuns);
    expect(cRuns.map((r) => [r.id, r.trigger])).toEqual([['retrain/mix-c/upstream-mix-b@v1.1', 'upstream']]);
    await applyModel(temporal.client, lineage.db, spec('mix-b', { stage: 1, dependsOn: ['mix-a'], data: bData }));
  });
});
