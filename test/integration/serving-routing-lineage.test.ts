// The routing table in lineage, on a real PostgreSQL server and on embedded PGlite: the trigger
// moves each model's revision (and NOTIFYs) on every deployments change, changes are atomic and
// idempotent by key, the unique indexes refuse conflicting routes, the table can be read as of any
// past time, and the champion can be rolled back to the previous one. The retrain DAG's direct
// promotion (no staged rollout) is one of those changes too, so who-served answers hold across it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { promotionChangeKey, registerActivities } from '../../activities/register';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { applyRoutingChange, readActiveRouting, readRoutingAt, rollbackToPreviousChampion, routingHistory, RoutingError, whoServed } from '../../lineage/routing';
import { openArtifactStore } from '../../storage/artifact-store';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { registerVersion, seedChampion } from '../support/traffic';

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`routing in lineage on ${kind}`, () => {
    let database: TestDatabase | undefined;
    let lineage: LineageDb;

    afterAll(async () => {
      await lineage?.close();
      await database?.drop();
    });

    it('revisions, atomic idempotent changes, conflicts, history and rollback', async () => {
      const open = kind === 'postgres' ? { url: (database = await createTestDatabase()).url } : { url: '', pgliteDir: mkdtempSync(path.join(tmpdir(), 'flywheel-routing-')) };
      lineage = await openLineageDb(open);
      const { db } = lineage;
      const store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-routing-store-'))).toString());
      await seedChampion(db, store, 'ctr', 'fair');
      await registerVersion(db, store, 'ctr', 'v2', 'good');
      await registerVersion(db, store, 'ctr', 'v3', 'good');

      const revision = async () => (await db.selectFrom('routing_state').select('revision').where('model_name', '=', 'ctr').executeTakeFirstOrThrow()).revision;
      const r0 = await revision();
      expect(r0).toBeGreaterThanOrEqual(1);

      const canary = { model: 'ctr', changeKey: 'k/canary', kind: 'canary', reason: 'start canary', rolloutId: 'r1', start: [{ versionId: 'ctr@v2', mode: 'canary' as const, trafficPercent: 5, salt: 's' }] };
      const first = await applyRoutingChange(db, canary);
      expect(first.applied).toBe(true);
      expect(first.revision).toBeGreaterThan(r0);
      // The same key again writes nothing and answers with the first application.
      const again = await applyRoutingChange(db, canary);
      expect(again).toMatchObject({ applied: false, revision: first.revision, at: first.at });
      expect(await revision()).toBe(first.revision);
      // A second active canary for the model is refused by the database, and nothing of the change remains.
      await expect(applyRoutingChange(db, { ...canary, changeKey: 'k/canary-2', start: [{ versionId: 'ctr@v3', mode: 'canary', trafficPercent: 5 }] })).rejects.toThrow();
      expect(await db.selectFrom('routing_changes').select('id').where('change_key', '=', 'k/canary-2').executeTakeFirst()).toBeUndefined();
      await expect(applyRoutingChange(db, { ...canary, changeKey: 'k/x', expectChampion: 'ctr@v3' })).rejects.toThrow(/expected champion ctr@v3 but ctr@v1 is serving/);
      await expect(applyRoutingChange(db, { ...canary, changeKey: 'k/y', start: [{ versionId: 'other@v1', mode: 'shadow', trafficPercent: 100 }] })).rejects.toThrow(/version "other@v1" does not exist for model "ctr"/);

      const routing = (await readActiveRouting(db)).get('ctr')!;
      expect(routing).toMatchObject({ revision: first.revision, champion: { versionId: 'ctr@v1' }, canary: { versionId: 'ctr@v2', percent: 5, salt: 's' } });

      await new Promise((r) => setTimeout(r, 20));
      const during = new Date();
      await new Promise((r) => setTimeout(r, 20));
      await applyRoutingChange(db, { model: 'ctr', changeKey: 'k/promote', kind: 'promote', reason: 'promote v2', end: [{ rolloutId: 'r1' }, { mode: 'champion' }], start: [{ versionId: 'ctr@v2', mode: 'champion', trafficPercent: 100 }], statuses: [{ versionId: 'ctr@v2', status: 'champion' }, { versionId: 'ctr@v1', status: 'retired' }] });
      const past = await readRoutingAt(db, 'ctr', during);
      expect(past.canary?.versionId).toBe('ctr@v2');
      expect(past.champion?.versionId).toBe('ctr@v1');
      expect((await readRoutingAt(db, 'ctr', new Date())).canary).toBeNull();

      const back = await rollbackToPreviousChampion(db, 'ctr', 'conversion dropped');
      expect(back).toMatchObject({ from: 'ctr@v2', to: 'ctr@v1' });
      const history = await routingHistory(db, 'ctr');
      expect(history.map((h) => [h.versionId, h.mode, h.endedAt === null])).toEqual([
        ['ctr@v1', 'champion', false],
        ['ctr@v2', 'canary', false],
        ['ctr@v2', 'champion', false],
        ['ctr@v1', 'champion', true],
      ]);
      expect(history[2].endReason).toBe('rollback to previous champion ctr@v1: conversion dropped');
      const statuses = Object.fromEntries((await db.selectFrom('model_versions').select(['id', 'status']).execute()).map((v) => [v.id, v.status]));
      expect(statuses).toMatchObject({ 'ctr@v1': 'champion', 'ctr@v2': 'rolled_back' });
      await expect(rollbackToPreviousChampion(db, 'ctr', 'again')).rejects.toBeInstanceOf(RoutingError);
      await expect(rollbackToPreviousChampion(db, 'ctr', ' ')).rejects.toThrow(/give a reason/);
    });
  });
}

describe('the retrain DAG\'s direct promotion on postgres', () => {
  let database: TestDatabase | undefined;
  let lineage: LineageDb | undefined;

  afterAll(async () => {
    await lineage?.close();
    await database?.drop();
  });

  it('is a routing change: history row, ended champion with a reason, who-served before/after, one row per retried run', async () => {
    database = await createTestDatabase();
    lineage = await openLineageDb({ url: database.url });
    const { db } = lineage;
    const store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-promote-store-'))).toString());
    const activities = registerActivities({ db, store });
    await seedChampion(db, store, 'dp', 'fair');
    const runOf = async (versionId: string) => (await db.selectFrom('model_versions').select('pipeline_run_id').where('id', '=', versionId).executeTakeFirstOrThrow()).pipeline_run_id;
    for (const v of ['v2', 'v3', 'v4', 'v5']) await registerVersion(db, store, 'dp', v, 'good');
    // A shadow of another version was running against v1: a new champion ends it too.
    await applyRoutingChange(db, { model: 'dp', changeKey: 'dp/shadow-v3', kind: 'shadow', reason: 'shadow v3', start: [{ versionId: 'dp@v3', mode: 'shadow', trafficPercent: 100 }] });

    await new Promise((r) => setTimeout(r, 20));
    const before = new Date();
    await new Promise((r) => setTimeout(r, 20));
    const run2 = await runOf('dp@v2');
    const request = { pipelineRunId: run2, modelName: 'dp', versionId: 'dp@v2', reason: 'offline gate passed' };
    expect(await activities.promoteToChampion(request)).toMatchObject({ previousChampion: 'dp@v1' });
    await new Promise((r) => setTimeout(r, 20));
    const after = new Date();

    // A retried activity (same run) finds its change: no second row, the same answer.
    const changesBefore = await db.selectFrom('routing_changes').select('id').execute();
    const deploymentsBefore = await db.selectFrom('deployments').select('id').execute();
    expect(await activities.promoteToChampion(request)).toMatchObject({ previousChampion: 'dp@v1' });
    expect(await db.selectFrom('routing_changes').select('id').execute()).toHaveLength(changesBefore.length);
    expect(await db.selectFrom('deployments').select('id').execute()).toHaveLength(deploymentsBefore.length);

    const changes = await db.selectFrom('routing_changes').selectAll().where('change_key', '=', promotionChangeKey(run2)).execute();
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ model_name: 'dp', kind: 'promote', rollout_id: null });
    expect(changes[0].reason).toBe(`retrain ${run2} promoted dp@v2 over dp@v1: offline gate passed`);
    expect(changes[0].detail).toMatchObject({ from: 'dp@v1', to: 'dp@v2', pipelineRunId: run2, endedRows: 2 });

    const history = await routingHistory(db, 'dp');
    expect(history.map((h) => [h.versionId, h.mode, h.endedAt === null])).toEqual([
      ['dp@v1', 'champion', false],
      ['dp@v3', 'shadow', false],
      ['dp@v2', 'champion', true],
    ]);
    expect(history[0].endReason).toBe(changes[0].reason);
    expect(history[1].endReason).toBe(changes[0].reason);
    expect(history[0].endedAt).toBe(history[2].startedAt);
    expect((await db.selectFrom('deployments').select('pipeline_run_id').where('version_id', '=', 'dp@v2').executeTakeFirstOrThrow()).pipeline_run_id).toBe(run2);
    const statuses = Object.fromEntries((await db.selectFrom('model_versions').select(['id', 'status']).where('model_name', '=', 'dp').execute()).map((v) => [v.id, v.status]));
    expect(statuses).toMatchObject({ 'dp@v1': 'retired', 'dp@v2': 'champion', 'dp@v3': 'candidate' });

    // Who served a unit: the old champion before the promotion, the new one after (routing as of t).
    for (const unit of ['unit-1', 'unit-2', 'unit-3']) {
      expect((await whoServed(db, 'dp', unit, before)).routed).toMatchObject({ versionId: 'dp@v1', mode: 'champion' });
      expect((await whoServed(db, 'dp', unit, after)).routed).toMatchObject({ versionId: 'dp@v2', mode: 'champion' });
    }
    expect((await readRoutingAt(db, 'dp', before)).shadows.map((s) => s.versionId)).toEqual(['dp@v3']);
    expect((await readRoutingAt(db, 'dp', after)).shadows).toEqual([]);

    // A later run's promotion replaces v2; a late retry of the earlier run changes nothing back.
    const run3 = await runOf('dp@v3');
    expect(await activities.promoteToChampion({ pipelineRunId: run3, modelName: 'dp', versionId: 'dp@v3', reason: 'better auc' })).toMatchObject({ previousChampion: 'dp@v2' });
    expect(await activities.promoteToChampion(request)).toMatchObject({ previousChampion: 'dp@v1' });
    expect((await readActiveRouting(db)).get('dp')?.champion?.versionId).toBe('dp@v3');

    // Two runs promoting at once: the champion guard makes the loser re-read and replace the winner,
    // so the history stays a chain (each promotion ends exactly the champion it names) with one open champion.
    const [run4, run5] = await Promise.all([runOf('dp@v4'), runOf('dp@v5')]);
    const raced = await Promise.all([
      activities.promoteToChampion({ pipelineRunId: run4, modelName: 'dp', versionId: 'dp@v4', reason: 'race' }),
      activities.promoteToChampion({ pipelineRunId: run5, modelName: 'dp', versionId: 'dp@v5', reason: 'race' }),
    ]);
    expect(raced.map((r) => r.previousChampion).sort()).toEqual(raced[0].previousChampion === 'dp@v3' ? ['dp@v3', 'dp@v4'] : ['dp@v3', 'dp@v5']);
    const champions = (await routingHistory(db, 'dp')).filter((h) => h.mode === 'champion');
    expect(champions.filter((h) => h.endedAt === null)).toHaveLength(1);
    const winner = champions.find((h) => h.endedAt === null)!.versionId;
    const promotes = await db.selectFrom('routing_changes').select('detail').where('kind', '=', 'promote').where('change_key', 'like', 'promote/%').orderBy('id').execute();
    const chain = promotes.map((p) => p.detail as { from: string; to: string });
    expect(chain.map((c) => c.from)).toEqual(['dp@v1', 'dp@v2', 'dp@v3', chain[2].to]);
    expect(chain[3].to).toBe(winner);
    const finalStatuses = Object.fromEntries((await db.selectFrom('model_versions').select(['id', 'status']).where('model_name', '=', 'dp').execute()).map((v) => [v.id, v.status]));
    expect(Object.values(finalStatuses).filter((s) => s === 'champion')).toHaveLength(1);
    expect(finalStatuses[winner]).toBe('champion');
  });
});
