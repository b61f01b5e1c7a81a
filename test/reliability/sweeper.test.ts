// The artifact sweeper (activities/sweeper.ts) on PostgreSQL and a file:// store: it removes only
// the scratch of runs that finished longer ago than the grace period, keeps the scratch of running
// and recently finished runs, never touches what lineage references, and reports — never deletes —
// files it cannot attribute (a snapshot without a datasets row, an unknown prefix).
// Then the same sweep wired for real: the `sweepArtifacts` activity on the production workers,
// artifactSweepWorkflow (workflows/sweep.ts) and the daily `artifact-sweep` Schedule
// (schedules/sweep.ts, created alongside the models' schedules by applyModel), on the Temporal dev
// server: the scheduled run removes scratch older than the grace period and keeps what lineage
// references and the fresh files of a recent and of an in-flight run; FLYWHEEL_ARTIFACT_SWEEP=off
// removes the schedule.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ScheduleNotFoundError, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyArtifacts, sweepOrphanedArtifacts, type SweepSummary } from '../../activities/sweeper';
import { applyModel } from '../../client/apply';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { applyModelSpec } from '../../lineage/models';
import { ARTIFACT_SWEEP_SCHEDULE_ID, reconcileSweepSchedule, sweepScheduleSettings } from '../../schedules/sweep';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { ORCHESTRATION_QUEUE } from '../../workflows/task-queues';
import { exampleSpec } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startTestTemporal, startTestWorkers, type RunningWorkers, type TestTemporal } from '../support/temporal';
import { registerVersion, seedChampion } from '../support/traffic';
import { runCli } from '../support/cli';
import { sweepArtifactsNow } from '../../client/sweep';

describe('artifact sweeper', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let store: ArtifactStore;

  beforeAll(async () => {
    database = await createTestDatabase('flywheel_fault');
    lineage = await openLineageDb({ url: database.url });
    store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-sweeper-'))).toString());
  });

  afterAll(async () => {
    await lineage?.close();
    await database?.drop();
  });

  it('removes finished runs’ scratch after the grace period, keeps the rest, reports what it cannot attribute', async () => {
    const { db } = lineage;
    await seedChampion(db, store, 'sw', 'good');
    const v2 = await registerVersion(db, store, 'sw', 'v2', 'fair');
    const hourAgo = new Date(Date.now() - 3_600_000);
    const runs = [
      { id: 'retrain/sw/old', status: 'succeeded' as const, finished_at: new Date(Date.now() - 2 * 3_600_000) },
      { id: 'retrain/sw/recent', status: 'failed' as const, finished_at: new Date() },
      { id: 'retrain/sw/running', status: 'running' as const, finished_at: null },
    ];
    for (const r of runs) {
      await db.insertInto('pipeline_runs').values({ id: r.id, run_id: 'r', model_name: 'sw', trigger: 'manual', stage: 1, status: r.status, current_step: 'done', timings: '{}', started_at: hourAgo, finished_at: r.finished_at }).execute();
    }
    const put = (key: string) => store.put(key, 'x');
    const scratch: Record<string, string[]> = {};
    for (const r of runs) {
      const key = r.id.replace(/[^A-Za-z0-9._-]+/g, '_');
      scratch[r.id] = [
        await put(`staging/${key}/part-00000.arrow`),
        await put(`staging/${key}/window.json`),
        await put(`models/sw/runs/${key}/checkpoints/epoch-000001.json`),
        await put(`models/sw/runs/${key}/model.onnx`),
      ];
      await put(`reports/sw/${key}/run.html`);
    }
    await put('reports/sw/index.html');
    const orphanDataset = await put('datasets/sw/0123abcd/data.arrow');
    const stranger = await put('somebody-else/notes.txt');
    const referenced = [v2.artifactUri];

    const { artifacts } = await classifyArtifacts({ db, store });
    const classOf = (uri: string) => artifacts.find((a) => a.uri === uri)?.class;
    expect(classOf(v2.artifactUri)).toBe('lineage');
    expect(classOf(store.uriFor('reports/sw/index.html'))).toBe('model-page');
    expect(classOf(store.uriFor('reports/sw/retrain_sw_old/run.html'))).toBe('run-report');
    expect(classOf(scratch['retrain/sw/old'][0])).toBe('run-scratch');
    expect(classOf(orphanDataset)).toBe('orphan');
    expect(classOf(stranger)).toBe('orphan');

    const dry = await sweepOrphanedArtifacts({ db, store }, { olderThanMs: 3_600_000, dryRun: true });
    expect(dry.removed.sort()).toEqual([...scratch['retrain/sw/old']].sort());
    for (const uri of dry.removed) expect(await store.exists(uri)).toBe(true);

    const swept = await sweepOrphanedArtifacts({ db, store }, { olderThanMs: 3_600_000 });
    expect(swept.removed.sort()).toEqual([...scratch['retrain/sw/old']].sort());
    for (const uri of scratch['retrain/sw/old']) expect(await store.exists(uri)).toBe(false);
    for (const uri of [...scratch['retrain/sw/recent'], ...scratch['retrain/sw/running'], orphanDataset, stranger, ...referenced]) expect(await store.exists(uri)).toBe(true);
    const why = new Map(swept.kept.map((k) => [k.uri, k.why]));
    expect(why.get(scratch['retrain/sw/running'][0])).toMatch(/still running/);
    expect(why.get(scratch['retrain/sw/recent'][0])).toMatch(/finished less than 3600000 ms ago/);
    expect(why.get(orphanDataset)).toMatch(/referenced by no lineage row/);
    expect(why.get(stranger)).toMatch(/referenced by no lineage row/);

    // One model only: another model's files are not even looked at.
    const scoped = await sweepOrphanedArtifacts({ db, store }, { olderThanMs: 0, modelName: 'nobody', dryRun: true });
    expect(scoped.scanned).toBe(0);
  });
});

describe('artifact sweep wired into Temporal: activity, workflow, daily schedule', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let store: ArtifactStore;
  let temporal: TestTemporal;
  let workers: RunningWorkers;

  beforeAll(async () => {
    database = await createTestDatabase('flywheel_fault');
    lineage = await openLineageDb({ url: database.url });
    store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-sweep-wf-'))).toString());
    temporal = await startTestTemporal();
    workers = await startTestWorkers(temporal.server.address, { db: lineage.db, store }, ['orchestration']);
  });

  afterAll(async () => {
    await workers?.stop();
    await temporal?.stop();
    await lineage?.close();
    await database?.drop();
  });

  it('the scheduled sweep removes scratch older than the grace period; referenced, fresh and in-flight files stay', { timeout: 120_000 }, async () => {
    const { db } = lineage;
    const { client } = temporal;
    const champion = await seedChampion(db, store, 'swt', 'good');
    const startedAt = new Date(Date.now() - 3 * 3_600_000);
    const runs = [
      // Over the 1 h grace period: its scratch is an orphan to remove.
      { id: 'retrain/swt/old', status: 'succeeded' as const, finished_at: new Date(Date.now() - 2 * 3_600_000) },
      // Finished a minute ago: within the grace period.
      { id: 'retrain/swt/fresh', status: 'failed' as const, finished_at: new Date(Date.now() - 60_000) },
      // Still running: its fresh staged window and checkpoints are in use.
      { id: 'retrain/swt/inflight', status: 'running' as const, finished_at: null },
    ];
    const scratch: Record<string, string[]> = {};
    for (const r of runs) {
      await db.insertInto('pipeline_runs').values({ id: r.id, run_id: 'r', model_name: 'swt', trigger: 'manual', stage: 1, status: r.status, current_step: r.status === 'running' ? 'train' : 'done', timings: '{}', started_at: startedAt, finished_at: r.finished_at }).execute();
      const key = r.id.replace(/[^A-Za-z0-9._-]+/g, '_');
      scratch[r.id] = [
        await store.put(`staging/${key}/part-00000.arrow`, 'rows'),
        await store.put(`models/swt/runs/${key}/checkpoints/epoch-000003.json`, '{}'),
        await store.put(`models/swt/runs/${key}/model.onnx`, 'onnx'),
      ];
    }
    const unattributable = await store.put('datasets/swt/0badc0de/data.arrow', 'no datasets row');
    const referenced = [champion.artifactUri];
    for (const uri of referenced) expect(await store.exists(uri)).toBe(true);

    // Applying a spec reconciles the deployment-wide sweep schedule alongside the model's.
    await applyModel(client, db, exampleSpec({ name: 'swt-apply' }));
    const schedule = client.schedule.getHandle(ARTIFACT_SWEEP_SCHEDULE_ID);
    const described = await schedule.describe();
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'artifactSweepWorkflow', taskQueue: ORCHESTRATION_QUEUE, args: [{ olderThanMs: 3_600_000 }] });
    expect(described.spec.calendars?.length ?? 0).toBeGreaterThan(0);
    expect(described.policies.overlap).toBe('SKIP');

    // A dry run through the workflow lists what would go and deletes nothing.
    const dry = await client.workflow.execute('artifactSweepWorkflow', { taskQueue: ORCHESTRATION_QUEUE, workflowId: 'artifact-sweep/test-dry-run', args: [{ dryRun: true }] }) as SweepSummary;
    expect(dry).toMatchObject({ dryRun: true, olderThanMs: 3_600_000, removed: 3 });
    expect([...dry.removedSample].sort()).toEqual([...scratch['retrain/swt/old']].sort());
    for (const uri of scratch['retrain/swt/old']) expect(await store.exists(uri)).toBe(true);

    // The schedule's own action, now (as at 03:17 UTC): the scheduled workflow removes the orphans.
    await schedule.trigger();
    let workflowId: string | undefined;
    for (let i = 0; i < 100 && !workflowId; i++) {
      const action = (await schedule.describe()).info.recentActions.at(-1)?.action;
      workflowId = action?.type === 'startWorkflow' ? action.workflow.workflowId : undefined;
      if (!workflowId) await new Promise((r) => setTimeout(r, 100));
    }
    expect(workflowId).toMatch(/^artifact-sweep\/scheduled-/);
    const swept = (await client.workflow.getHandle(workflowId!).result()) as SweepSummary;
    console.log(`scheduled sweep ${workflowId}: scanned ${swept.scanned}, referenced ${swept.referenced}, removed ${swept.removed}, kept ${swept.kept} (${swept.elapsedMs} ms)`);
    expect(swept).toMatchObject({ dryRun: false, removed: 3 });
    expect([...swept.removedSample].sort()).toEqual([...scratch['retrain/swt/old']].sort());
    for (const uri of scratch['retrain/swt/old']) expect(await store.exists(uri)).toBe(false);
    // Referenced by lineage, fresh (recent run), in flight, unattributable: all still there.
    for (const uri of [...referenced, ...scratch['retrain/swt/fresh'], ...scratch['retrain/swt/inflight'], unattributable]) expect(await store.exists(uri)).toBe(true);
    const why = new Map(swept.keptSample.map((k) => [k.uri, k.why]));
    expect(why.get(scratch['retrain/swt/inflight'][0])).toMatch(/still running/);
    expect(why.get(scratch['retrain/swt/fresh'][0])).toMatch(/finished less than 3600000 ms ago/);
    expect(why.get(unattributable)).toMatch(/referenced by no lineage row/);
    // Every file lineage references is still there.
    const { artifacts } = await classifyArtifacts({ db, store });
    for (const a of artifacts.filter((x) => x.class === 'lineage')) expect(await store.exists(a.uri)).toBe(true);

    // A bad input to the workflow (another client, the Temporal CLI): refused at once, nothing removed.
    const bad = await client.workflow.execute('artifactSweepWorkflow', { taskQueue: ORCHESTRATION_QUEUE, workflowId: 'artifact-sweep/test-bad', args: [{ olderThanMs: -5 }] }).then(() => new Error('ran'), (e: unknown) => e);
    expect(bad).toBeInstanceOf(WorkflowFailedError);
    expect(((bad as WorkflowFailedError).cause as Error).message).toMatch(/olderThanMs must be a number of milliseconds ≥ 0 \(the grace period\), got -5/);
  });

  it('`flywheel sweep` and the client run a sweep on demand: dry run lists, the real run removes, bad durations are one line', { timeout: 120_000 }, async () => {
    const { db } = lineage;
    await applyModelSpec(db, exampleSpec({ name: 'swc' }));
    await db.insertInto('pipeline_runs').values({ id: 'retrain/swc/done', run_id: 'r', model_name: 'swc', trigger: 'manual', stage: 1, status: 'succeeded', current_step: 'done', timings: '{}', started_at: new Date(Date.now() - 5 * 3_600_000), finished_at: new Date(Date.now() - 3 * 3_600_000) }).execute();
    const files = [await store.put('staging/retrain_swc_done/part-00000.arrow', 'rows'), await store.put('models/swc/runs/retrain_swc_done/model.onnx', 'onnx')];
    const env = { TEMPORAL_ADDRESS: temporal.server.address, TEMPORAL_NAMESPACE: 'default' };

    const dry = await runCli(['sweep', '--dry-run', '--older-than', '2h', '--model', 'swc', '--json'], env);
    expect(dry.code, dry.stderr).toBe(0);
    const summary = JSON.parse(dry.stdout.trim()) as SweepSummary & { workflowId: string };
    expect(summary).toMatchObject({ dryRun: true, olderThanMs: 2 * 3_600_000, scanned: 2, removed: 2, kept: 0 });
    expect(summary.workflowId).toMatch(/^artifact-sweep\/manual-/);
    expect([...summary.removedSample].sort()).toEqual([...files].sort());
    for (const uri of files) expect(await store.exists(uri)).toBe(true);

    // A grace longer than the run has been over keeps everything.
    const patient = await sweepArtifactsNow(temporal.client, { olderThan: '4h', modelName: 'swc' });
    expect(patient).toMatchObject({ dryRun: false, removed: 0, kept: 2 });
    const swept = await sweepArtifactsNow(temporal.client, { olderThan: '2h', modelName: 'swc' });
    expect(swept).toMatchObject({ dryRun: false, removed: 2 });
    for (const uri of files) expect(await store.exists(uri)).toBe(false);

    const bad = await runCli(['sweep', '--older-than', 'soon', '--json'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trim().split('\n').filter((l) => !l.includes('ExperimentalWarning') && !l.includes('--trace-warnings'))).toEqual([
      'flywheel: older-than "soon" is not a duration: use a number and a unit, e.g. 30m, 6h, 2d (or 0)',
    ]);
  });

  it('the schedule follows FLYWHEEL_ARTIFACT_SWEEP and FLYWHEEL_ARTIFACT_SWEEP_GRACE; off removes it', async () => {
    const { client } = temporal;
    expect(sweepScheduleSettings({})).toEqual({ cron: '17 3 * * *', graceMs: 3_600_000 });
    expect(sweepScheduleSettings({ FLYWHEEL_ARTIFACT_SWEEP: '0 */6 * * *', FLYWHEEL_ARTIFACT_SWEEP_GRACE: '6h' })).toEqual({ cron: '0 */6 * * *', graceMs: 6 * 3_600_000 });
    expect(() => sweepScheduleSettings({ FLYWHEEL_ARTIFACT_SWEEP_GRACE: 'soon' })).toThrow(/FLYWHEEL_ARTIFACT_SWEEP_GRACE="soon": use a positive number and a unit/);
    expect(() => sweepScheduleSettings({ FLYWHEEL_ARTIFACT_SWEEP: 'daily' })).toThrow(/FLYWHEEL_ARTIFACT_SWEEP="daily": use a cron expression/);
    // Same settings: unchanged; new grace: replaced; off: removed; back on: created.
    await reconcileSweepSchedule(client, sweepScheduleSettings({}));
    expect(await reconcileSweepSchedule(client, sweepScheduleSettings({}))).toBe('unchanged');
    expect(await reconcileSweepSchedule(client, sweepScheduleSettings({ FLYWHEEL_ARTIFACT_SWEEP_GRACE: '6h' }))).toBe('updated');
    expect((await client.schedule.getHandle(ARTIFACT_SWEEP_SCHEDULE_ID).describe()).action).toMatchObject({ args: [{ olderThanMs: 6 * 3_600_000 }] });
    expect(await reconcileSweepSchedule(client, sweepScheduleSettings({ FLYWHEEL_ARTIFACT_SWEEP: 'off' }))).toBe('removed');
    await expect(client.schedule.getHandle(ARTIFACT_SWEEP_SCHEDULE_ID).describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expect(await reconcileSweepSchedule(client, sweepScheduleSettings({ FLYWHEEL_ARTIFACT_SWEEP: 'off' }))).toBe('none');
    expect(await reconcileSweepSchedule(client, sweepScheduleSettings({}))).toBe('created');
  });
});
