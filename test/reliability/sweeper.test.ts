// The artifact sweeper (activities/sweeper.ts) on PostgreSQL and a file:// store: it removes only
// the scratch of runs that finished longer ago than the grace period, keeps the scratch of running
// and recently finished runs, never touches what lineage references, and reports — never deletes —
// files it cannot attribute (a snapshot without a datasets row, an unknown prefix).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyArtifacts, sweepOrphanedArtifacts } from '../../activities/sweeper';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { registerVersion, seedChampion } from '../support/traffic';

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
