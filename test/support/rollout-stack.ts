// The real stack a rollout test needs: a fresh PostgreSQL database, a file:// artifact store, the
// Temporal dev server with a worker running the rollout workflow and its activities on a queue of
// its own, and the prediction server following the routing table. Plus a runner that keeps
// simulated users on the server until the rollout finishes.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { rolloutActivities } from '../../activities/rollout';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { startRollout, type RolloutHandle } from '../../serving/rollout-control';
import { startPredictionServer, type PredictionServer } from '../../serving/server';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import type { RolloutResult } from '../../workflows/rollout';
import { createTestDatabase, type TestDatabase } from './postgres';
import { startTestTemporal, type TestTemporal } from './temporal';
import { runPredictTraffic, runRankTraffic, type RankStats, type TrafficStats } from './traffic';

export const ROLLOUT_TEST_QUEUE = 'flywheel-rollout-test';

export interface RolloutStack {
  database: TestDatabase;
  lineage: LineageDb;
  store: ArtifactStore;
  temporal: TestTemporal;
  server: PredictionServer;
  stop(): Promise<void>;
}

export async function startRolloutStack(): Promise<RolloutStack> {
  const database = await createTestDatabase();
  const lineage = await openLineageDb({ url: database.url });
  const store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-rollout-'))).toString());
  const temporal = await startTestTemporal();
  const connection = await NativeConnection.connect({ address: temporal.server.address });
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue: ROLLOUT_TEST_QUEUE,
    workflowsPath: path.join(__dirname, '..', '..', 'workflows', 'rollout.ts'),
    activities: rolloutActivities({ db: lineage.db, store }),
  });
  const running = worker.run();
  const server = await startPredictionServer({ db: lineage.db, readArtifact: (uri) => store.get(uri), listenUrl: database.url, refreshMs: 1_000, log: { flushMs: 25 } });
  return {
    database,
    lineage,
    store,
    temporal,
    server,
    async stop() {
      await server.close();
      worker.shutdown();
      await running;
      await connection.close();
      await temporal.stop();
      await lineage.close();
      await database.drop();
    },
  };
}

export interface RolloutRun<S> {
  handle: RolloutHandle;
  result: RolloutResult;
  traffic: S;
  wallMs: number;
}

/** Starts the rollout and keeps users on the server (bounded) until it ends. */
export async function rolloutUnderTraffic(
  stack: RolloutStack,
  request: { model: string; candidate: string; rollout: unknown },
  traffic: { kind: 'predict' | 'rank'; clients?: number; maxRequestsPerClient?: number; pauseMs?: number; seed?: number },
  during?: (handle: RolloutHandle) => Promise<void>,
): Promise<RolloutRun<TrafficStats | RankStats>> {
  const started = Date.now();
  const handle = await startRollout(stack.temporal.client, { model: request.model, candidateVersionId: request.candidate, rollout: request.rollout, taskQueue: ROLLOUT_TEST_QUEUE });
  let done = false;
  const outcome = handle.result().finally(() => {
    done = true;
  });
  const options = { url: stack.server.url, model: request.model, clients: traffic.clients ?? 2, requests: traffic.maxRequestsPerClient ?? 60_000, units: 3_000, seed: traffic.seed ?? 5, pauseMs: traffic.pauseMs ?? 1, stop: () => done };
  const load = traffic.kind === 'predict' ? runPredictTraffic(options) : runRankTraffic(options);
  if (during) await during(handle);
  const [result, stats] = await Promise.all([outcome, load]);
  return { handle, result, traffic: stats, wallMs: Date.now() - started };
}
