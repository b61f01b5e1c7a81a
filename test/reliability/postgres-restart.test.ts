// PostgreSQL goes away twice — a real stop and start of the local server where the test may do it
// (test/support/fault-postgres.ts), else every connection to the test database cut and refused —
// while a retrain runs on workers with the production activities AND the prediction server serves
// live traffic. Then: the run's activities retried and it completed, lineage has no duplicates;
// /healthz said unhealthy during each outage and healthy again by itself after it; every
// prediction and feedback the server acknowledged (200/202) is in the database.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRetrain } from '../../client/retrain';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { createRng } from '../../ml/random';
import { startPredictionServer, type PredictionServer } from '../../serving/server';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { createWorkers } from '../../worker/workers';
import { duplicateLineageRows, missingArtifacts } from '../support/fault-lineage';
import { beginOutage, ensurePostgresUp, outageMode } from '../support/fault-postgres';
import { HISTORY_END, seedModel } from '../support/fixtures';
import { adminUrl, createTestDatabase, type TestDatabase } from '../support/postgres';
import pg from 'pg';
import { startTestTemporal, type TestTemporal } from '../support/temporal';
import { createAgent, drawFeatures, getText, postJson, seedChampion, type PredictResponseBody } from '../support/traffic';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await probe().catch(() => false)) return Date.now() - started;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

describe('PostgreSQL restarts during a retrain and during serving', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let store: ArtifactStore;
  let temporal: TestTemporal;
  let connection: NativeConnection;
  let workers: Worker[];
  let running: Promise<unknown>;
  let server: PredictionServer;
  let agent: http.Agent;

  beforeAll(async () => {
    await ensurePostgresUp();
    database = await createTestDatabase('flywheel_fault');
    lineage = await openLineageDb({ url: database.url });
    store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-pg-restart-'))).toString());
    temporal = await startTestTemporal();
    connection = await NativeConnection.connect({ address: temporal.server.address });
    workers = await createWorkers({ connection, namespace: 'default', deps: { db: lineage.db, store }, roles: ['orchestration', 'training'] });
    running = Promise.all(workers.map((w) => w.run()));
    await seedModel(lineage.db, 'pgrun', 1500);
    await seedChampion(lineage.db, store, 'served', 'fair');
    server = await startPredictionServer({
      db: lineage.db,
      readArtifact: (uri) => store.get(uri),
      listenUrl: database.url,
      refreshMs: 1_000,
      healthIntervalMs: 200,
      log: { flushMs: 20, retryMs: 50, maxRetryMs: 500 },
    });
    agent = createAgent(16);
  });

  afterAll(async () => {
    // Whatever failed above, leave the server running and the test database reachable.
    await ensurePostgresUp(database?.name);
    agent?.destroy();
    await server?.close();
    for (const w of workers ?? []) if (w.getState() === 'RUNNING') w.shutdown();
    await running;
    await connection?.close();
    await temporal?.stop();
    await lineage?.close();
    await database?.drop();
  });

  it('activities retry and the run completes; /healthz goes unhealthy and recovers by itself; no acknowledged row is lost', { timeout: 300_000 }, async () => {
    const mode = outageMode();
    const { db } = lineage;
    const started = Date.now();

    // Live traffic: 4 clients, /predict and, for about a third, a click on /feedback; every acknowledgement kept.
    let stop = false;
    const acked: string[] = [];
    const feedbackAcked: string[] = [];
    const statuses: Record<string, number> = {};
    const clients = Array.from({ length: 4 }, async (_, c) => {
      const rng = createRng(900 + c);
      while (!stop) {
        const res = await postJson<PredictResponseBody>(agent, server.url, '/predict', { model: 'served', unitId: `u${rng.nextInt(500)}`, features: drawFeatures(rng) }).catch(() => ({ status: 0, body: null as never }));
        statuses[`predict ${res.status}`] = (statuses[`predict ${res.status}`] ?? 0) + 1;
        if (res.status === 200) {
          acked.push(res.body.requestId);
          if (rng.next() < 0.33) {
            const fb = await postJson(agent, server.url, '/feedback', { requestId: res.body.requestId, event: 'click' }).catch(() => ({ status: 0 }));
            statuses[`feedback ${fb.status}`] = (statuses[`feedback ${fb.status}`] ?? 0) + 1;
            if (fb.status === 202) feedbackAcked.push(res.body.requestId);
          }
        }
        await sleep(5);
      }
    });
    // /healthz every 100 ms: the sequence of answers.
    const health: Array<{ at: number; status: number }> = [];
    const poller = (async () => {
      while (!stop) {
        const res = await getText(agent, server.url, '/healthz').catch(() => ({ status: 0, body: '' }));
        if (health.at(-1)?.status !== res.status) health.push({ at: Date.now() - started, status: res.status });
        await sleep(100);
      }
    })();

    const handle = await startRetrain(temporal.client, { model: 'pgrun', referenceTime: HISTORY_END.toISOString(), idempotencyKey: 'pg-restart' });
    const stepOf = async () => (await db.selectFrom('pipeline_runs').select('current_step').where('id', '=', handle.workflowId).executeTakeFirst())?.current_step ?? 'none';
    const outages: Array<{ at: string; downMs: number; unhealthyAfterMs: number; healthyAfterMs: number }> = [];
    const outage = async (steps: string[]) => {
      await until(`the run to reach ${steps.join(' or ')}`, async () => steps.includes(await stepOf()), 90_000, 20);
      const at = await stepOf();
      const began = Date.now();
      const o = await beginOutage(database.name, mode);
      try {
        const unhealthyAfterMs = await until('/healthz to report the outage', async () => (await getText(agent, server.url, '/healthz')).status === 503, 15_000);
        // Stay down a little longer: queued log rows pile up, activities fail and back off.
        await sleep(1_500);
        await o.end();
        const downMs = Date.now() - began;
        // Nobody touches the server: it must notice the database is back on its own.
        const healthyAfterMs = await until('/healthz to recover by itself', async () => (await getText(agent, server.url, '/healthz')).status === 200, 30_000);
        outages.push({ at, downMs, unhealthyAfterMs, healthyAfterMs });
      } finally {
        await o.end();
      }
    };
    await outage(['testset', 'pull', 'dataset']);
    await outage(['evaluate', 'register', 'promote', 'report']).catch(async (error) => {
      // A fast run may have finished before the second window: take the server away during serving only.
      if (!/timed out .*reach/.test(String(error))) throw error;
      await outage(['done']);
    });
    const result = await handle.result();
    await sleep(500);
    stop = true;
    await Promise.all([...clients, poller]);

    // The run: completed, activities retried through the outages, lineage clean.
    expect(['promoted', 'rejected']).toContain(result.decision);
    const run = await db.selectFrom('pipeline_runs').selectAll().where('id', '=', handle.workflowId).executeTakeFirstOrThrow();
    expect(run.status === 'succeeded' || run.status === 'rejected').toBe(true);
    const history = await handle.fetchHistory();
    const retried = (history.events ?? []).filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1).map((e) => e.activityTaskStartedEventAttributes!.attempt);
    expect(retried.length).toBeGreaterThan(0);
    expect(await duplicateLineageRows(db)).toEqual([]);
    expect(await missingArtifacts({ db, store }, ['pgrun'])).toEqual([]);

    // Serving: unhealthy during each outage, healthy again after; every acknowledgement written.
    const transitions = health.map((h) => h.status);
    expect(transitions.filter((s) => s === 503).length).toBeGreaterThanOrEqual(2);
    expect(transitions.at(-1)).toBe(200);
    expect(await server.flush(30_000)).toBe(0);
    const written = new Set<string>();
    for (let i = 0; i < acked.length; i += 1000) {
      for (const row of await db.selectFrom('prediction_log').select('request_id').where('request_id', 'in', acked.slice(i, i + 1000)).where('mode', '=', 'served').execute()) written.add(row.request_id);
    }
    const lost = acked.filter((id) => !written.has(id));
    const outcomeRows = await db.selectFrom('outcome_events').select('request_id').where('model_name', '=', 'served').execute();
    const feedbackWritten = new Set(outcomeRows.map((r) => r.request_id));
    const lostFeedback = feedbackAcked.filter((id) => !feedbackWritten.has(id));
    console.log(
      `postgres outages (${mode}): ${outages.map((o) => `at ${o.at}: down ${o.downMs} ms, /healthz 503 after ${o.unhealthyAfterMs} ms, 200 again ${o.healthyAfterMs} ms after restart`).join('; ')}\n` +
        `  run ${result.versionId} ${result.decision}; ${retried.length} activity attempts after the first (attempts ${retried.join(',')})\n` +
        `  /healthz sequence ${health.map((h) => `${h.status}@${h.at}ms`).join(' ')}\n` +
        `  traffic ${JSON.stringify(statuses)}; acknowledged predictions ${acked.length}, written ${acked.length - lost.length}; feedback acknowledged ${feedbackAcked.length}, written ${feedbackAcked.length - lostFeedback.length}; flush failures ${server.predictions.failures}`,
    );
    expect(outages).toHaveLength(2);
    expect(lost).toEqual([]);
    expect(lostFeedback).toEqual([]);
    expect(outcomeRows.length).toBe(feedbackAcked.length);
    expect(server.predictions.failures).toBeGreaterThan(0);
    console.log(`restarts survived: ${outages.length} (${mode}); acknowledged rows lost: ${lost.length + lostFeedback.length}`);
  });

  it('a connection the server terminates while it is checked out of the pool does not crash the process (lineage/db.ts)', { timeout: 60_000 }, async () => {
    // Deterministic form of what a restart does to a worker or the prediction server mid-transaction.
    const child = spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), path.join(__dirname, '..', 'support', 'fault-pg-checkout-main.ts')], {
      env: { ...process.env, DATABASE_URL: database.url },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await until('the child to hold a connection', async () => /backend \d+/.test(out), 30_000);
    const backend = Number(/backend (\d+)/.exec(out)![1]);
    const admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect();
    try {
      await admin.query('select pg_terminate_backend($1)', [backend]);
    } finally {
      await admin.end();
    }
    child.stdin!.write('go\n');
    const code = await exited;
    console.log(`checked-out connection terminated: child exited ${code}; ${out.trim().split('\n').slice(-3).join(' | ')}`);
    expect(out, 'the process crashed on an unhandled pg client error event: add pool.on("connect", (client) => client.on("error", () => {})) in lineage/db.ts').toMatch(/survived: /);
    expect(code).toBe(0);
  });
});
