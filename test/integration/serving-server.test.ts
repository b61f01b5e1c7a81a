// The prediction server on a real PostgreSQL: predictions with their logged rows, input errors
// named clearly, feedback, sticky assignment across replicas and restarts, shadow scoring off the
// request path, /rank, routing changes picked up through NOTIFY, /metrics, and a database outage:
// /healthz goes unhealthy, requests keep being served and logged once the database is back.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { applyRoutingChange, whoServed } from '../../lineage/routing';
import { startPredictionServer, type PredictionServer, type PredictionServerOptions } from '../../serving/server';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { adminUrl, createTestDatabase, type TestDatabase } from '../support/postgres';
import { createAgent, getText, postJson, registerVersion, seedChampion, type PredictResponseBody } from '../support/traffic';

const FEATURES = { ad_relevance: 0.5, user_ctr_7d: -0.2, position: 1, hour_sin: 0.3 };

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('prediction server', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let store: ArtifactStore;
  let server: PredictionServer;
  const agent = createAgent(16);
  const start = (extra: Partial<PredictionServerOptions> = {}) =>
    startPredictionServer({ db: lineage.db, readArtifact: (uri) => store.get(uri), listenUrl: database.url, refreshMs: 60_000, log: { flushMs: 20 }, ...extra });

  beforeAll(async () => {
    database = await createTestDatabase();
    lineage = await openLineageDb({ url: database.url });
    store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-serving-'))).toString());
    await seedChampion(lineage.db, store, 'ctr', 'fair');
    await registerVersion(lineage.db, store, 'ctr', 'v2', 'good');
    await seedChampion(lineage.db, store, 'empty-model', 'fair');
    server = await start();
  });

  afterAll(async () => {
    agent.destroy();
    await server?.close();
    await lineage?.close();
    await database?.drop();
  });

  it('serves the champion and logs the served row with its routing', async () => {
    const res = await postJson<PredictResponseBody>(agent, server.url, '/predict', { model: 'ctr', unitId: 'user-1', features: FEATURES });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ version: 'ctr@v1', mode: 'champion' });
    expect(res.body.prediction).toBeGreaterThan(0);
    expect(res.body.prediction).toBeLessThan(1);
    expect(res.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
    await server.flush();
    const row = await lineage.db.selectFrom('prediction_log').selectAll().where('request_id', '=', res.body.requestId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ model_name: 'ctr', version_id: 'ctr@v1', mode: 'served', unit_id: 'user-1', features: FEATURES });
    expect(row.prediction).toBeCloseTo(res.body.prediction, 6);
    expect(row.prediction_detail).toMatchObject({ routing: { mode: 'champion', arm: null } });
  });

  it('refuses bad input with a 4xx naming the problem', async () => {
    const cases: Array<[unknown, number, RegExp]> = [
      [{ model: 'ctr', unitId: 'u', features: { ...FEATURES, position: '1' } }, 400, /features\.position must be a finite number, got the string "1"/],
      [{ model: 'ctr', unitId: 'u', features: { ad_relevance: 1, position: 1 } }, 400, /missing user_ctr_7d, hour_sin/],
      [{ model: 'ctr', unitId: 'u', features: { ...FEATURES, colour: 3 } }, 400, /unexpected colour — model "ctr" takes ad_relevance, user_ctr_7d, position, hour_sin/],
      [{ model: 'nope', unitId: 'u', features: FEATURES }, 404, /unknown model "nope"; known models: ctr, empty-model/],
      [{ unitId: 'u', features: FEATURES }, 400, /"model" is required/],
      [{ model: 'ctr', unitId: 42, features: FEATURES }, 400, /"unitId" must be a non-empty string .* got the number 42/],
      [{ model: 'ctr', features: [1, 2] }, 400, /"features" must be an object of feature name → value, got an array/],
      [{ model: 'ctr', features: FEATURES, extra: true }, 400, /unknown field "extra"; it takes model, unitId, features/],
      [[1, 2, 3], 400, /the body must be a JSON object \(got an array\)/],
    ];
    for (const [body, status, message] of cases) {
      const res = await postJson<{ error: { message: string } }>(agent, server.url, '/predict', body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body.error.message).toMatch(message);
    }
    const malformed = await postJson<{ error: { code: string; message: string } }>(agent, server.url, '/predict', '{"model": "ctr", ');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('malformed_json');
    const big = await postJson<{ error: { code: string; message: string } }>(agent, server.url, '/predict', { model: 'ctr', features: FEATURES, pad: 'x'.repeat(70_000) });
    expect(big.status).toBe(413);
    expect(big.body.error.message).toMatch(/larger than the 65536-byte limit/);
    const text = await postJson<{ error: { code: string } }>(agent, server.url, '/predict', 'model=ctr', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    const missing = await getText(agent, server.url, '/nowhere');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatch(/POST \/predict, POST \/rank, POST \/feedback, GET \/healthz, GET \/metrics/);
  });

  it('appends feedback to outcome_events, by request or by unit', async () => {
    const pred = await postJson<PredictResponseBody>(agent, server.url, '/predict', { model: 'ctr', unitId: 'user-fb', features: FEATURES });
    const byRequest = await postJson(agent, server.url, '/feedback', { requestId: pred.body.requestId, event: 'click' });
    expect(byRequest.status).toBe(202);
    const byUnit = await postJson(agent, server.url, '/feedback', { model: 'ctr', unitId: 'user-fb', event: 'purchase', value: 12.5 });
    expect(byUnit.status).toBe(202);
    expect((await postJson<{ error: { message: string } }>(agent, server.url, '/feedback', { requestId: 'not-a-request', event: 'click' })).body.error.message).toMatch(/no prediction with requestId "not-a-request"/);
    expect((await postJson<{ error: { message: string } }>(agent, server.url, '/feedback', { unitId: 'u', event: 'click' })).body.error.message).toMatch(/"model" is required when only "unitId" is given/);
    await server.flush();
    const events = await lineage.db.selectFrom('outcome_events').selectAll().where('unit_id', '=', 'user-fb').orderBy('id').execute();
    expect(events.map((e) => [e.request_id, e.event_type, e.value])).toEqual([
      [pred.body.requestId, 'click', 1],
      [null, 'purchase', 12.5],
    ]);
  });

  it('assigns units stickily, the same on every replica and after a restart, and answers who served a unit', async () => {
    await applyRoutingChange(lineage.db, { model: 'ctr', changeKey: 'test/canary-50', kind: 'canary', reason: 'test', start: [{ versionId: 'ctr@v2', mode: 'canary', trafficPercent: 50, salt: 'sticky-test' }] });
    await waitFor(() => server.routing.get('ctr')?.routing.canary?.percent === 50, 5_000, 'the canary route');
    const replica = await start();
    try {
      const seen = new Map<string, string>();
      for (let u = 0; u < 60; u++) {
        for (const target of [server, replica, server]) {
          const res = await postJson<PredictResponseBody>(agent, target.url, '/predict', { model: 'ctr', unitId: `sticky-${u}`, features: FEATURES });
          const before = seen.get(`sticky-${u}`);
          if (before) expect(res.body.version).toBe(before);
          seen.set(`sticky-${u}`, res.body.version);
        }
      }
      const versions = [...seen.values()];
      expect(versions.filter((v) => v === 'ctr@v2').length).toBeGreaterThan(15);
      expect(versions.filter((v) => v === 'ctr@v1').length).toBeGreaterThan(15);
      await server.flush();
      const answer = await whoServed(lineage.db, 'ctr', 'sticky-7', new Date());
      expect(answer.routed?.versionId).toBe(seen.get('sticky-7'));
      expect(answer.lastLogged?.versionId).toBe(seen.get('sticky-7'));
      const before = await whoServed(lineage.db, 'ctr', 'sticky-7', new Date(Date.now() - 3_600_000));
      expect(before.routed).toBeNull();
    } finally {
      await replica.close();
    }
    await applyRoutingChange(lineage.db, { model: 'ctr', changeKey: 'test/canary-end', kind: 'end', reason: 'test over', end: [{ mode: 'canary' }] });
    await waitFor(() => server.routing.get('ctr')?.routing.canary === null, 5_000, 'the canary to end');
  });

  it('scores shadow versions after the response and logs them against the served request', async () => {
    await applyRoutingChange(lineage.db, { model: 'ctr', changeKey: 'test/shadow', kind: 'shadow', reason: 'test', start: [{ versionId: 'ctr@v2', mode: 'shadow', trafficPercent: 100 }] });
    await waitFor(() => (server.routing.get('ctr')?.routing.shadows.length ?? 0) === 1, 5_000, 'the shadow route');
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await postJson<PredictResponseBody>(agent, server.url, '/predict', { model: 'ctr', unitId: `sh-${i}`, features: FEATURES });
      expect(res.body.version).toBe('ctr@v1');
      ids.push(res.body.requestId);
    }
    await server.flush();
    const shadows = await lineage.db.selectFrom('prediction_log').selectAll().where('mode', '=', 'shadow').where('version_id', '=', 'ctr@v2').execute();
    const servedIds = shadows.map((r) => (r.prediction_detail as { servedRequestId: string }).servedRequestId);
    expect(servedIds).toEqual(expect.arrayContaining(ids));
    expect(shadows.every((r) => r.request_id.endsWith('~shadow~ctr@v2'))).toBe(true);
    await applyRoutingChange(lineage.db, { model: 'ctr', changeKey: 'test/shadow-end', kind: 'end', reason: 'test over', end: [{ mode: 'shadow' }] });
  });

  it('ranks candidates, interleaves two rankers with teams logged, and credits clicks on items', async () => {
    const candidates = [
      { id: 'a', features: { ...FEATURES, ad_relevance: 2 } },
      { id: 'b', features: { ...FEATURES, ad_relevance: -2 } },
      { id: 'c', features: { ...FEATURES, ad_relevance: 0 } },
    ];
    const plain = await postJson<{ mode: string; ranking: Array<{ id: string; score: number }> }>(agent, server.url, '/rank', { model: 'ctr', unitId: 'r1', candidates });
    expect(plain.status).toBe(200);
    expect(plain.body.mode).toBe('champion');
    expect(plain.body.ranking.map((r) => r.id)).toEqual(['a', 'c', 'b']);
    expect((await postJson<{ error: { message: string } }>(agent, server.url, '/rank', { model: 'ctr', candidates: [candidates[0], candidates[0]] })).body.error.message).toMatch(/"a" appears twice/);

    await applyRoutingChange(lineage.db, {
      model: 'ctr',
      changeKey: 'test/interleave',
      kind: 'interleaving',
      reason: 'test',
      start: [
        { versionId: 'ctr@v1', mode: 'interleaving', trafficPercent: 100, arm: 'A', salt: 'il' },
        { versionId: 'ctr@v2', mode: 'interleaving', trafficPercent: 100, arm: 'B', salt: 'il' },
      ],
    });
    await waitFor(() => server.routing.get('ctr')?.routing.interleaving !== null, 5_000, 'the interleaving route');
    const mixed = await postJson<{ requestId: string; mode: string; versions: string[]; ranking: Array<{ id: string }> }>(agent, server.url, '/rank', { model: 'ctr', unitId: 'r2', candidates });
    expect(mixed.body.mode).toBe('interleaving');
    expect(mixed.body.versions).toEqual(['ctr@v1', 'ctr@v2']);
    expect(new Set(mixed.body.ranking.map((r) => r.id))).toEqual(new Set(['a', 'b', 'c']));
    const click = await postJson<{ requestId: string }>(agent, server.url, '/feedback', { requestId: mixed.body.requestId, itemId: mixed.body.ranking[1].id, event: 'click' });
    expect(click.status).toBe(202);
    expect(click.body.requestId).toBe(`${mixed.body.requestId}/1`);
    expect((await postJson<{ error: { message: string } }>(agent, server.url, '/feedback', { requestId: mixed.body.requestId, event: 'click' })).body.error.message).toMatch(/name the item .* with "itemId"/);
    await server.flush();
    const rows = await lineage.db.selectFrom('prediction_log').selectAll().where('request_id', 'like', `${mixed.body.requestId}/%`).orderBy('request_id').execute();
    expect(rows).toHaveLength(3);
    const teams = rows.map((r) => (r.prediction_detail as { rank: { team: string } }).rank.team);
    expect(teams.filter((t) => t === 'A').length + teams.filter((t) => t === 'B').length).toBe(3);
    rows.forEach((r) => expect(r.version_id).toBe((r.prediction_detail as { rank: { team: string } }).rank.team === 'A' ? 'ctr@v1' : 'ctr@v2'));
    await applyRoutingChange(lineage.db, { model: 'ctr', changeKey: 'test/interleave-end', kind: 'end', reason: 'test over', end: [{ mode: 'interleaving' }] });
  });

  it('picks up a routing change through NOTIFY within a moment, without the periodic re-read', async () => {
    const before = server.routing.get('ctr')!.routing.revision;
    const started = Date.now();
    await applyRoutingChange(lineage.db, { model: 'ctr', changeKey: 'test/notify-canary', kind: 'canary', reason: 'test', start: [{ versionId: 'ctr@v2', mode: 'canary', trafficPercent: 100, salt: 'n' }] });
    await waitFor(() => server.routing.get('ctr')!.routing.canary?.percent === 100, 3_000, 'the notified change');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(server.routing.get('ctr')!.routing.revision).toBeGreaterThan(before);
    const res = await postJson<PredictResponseBody>(agent, server.url, '/predict', { model: 'ctr', unitId: 'n-1', features: FEATURES });
    expect(res.body).toMatchObject({ version: 'ctr@v2', mode: 'canary' });
    await applyRoutingChange(lineage.db, { model: 'ctr', changeKey: 'test/notify-end', kind: 'end', reason: 'test over', end: [{ mode: 'canary' }] });
    await waitFor(() => server.routing.get('ctr')!.routing.canary === null, 3_000, 'the canary to end');
  });

  it('exposes Prometheus metrics', async () => {
    const res = await getText(agent, server.url, '/metrics');
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/flywheel_requests_total\{route="\/predict",model="ctr",version="ctr@v1",mode="champion",status="200"\} \d+/);
    expect(res.body).toMatch(/flywheel_request_duration_seconds_bucket\{le="0.001",route="\/predict",model="ctr",version="ctr@v1",mode="champion"\}/);
    expect(res.body).toMatch(/flywheel_log_queue_depth\{log="predictions"\} \d+/);
    expect(res.body).toMatch(/flywheel_routing_revision\{model="ctr"\} \d+/);
    expect(res.body).toMatch(/flywheel_requests_rejected_total\{route="\/predict",reason="invalid_features"\} \d+/);
    expect(res.body).toMatch(/flywheel_db_up 1/);
  });

  it('keeps serving through a database outage: unhealthy while down, every acknowledged row written after', async () => {
    const admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect();
    const outageServer = await start({ healthIntervalMs: 200, log: { flushMs: 20, retryMs: 50, maxRetryMs: 200 } });
    try {
      const healthy = await getText(agent, outageServer.url, '/healthz');
      expect(healthy.status).toBe(200);
      expect(JSON.parse(healthy.body)).toMatchObject({ status: 'ok', db: { reachable: true } });

      // Take the test database away: no new connections, and every existing one is cut.
      await admin.query(`alter database "${database.name}" with allow_connections false`);
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database.name]);
      await waitFor(async () => (await getText(agent, outageServer.url, '/healthz')).status === 503, 10_000, '/healthz to report the outage');
      const down = JSON.parse((await getText(agent, outageServer.url, '/healthz')).body);
      expect(down).toMatchObject({ status: 'unhealthy', db: { reachable: false } });

      const ids: string[] = [];
      for (let i = 0; i < 50; i++) {
        const res = await postJson<PredictResponseBody>(agent, outageServer.url, '/predict', { model: 'ctr', unitId: `outage-${i}`, features: FEATURES });
        expect(res.status).toBe(200);
        ids.push(res.body.requestId);
      }
      await new Promise((r) => setTimeout(r, 500));
      expect(outageServer.predictions.depth).toBeGreaterThanOrEqual(50);
      expect(outageServer.predictions.failures).toBeGreaterThan(0);
      expect((await getText(agent, outageServer.url, '/metrics')).body).toMatch(/flywheel_log_flush_failures_total\{log="predictions"\} [1-9]/);

      await admin.query(`alter database "${database.name}" with allow_connections true`);
      await waitFor(async () => (await getText(agent, outageServer.url, '/healthz')).status === 200, 15_000, '/healthz to recover by itself');
      expect(await outageServer.flush(15_000)).toBe(0);
      const written = await lineage.db.selectFrom('prediction_log').select('request_id').where('request_id', 'in', ids).execute();
      expect(written).toHaveLength(50);
      // The server on the main connection pool recovers too.
      const after = await postJson<PredictResponseBody>(agent, server.url, '/predict', { model: 'ctr', unitId: 'after-outage', features: FEATURES });
      expect(after.status).toBe(200);
    } finally {
      await admin.query(`alter database "${database.name}" with allow_connections true`).catch(() => {});
      await admin.end();
      await outageServer.close();
    }
  });

  it('refuses rather than loses: a full log queue answers 503 and keeps every queued row', async () => {
    let fail = true;
    const written: string[] = [];
    const tiny = await start({
      log: { flushMs: 10, maxQueued: 5, retryMs: 20, maxRetryMs: 40 },
      writePredictions: async (rows) => {
        if (fail) throw Object.assign(new Error('connection terminated'), { code: '57P01' });
        written.push(...rows.map((r) => r.requestId));
      },
    });
    try {
      const statuses: number[] = [];
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) {
        const res = await postJson<PredictResponseBody & { error?: { code: string } }>(agent, tiny.url, '/predict', { model: 'ctr', unitId: `full-${i}`, features: FEATURES });
        statuses.push(res.status);
        if (res.status === 200) ids.push(res.body.requestId);
        else expect(res.body.error?.code).toBe('log_backlog');
      }
      expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      expect(statuses.slice(5)).toEqual([503, 503, 503]);
      fail = false;
      expect(await tiny.flush(5_000)).toBe(0);
      expect(written.sort()).toEqual(ids.sort());
    } finally {
      await tiny.close();
    }
  });

  it('answers 503 for a known model with nothing deployed, and reports health', async () => {
    await lineage.db.updateTable('deployments').set({ ended_at: new Date(), end_reason: 'test' }).where('model_name', '=', 'empty-model').execute();
    await waitFor(async () => {
      const r = await postJson(agent, server.url, '/predict', { model: 'empty-model', features: FEATURES });
      return r.status === 503;
    }, 8_000, 'the model to lose its deployment');
    const health = JSON.parse((await getText(agent, server.url, '/healthz')).body);
    expect(health.routing.models.ctr).toMatchObject({ champion: 'ctr@v1', canary: null });
    expect(health.routing.listening).toBe(true);
  });
});
