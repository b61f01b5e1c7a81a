// Artifact storage faults on the real stack: a gs:// artifact root on gcp-storage-emulator behind a
// fault-injecting HTTP proxy (test/support/fault-proxy.ts), Temporal dev server, PostgreSQL and
// workers with the production activities. Transient failures (5xx, requests that hang past the
// client timeout, dropped connections) are retried with backoff — by the store, then by Temporal
// when a call outlasts the store's attempts — and the run completes; a permanent failure (HTTP 403
// on every upload) ends the run at once with an error naming the store's answer, and the champion
// stays where it was.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { startRetrain } from '../../client/retrain';
import { startGcsEmulator, type GcsEmulator } from '../../infra/gcs-emulator';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { currentChampion } from '../../lineage/models';
import { ArtifactStoreError, openArtifactStore, type ArtifactStore, type RetryInfo } from '../../storage/artifact-store';
import { duplicateLineageRows, missingArtifacts } from '../support/fault-lineage';
import { isUpload, startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { HISTORY_END, seedModel } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startTestTemporal, type TestTemporal } from '../support/temporal';
import { NativeConnection } from '@temporalio/worker';
import { createWorkers } from '../../worker/workers';
import type { Worker } from '@temporalio/worker';

const BUCKET = 'flywheel-faults';

/** The innermost cause: what the workflow records as the run's error (workflows/retrain.ts rootMessage). */
function rootCause(error: unknown): Error {
  let current = error as Error & { cause?: unknown };
  while (current?.cause) current = current.cause as Error & { cause?: unknown };
  return current;
}

describe('artifact storage faults (gs:// through a fault proxy)', () => {
  let emulator: GcsEmulator;
  let proxy: FaultProxy;
  let database: TestDatabase;
  let lineage: LineageDb;
  let temporal: TestTemporal;
  let store: ArtifactStore;
  /** The same bucket without the proxy: what is really there. */
  let direct: ArtifactStore;
  let connection: NativeConnection;
  let workers: Worker[];
  let running: Promise<unknown>;
  const retries: RetryInfo[] = [];

  beforeAll(async () => {
    emulator = await startGcsEmulator({ createBuckets: [BUCKET] });
    proxy = await startFaultProxy(emulator.endpoint);
    database = await createTestDatabase('flywheel_fault');
    lineage = await openLineageDb({ url: database.url });
    temporal = await startTestTemporal();
    // The store the workers use: 1.5 s client timeout, quick backoff, every retry counted.
    store = openArtifactStore(`gs://${BUCKET}/runs`, {
      gcs: { apiEndpoint: proxy.endpoint, timeoutMs: 1_500 },
      retry: { initialDelayMs: 50, maxDelayMs: 400, onRetry: (info) => retries.push(info) },
    });
    direct = openArtifactStore(`gs://${BUCKET}/runs`, { gcs: { apiEndpoint: emulator.endpoint } });
    connection = await NativeConnection.connect({ address: temporal.server.address });
    workers = await createWorkers({ connection, namespace: 'default', deps: { db: lineage.db, store }, roles: ['orchestration', 'training'] });
    running = Promise.all(workers.map((w) => w.run()));
    await seedModel(lineage.db, 'gcsfault', 1200);
  });

  afterAll(async () => {
    for (const w of workers ?? []) if (w.getState() === 'RUNNING') w.shutdown();
    await running;
    await connection?.close();
    await temporal?.stop();
    await lineage?.close();
    await database?.drop();
    await proxy?.close();
    await emulator?.stop();
  });

  it('a request that hangs past the client timeout is retried (it was not: storage/retry.ts fix)', async () => {
    retries.length = 0;
    proxy.heal();
    proxy.next({ kind: 'hang' }, 2);
    const uri = await store.put('probe/timeout.txt', 'after two timeouts');
    expect((await direct.get(uri)).toString()).toBe('after two timeouts');
    expect(retries.map((r) => (r.error as Error).message)).toEqual([expect.stringMatching(/network timeout/), expect.stringMatching(/network timeout/)]);
  });

  it('transient 5xx, hangs and dropped connections during a retrain: retried with backoff, the run completes', async () => {
    retries.length = 0;
    proxy.heal();
    proxy.random({ seed: 4242, rate: 0.3, faults: [{ kind: 'status', status: 503 }, { kind: 'status', status: 500 }, { kind: 'status', status: 429 }, { kind: 'hang' }, { kind: 'reset' }] });
    const started = Date.now();
    const handle = await startRetrain(temporal.client, { model: 'gcsfault', referenceTime: HISTORY_END.toISOString(), idempotencyKey: 'transient' });
    const result = await handle.result();
    proxy.heal();
    const wallS = (Date.now() - started) / 1000;
    console.log(`transient storage faults: ${proxy.stats.requests} requests, injected ${JSON.stringify(proxy.stats.faults)}; store retries ${retries.length}; run ${result.versionId} ${result.decision} in ${wallS.toFixed(1)} s`);
    expect(result.decision).toBe('promoted');
    expect(proxy.stats.faults['503']).toBeGreaterThan(0);
    expect(proxy.stats.faults.hang).toBeGreaterThan(0);
    expect(proxy.stats.faults.reset).toBeGreaterThan(0);
    expect(retries.length).toBeGreaterThanOrEqual(Object.values(proxy.stats.faults).reduce((a, b) => a + b, 0) / 2);
    // Backoff: successive delays of one call grow (equal jitter never shrinks before the cap).
    const delays = retries.filter((r) => r.attempt <= 2).map((r) => r.delayMs);
    expect(Math.max(...delays)).toBeLessThanOrEqual(400);
    // Everything lineage names is really in the bucket, once.
    expect(await missingArtifacts({ db: lineage.db, store: direct })).toEqual([]);
    expect(await duplicateLineageRows(lineage.db)).toEqual([]);
    expect((await currentChampion(lineage.db, 'gcsfault'))?.id).toBe(result.versionId);
  });

  it('a permanent failure (403 on every upload) ends the run at once with a clear error; the champion is untouched', async () => {
    const champion = await currentChampion(lineage.db, 'gcsfault');
    expect(champion).toBeDefined();
    const versionsBefore = await lineage.db.selectFrom('model_versions').select('id').execute();
    const deploymentsBefore = await lineage.db.selectFrom('deployments').selectAll().execute();
    proxy.heal();
    proxy.always({ kind: 'status', status: 403 }, isUpload);
    const started = Date.now();
    const handle = await startRetrain(temporal.client, { model: 'gcsfault', referenceTime: HISTORY_END.toISOString(), idempotencyKey: 'permanent' });
    const failure = await handle.result().then(
      () => null,
      (error: unknown) => error,
    );
    proxy.heal();
    const seconds = (Date.now() - started) / 1000;
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = rootCause(failure);
    console.log(`permanent storage failure: run failed after ${seconds.toFixed(1)} s: ${cause.message}`);
    expect(cause.message).toMatch(/GCS put of gs:\/\/flywheel-faults\/runs\/staging\/.* failed \(HTTP 403\) after 1 attempt: injected 403/);
    expect(cause.message).toMatch(/not retried/);
    // At once: no 10-attempt activity backoff (about 4 minutes) before giving up.
    expect(seconds).toBeLessThan(30);
    const run = await lineage.db.selectFrom('pipeline_runs').selectAll().where('id', '=', 'retrain/gcsfault/permanent').executeTakeFirstOrThrow();
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/HTTP 403/);
    expect((await currentChampion(lineage.db, 'gcsfault'))?.id).toBe(champion!.id);
    expect(await lineage.db.selectFrom('model_versions').select('id').execute()).toEqual(versionsBefore);
    expect(await lineage.db.selectFrom('deployments').selectAll().execute()).toEqual(deploymentsBefore);
  });

  it('a call that keeps failing transiently gives up after maxAttempts with the last answer in the message', async () => {
    proxy.heal();
    proxy.always({ kind: 'status', status: 503 });
    const stubborn = openArtifactStore(`gs://${BUCKET}/runs`, { gcs: { apiEndpoint: proxy.endpoint, timeoutMs: 1_500 }, retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 20 } });
    const error = await stubborn.put('probe/never.txt', 'x').then(
      () => null,
      (e: unknown) => e,
    );
    proxy.heal();
    expect(error).toBeInstanceOf(ArtifactStoreError);
    expect((error as Error).message).toMatch(/GCS put of gs:\/\/flywheel-faults\/runs\/probe\/never\.txt failed \(HTTP 503\) after 3 attempts: injected 503/);
    expect(await direct.exists(`gs://${BUCKET}/runs/probe/never.txt`)).toBe(false);
  });
});
