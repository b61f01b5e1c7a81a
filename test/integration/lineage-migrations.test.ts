// The lineage migrations run identically on a real PostgreSQL server and on embedded PGlite, and
// the constraints that keep lineage consistent hold on both.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { applyModelSpec } from '../../lineage/models';
import { exampleSpec } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

const LINEAGE_CORE = ['datasets', 'deployments', 'evaluations', 'labelled_examples', 'model_versions', 'models', 'pipeline_runs'];

async function seedVersion(db: LineageDb['db'], id: string, runId: string): Promise<void> {
  await db.insertInto('pipeline_runs').values({ id: runId, run_id: 'r', model_name: 'ctr', trigger: 'manual', stage: 1, status: 'running', current_step: 'x', timings: '{}', started_at: new Date() }).execute();
  await db
    .insertInto('datasets')
    .values({ id: `ds-${id}`, model_name: 'ctr', window_start: new Date(0), window_end: new Date(1), row_count: 1, content_hash: `h-${id}`, uri: 'file:///x', manifest: '{}' })
    .execute();
  await db
    .insertInto('model_versions')
    .values({
      id,
      model_name: 'ctr',
      version: id.split('@')[1],
      major: 1,
      minor: 0,
      parent_version_id: null,
      training_mode: 'stateless',
      iteration_kind: 'model',
      spec_hash: 'h',
      dataset_id: `ds-${id}`,
      artifact_uri: 'file:///m',
      status: 'candidate',
      metrics: '{}',
      samples_seen: 10,
      high_water_mark: new Date(),
      pipeline_run_id: runId,
    })
    .execute();
}

for (const kind of ['postgres', 'pglite'] as const) {
  describe(`lineage migrations on ${kind}`, () => {
    let database: TestDatabase | undefined;
    let lineage: LineageDb;

    afterAll(async () => {
      await lineage?.close();
      await database?.drop();
    });

    it('creates the lineage tables, is re-runnable, and enforces its invariants', async () => {
      const open = kind === 'postgres' ? { url: (database = await createTestDatabase()).url } : { url: '', pgliteDir: mkdtempSync(path.join(tmpdir(), 'flywheel-mig-')) };
      lineage = await openLineageDb(open);
      expect(lineage.kind).toBe(kind);
      const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public' and table_name not like 'kysely_%' order by table_name`.execute(lineage.db);
      expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(LINEAGE_CORE));

      // Opening again runs the migrator again: nothing to do, nothing breaks. (PGlite allows one
      // open handle per directory, so close first.)
      await lineage.close();
      lineage = await openLineageDb(open);

      const { db } = lineage;
      expect((await applyModelSpec(db, exampleSpec())).outcome).toBe('created');
      expect((await applyModelSpec(db, exampleSpec())).outcome).toBe('unchanged');
      expect((await applyModelSpec(db, exampleSpec({ stage: 2, schedule: { every: '1d' } }))).outcome).toBe('updated');

      await seedVersion(db, 'ctr@v1', 'run-1');
      await seedVersion(db, 'ctr@v2', 'run-2');
      const champion = (version: string, run: string) =>
        db.insertInto('deployments').values({ model_name: 'ctr', version_id: version, mode: 'champion', traffic_percent: 100, reason: 'test', pipeline_run_id: run, started_at: new Date() }).execute();
      await champion('ctr@v1', 'run-1');
      // Two serving champions for one model is impossible.
      await expect(champion('ctr@v2', 'run-2')).rejects.toThrow(/deployments_one_champion/);
      // A version must point at a dataset that exists.
      await expect(
        db.updateTable('model_versions').set({ dataset_id: 'ds-missing' }).where('id', '=', 'ctr@v1').execute(),
      ).rejects.toThrow(/foreign key/);
      // Two versions of one run are impossible (the retry-safety key).
      await expect(db.updateTable('model_versions').set({ pipeline_run_id: 'run-1' }).where('id', '=', 'ctr@v2').execute()).rejects.toThrow(/unique/);
    });
  });
}
