// The same retrain DAG on the embedded defaults' database (PGlite) with artifacts in a real
// GCS-compatible emulator (gs://), so both the demo path and the cloud storage path run for real.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRetrain } from '../../client/retrain';
import { startGcsEmulator, type GcsEmulator } from '../../infra/gcs-emulator';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { currentChampion } from '../../lineage/models';
import { OnnxModel } from '../../ml/onnx-runtime';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { HISTORY_END, seedModel } from '../support/fixtures';
import { startTestTemporal, startTestWorkers, type RunningWorkers, type TestTemporal } from '../support/temporal';

describe('retrain DAG on PGlite + gs:// (GCS emulator)', () => {
  let lineage: LineageDb;
  let emulator: GcsEmulator;
  let store: ArtifactStore;
  let temporal: TestTemporal;
  let workers: RunningWorkers;

  beforeAll(async () => {
    lineage = await openLineageDb({ url: '', pgliteDir: mkdtempSync(path.join(tmpdir(), 'flywheel-pglite-')) });
    emulator = await startGcsEmulator({ createBuckets: ['flywheel-test'] });
    store = openArtifactStore('gs://flywheel-test/runs', { gcs: { apiEndpoint: emulator.endpoint } });
    temporal = await startTestTemporal();
    workers = await startTestWorkers(temporal.server.address, { db: lineage.db, store });
    await seedModel(lineage.db, 'ctr', 1200);
  });

  afterAll(async () => {
    await workers?.stop();
    await temporal?.stop();
    await emulator?.stop();
    await lineage?.close();
  });

  it('runs on PGlite and keeps the snapshot and model in the bucket', async () => {
    expect(lineage.kind).toBe('pglite');
    const result = await (await startRetrain(temporal.client, { model: 'ctr', referenceTime: HISTORY_END.toISOString(), idempotencyKey: 'pglite' })).result();
    expect(result.decision).toBe('promoted');
    expect(result.datasetUri).toMatch(/^gs:\/\/flywheel-test\/runs\/datasets\/ctr\/[0-9a-f]{64}\/data\.arrow$/);
    expect(result.artifactUri).toMatch(/^gs:\/\/flywheel-test\/runs\/models\/ctr\/runs\/retrain_ctr_pglite\/model\.onnx$/);

    const champion = await currentChampion(lineage.db, 'ctr');
    expect(champion?.id).toBe('ctr@v1');
    expect(champion?.artifact_uri).toBe(result.artifactUri);
    expect(await lineage.db.selectFrom('datasets').select('uri').execute()).toEqual([{ uri: result.datasetUri }]);

    // The model in the bucket loads in onnxruntime-node.
    const model = await OnnxModel.load(await store.get(result.artifactUri));
    expect(model.featureNames).toEqual(['ad_relevance', 'user_ctr_7d', 'position', 'hour_sin']);
    await model.release();
    const objects = await store.list('');
    expect(objects).toContain(result.datasetUri.replace(/data\.arrow$/, 'manifest.json'));
  });
});
