// The typed client other services import (client/index.ts FlywheelClient), against the real stack:
// a Temporal dev server with the project's workers and a fresh PostgreSQL database. Covers
// applyModel, retrain with and without wait, idempotent starts (same key → same workflow and run,
// no second version), the requested training mode (stateful below stage 3, forced stateless) as
// recorded in lineage, lineage queries (ancestry, champion at a time, history, status) and the
// schedule controls (pause, resume, trigger).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlywheelClient } from '../../client/index';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { insertLabelledExamples } from '../../lineage/labelled-examples';
import { generateCtrHistory } from '../../scenarios/ctr-history';
import { openArtifactStore } from '../../storage/artifact-store';
import { ModelName, TriggerReason } from '../../workflows/search-attributes';
import { exampleSpec, HISTORY_END } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startTestTemporal, startTestWorkers, type RunningWorkers, type TestTemporal } from '../support/temporal';

const MODEL = 'api';
const DAY = 86_400_000;
/** Day 0 of the seeded history; runs use reference times `START + n days`. */
const START = HISTORY_END.getTime() - 40 * DAY;
const at = (day: number) => new Date(START + day * DAY).toISOString();
const trainer = { ...(exampleSpec().trainer as object), epochs: 8 };

describe('FlywheelClient against the real stack', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let temporal: TestTemporal;
  let workers: RunningWorkers;
  let flywheel: FlywheelClient;

  /** A steady 400 labelled rows a day, so the validation gate's row-count check sees a normal day. */
  const addDay = (day: number, seed: number) => insertLabelledExamples(lineage.db, MODEL, generateCtrHistory({ seed, rows: 400, end: new Date(at(day)), days: 1 }));
  const versionRow = (id: string) =>
    lineage.db.selectFrom('model_versions').select(['id', 'version', 'parent_version_id', 'training_mode', 'iteration_kind', 'pipeline_run_id']).where('id', '=', id).executeTakeFirstOrThrow();

  beforeAll(async () => {
    database = await createTestDatabase();
    lineage = await openLineageDb({ url: database.url });
    const artifacts = pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-client-api-'))).toString();
    temporal = await startTestTemporal();
    workers = await startTestWorkers(temporal.server.address, { db: lineage.db, store: openArtifactStore(artifacts) });
    await insertLabelledExamples(lineage.db, MODEL, generateCtrHistory({ seed: 41, rows: 30 * 400, end: new Date(at(30)), days: 30 }));
    flywheel = await FlywheelClient.connect({ temporalAddress: temporal.server.address, databaseUrl: database.url });
  });

  afterAll(async () => {
    await flywheel?.close();
    await workers?.stop();
    await temporal?.stop();
    await lineage?.close();
    await database?.drop();
  });

  it('applyModel stores the spec and reconciles its stage; the same spec twice changes nothing', async () => {
    const created = await flywheel.applyModel(exampleSpec({ name: MODEL, trainer }));
    expect(created).toMatchObject({ model: MODEL, outcome: 'created', temporal: { schedule: 'none', continual: 'none', scheduleId: `retrain-schedule/${MODEL}` } });
    expect(created.specHash).toMatch(/^[0-9a-f]{64}$/);
    const again = await flywheel.applyModel(exampleSpec({ name: MODEL, trainer }));
    expect(again).toMatchObject({ outcome: 'unchanged', specHash: created.specHash });
    const stored = await lineage.db.selectFrom('models').select(['stage', 'spec_hash']).where('name', '=', MODEL).executeTakeFirstOrThrow();
    expect([Number(stored.stage), stored.spec_hash]).toEqual([1, created.specHash]);
    await expect(flywheel.applyModel({ ...exampleSpec({ name: 'bad' }), stage: 9 })).rejects.toThrow(/stage/);
  });

  it('retrain with wait returns the result; the same key again returns that run, not a second one', async () => {
    const first = await flywheel.retrain({ model: MODEL, referenceTime: at(30), idempotencyKey: 'day30', wait: true });
    expect(first).toMatchObject({ workflowId: `retrain/${MODEL}/day30`, model: MODEL, stage: 1, trigger: 'manual', version: 'v1', versionId: `${MODEL}@v1`, decision: 'promoted', trainingMode: 'stateless', parentVersionId: null });
    expect(first.planReason).toBe('stage 1 retrains from scratch');
    expect(first.rows.total).toBeGreaterThan(5_000);

    // The run has finished: a second start with the key attaches to it (REJECT_DUPLICATE reuse policy).
    const again = await flywheel.retrain({ model: MODEL, referenceTime: at(30), idempotencyKey: 'day30', wait: true });
    expect([again.runId, again.versionId]).toEqual([first.runId, first.versionId]);
    const handle = await flywheel.retrain({ model: MODEL, idempotencyKey: 'day30' });
    expect(handle.workflowId).toBe(first.workflowId);
    expect((await handle.describe()).runId).toBe(first.runId);
    expect((await handle.result()).versionId).toBe(`${MODEL}@v1`);

    const versions = await lineage.db.selectFrom('model_versions').select('id').where('model_name', '=', MODEL).execute();
    expect(versions.map((v) => v.id)).toEqual([`${MODEL}@v1`]);
    const runs = await lineage.db.selectFrom('pipeline_runs').select(['id', 'status']).where('model_name', '=', MODEL).execute();
    expect(runs).toEqual([{ id: `retrain/${MODEL}/day30`, status: 'succeeded' }]);
    expect((await flywheel.champion(MODEL))?.id).toBe(`${MODEL}@v1`);
  });

  let championedAt: Date;
  it('retrain without wait returns a handle; a second start while it runs is the same run; mode "stateful" warm-starts at stage 1', async () => {
    championedAt = new Date();
    await addDay(31, 42);
    const handle = await flywheel.retrain({ model: MODEL, referenceTime: at(31), idempotencyKey: 'day31', mode: 'stateful' });
    expect(handle.workflowId).toBe(`retrain/${MODEL}/day31`);
    // USE_EXISTING conflict policy: the running run is handed back, not a second one.
    const duplicate = await flywheel.retrain({ model: MODEL, referenceTime: at(31), idempotencyKey: 'day31', mode: 'stateful' });
    expect(duplicate.workflowId).toBe(handle.workflowId);
    const description = await handle.describe();
    expect((await duplicate.describe()).runId).toBe(description.runId);
    expect(description.typedSearchAttributes.get(ModelName)).toBe(MODEL);
    expect(description.typedSearchAttributes.get(TriggerReason)).toBe('manual');

    const result = await handle.result();
    expect(result).toMatchObject({ runId: description.runId, version: 'v1.1', versionId: `${MODEL}@v1.1`, trainingMode: 'stateful', parentVersionId: `${MODEL}@v1`, stage: 1 });
    expect(result.planReason).toMatch(new RegExp(`^requested stateful update of ${MODEL}@v1 on data after `));
    // Stateful: only the new day's rows, not the 30-day window.
    expect(result.rows.total).toBeLessThanOrEqual(400);
    expect(await versionRow(`${MODEL}@v1.1`)).toEqual({ id: `${MODEL}@v1.1`, version: 'v1.1', parent_version_id: `${MODEL}@v1`, training_mode: 'stateful', iteration_kind: 'data', pipeline_run_id: `retrain/${MODEL}/day31` });
    const started = await temporal.client.workflow.count(`WorkflowId = "retrain/${MODEL}/day31"`);
    expect(started.count).toBe(1);
  });

  it('mode "stateless" forces a full retrain; a contradictory or unknown mode is refused before starting', async () => {
    await addDay(32, 43);
    const parent = (await flywheel.champion(MODEL))!.id;
    const result = await flywheel.retrain({ model: MODEL, referenceTime: at(32), idempotencyKey: 'day32-full', mode: 'stateless', wait: true });
    expect(result).toMatchObject({ version: 'v2', versionId: `${MODEL}@v2`, trainingMode: 'stateless', parentVersionId: parent, planReason: 'full retrain requested' });
    expect(await versionRow(`${MODEL}@v2`)).toMatchObject({ training_mode: 'stateless', parent_version_id: parent, iteration_kind: 'data' });

    await expect(flywheel.retrain({ model: MODEL, idempotencyKey: 'contradiction', mode: 'stateful', forceStateless: true })).rejects.toThrow('mode "stateful" contradicts forceStateless');
    await expect(flywheel.retrain({ model: MODEL, idempotencyKey: 'bogus', mode: 'warm' as never })).rejects.toThrow('mode "warm" is not a training mode');
    await expect(flywheel.retrain({ model: MODEL, referenceTime: 'yesterday', idempotencyKey: 'bad-time' })).rejects.toThrow('referenceTime "yesterday" is not an ISO 8601 time');
    expect((await temporal.client.workflow.count(`WorkflowId = "retrain/${MODEL}/contradiction" OR WorkflowId = "retrain/${MODEL}/bogus"`)).count).toBe(0);
  });

  it('an unknown model fails the run with UnknownModel', async () => {
    const failure = await flywheel.retrain({ model: 'nope', idempotencyKey: 'unknown', wait: true }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(JSON.stringify((failure as WorkflowFailedError).cause)).toContain('UnknownModel');
  });

  it('lineage queries: ancestry of a version, the champion at a time, history and status', async () => {
    const champion = (await flywheel.champion(MODEL))!.id;
    expect([`${MODEL}@v1.1`, `${MODEL}@v2`]).toContain(champion);
    const chain = await flywheel.ancestry(`${MODEL}@v2`);
    const ids = chain.map((n) => n.version.id);
    expect(ids[0]).toBe(`${MODEL}@v2`);
    expect(ids.at(-1)).toBe(`${MODEL}@v1`);
    // v2 replaced whichever version was champion (v1.1 if it was promoted); v1.1 sits on v1.
    const parentOfV2 = (await versionRow(`${MODEL}@v2`)).parent_version_id;
    expect(ids).toEqual(parentOfV2 === `${MODEL}@v1.1` ? [`${MODEL}@v2`, `${MODEL}@v1.1`, `${MODEL}@v1`] : [`${MODEL}@v2`, `${MODEL}@v1`]);
    expect(chain.map((n) => n.version.training_mode)).toEqual(ids.map((id) => (id.endsWith('.1') ? 'stateful' : 'stateless')));
    for (const node of chain) {
      expect(node.dataset?.id).toMatch(/^ds-api-[0-9a-f]{16}$/);
      expect(node.evaluation?.version_id).toBe(node.version.id);
    }
    expect(Number(chain.at(-1)!.dataset!.row_count)).toBeGreaterThan(5_000);

    expect((await flywheel.championAt(MODEL, championedAt))?.id).toBe(`${MODEL}@v1`);
    expect(await flywheel.championAt(MODEL, new Date('2000-01-01T00:00:00Z'))).toBeNull();
    expect((await flywheel.championAt(MODEL, new Date()))?.id).toBe(champion);

    const history = await flywheel.history(MODEL);
    expect(history.map((h) => [h.version.id, h.version.training_mode, h.trigger])).toEqual([
      [`${MODEL}@v1`, 'stateless', 'manual'],
      [`${MODEL}@v1.1`, 'stateful', 'manual'],
      [`${MODEL}@v2`, 'stateless', 'manual'],
    ]);

    const [status] = await flywheel.status(MODEL);
    expect(status).toMatchObject({ model: MODEL, stage: 1, champion });
    expect(status.runs.map((r) => [r.id, r.status, r.candidate])).toEqual([
      [`retrain/${MODEL}/day32-full`, 'succeeded', `${MODEL}@v2`],
      [`retrain/${MODEL}/day31`, 'succeeded', `${MODEL}@v1.1`],
      [`retrain/${MODEL}/day30`, 'succeeded', `${MODEL}@v1`],
    ]);
    await expect(flywheel.status('nope')).rejects.toThrow('unknown model "nope"');
  });

  it('schedules: pause, resume and trigger a stage-2 model through the client', async () => {
    const applied = await flywheel.applyModel(exampleSpec({ name: 'sched', stage: 2, schedule: { every: '1d' } }));
    expect(applied.temporal.schedule).toBe('created');
    expect((await flywheel.schedules.describe('sched')).state.paused).toBe(false);

    await flywheel.schedules.pause('sched', 'maintenance window');
    let described = await flywheel.schedules.describe('sched');
    expect([described.state.paused, described.state.note]).toEqual([true, 'maintenance window']);
    await flywheel.schedules.resume('sched');
    described = await flywheel.schedules.describe('sched');
    expect([described.state.paused, described.state.note]).toEqual([false, 'resumed by the Flywheel client']);

    await flywheel.schedules.trigger('sched');
    const deadline = Date.now() + 15_000;
    while ((described = await flywheel.schedules.describe('sched')).info.recentActions.length === 0) {
      if (Date.now() > deadline) throw new Error('the triggered schedule never started a run');
      await new Promise((r) => setTimeout(r, 200));
    }
    const workflowId = described.info.recentActions[0].action.workflow.workflowId;
    expect(workflowId).toMatch(/^retrain\/sched\/scheduled-/);
    const run = temporal.client.workflow.getHandle(workflowId);
    const attributes = (await run.describe()).typedSearchAttributes;
    expect([attributes.get(ModelName), attributes.get(TriggerReason)]).toEqual(['sched', 'schedule']);
    // No labelled rows for "sched": the scheduled run fails cleanly at the pull, naming why.
    const failure = await run.result().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(JSON.stringify((failure as WorkflowFailedError).cause)).toContain('EmptyDataWindow');
  });
});
