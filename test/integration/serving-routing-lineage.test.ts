// The routing table in lineage, on a real PostgreSQL server and on embedded PGlite: the trigger
// moves each model's revision (and NOTIFYs) on every deployments change, changes are atomic and
// idempotent by key, the unique indexes refuse conflicting routes, the table can be read as of any
// past time, and the champion can be rolled back to the previous one.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { applyRoutingChange, readActiveRouting, readRoutingAt, rollbackToPreviousChampion, routingHistory, RoutingError } from '../../lineage/routing';
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
