// Security basics. (1) Hostile identifiers and values through Kysely: refused by validation or
// stored literally as parameters, never executed — every table still there afterwards. (2) No
// secrets and no raw feature values in logs and Temporal payloads: a retrain through the real
// worker process (`flywheel worker`, DATABASE_URL with a password) whose logs and workflow history
// are scanned for the password and for marker feature values and entity ids. (3) The prediction
// server limits body size and request rate per client (token bucket per X-API-Key or address).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApplicationFailure } from '@temporalio/client';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRetrain } from '../../client/retrain';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { insertLabelledExamples } from '../../lineage/labelled-examples';
import { applyModelSpec } from '../../lineage/models';
import { generateCtrHistory } from '../../scenarios/ctr-history';
import { RateLimiter } from '../../serving/rate-limit';
import { startPredictionServer, type PredictionServer } from '../../serving/server';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { runCli, userLines } from '../support/cli';
import { decodedHistoryText } from '../support/fault-histories';
import { exampleSpec, HISTORY_END } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startTestTemporal, startTestWorkers, type RunningWorkers, type TestTemporal } from '../support/temporal';
import { createAgent, FEATURES, getText, postJson, seedChampion } from '../support/traffic';

const PASSWORD = 'Pl4ceholder-S3cret-7f3a9c';
/** Feature values and an entity id that appear nowhere but in labelled_examples. */
const MARKER_VALUE = 0.4815162342;
const MARKER_ENTITY = 'entity-marker-9d2e71';

const HOSTILE = [`x'; drop table models;--`, `ctr"; delete from models; --`, `Robert'); DROP TABLE model_versions;--`, `a' or '1'='1`, `$1`, `\\'; select pg_sleep(5); --`];

function withPassword(url: string): string {
  const u = new URL(url);
  u.password = PASSWORD;
  return u.toString();
}

function innermostFailure(error: unknown): ApplicationFailure | undefined {
  let found: ApplicationFailure | undefined;
  for (let e = error as { cause?: unknown } | undefined; e; e = e.cause as { cause?: unknown } | undefined) if (e instanceof ApplicationFailure) found = e;
  return found;
}

describe('security basics', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let store: ArtifactStore;
  let temporal: TestTemporal;
  let workers: RunningWorkers;
  let agent: http.Agent;
  let tables: string[];

  const tableNames = async () => (await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public' order by 1`.execute(lineage.db)).rows.map((r) => r.table_name);

  beforeAll(async () => {
    database = await createTestDatabase('flywheel_fault');
    lineage = await openLineageDb({ url: database.url });
    store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-security-'))).toString());
    temporal = await startTestTemporal();
    agent = createAgent(8);
    tables = await tableNames();
    expect(tables).toContain('models');
  });

  afterAll(async () => {
    // Each step on its own: one failing must not leave the dev server or the database behind.
    agent?.destroy();
    await workers?.stop().catch(() => {});
    await temporal?.stop().catch(() => {});
    await lineage?.close().catch(() => {});
    await database?.drop().catch(() => {});
  });

  // ---- 1. Hostile identifiers and values -------------------------------------------------

  it('hostile model names, feature names and SQL identifiers in a spec are refused by validation, naming the field', async () => {
    for (const name of HOSTILE) {
      await expect(applyModelSpec(lineage.db, exampleSpec({ name }))).rejects.toThrow(/invalid model spec: name: use lowercase letters/);
      await expect(applyModelSpec(lineage.db, exampleSpec({ name: 'okname', features: [{ name }] }))).rejects.toThrow(/features\[0\]\.name: use lowercase letters/);
    }
    const tableSource = (overrides: Record<string, unknown>) => exampleSpec({ name: 'tablesrc', data: { source: { kind: 'table', table: 'src', timestampColumn: 'ts', labelColumn: 'y', ...overrides } } });
    await expect(applyModelSpec(lineage.db, tableSource({ labelColumn: `y; drop table models; --` }))).rejects.toThrow(/data\.source\.labelColumn: use a plain SQL identifier/);
    await expect(applyModelSpec(lineage.db, tableSource({ timestampColumn: `ts"--` }))).rejects.toThrow(/data\.source\.timestampColumn: use a plain SQL identifier/);
    await expect(applyModelSpec(lineage.db, tableSource({ table: `src; drop table models` }))).rejects.toThrow(/data\.source\.table: use "table" or "schema\.table"/);
    await expect(applyModelSpec(lineage.db, tableSource({ columns: { ad_relevance: `a"b` } }))).rejects.toThrow(/data\.source\.columns\.ad_relevance: use a plain SQL identifier/);
    expect(await lineage.db.selectFrom('models').select('name').execute()).toEqual([]);
    expect(await tableNames()).toEqual(tables);
  });

  it('an identifier that cannot be validated away (a weight column) is quoted as an identifier, never spliced into SQL', async () => {
    const hostile = `w"; drop table models; --`;
    // A column really named like that: Kysely's sql.ref quotes it ("" escapes the quote), so it reads the column.
    await sql`create table weird_source (ts timestamptz, ${sql.id(hostile)} float8)`.execute(lineage.db);
    await sql`insert into weird_source values (now(), 42)`.execute(lineage.db);
    const compiled = sql`select ${sql.ref(`src.${hostile}`)} as w from weird_source as src`.compile(lineage.db);
    expect(compiled.sql).toBe('select "src"."w""; drop table models; --" as w from weird_source as src');
    expect((await sql<{ w: number }>`select ${sql.ref(`src.${hostile}`)} as w from weird_source as src`.execute(lineage.db)).rows).toEqual([{ w: 42 }]);
    expect(await tableNames()).toEqual([...tables, 'weird_source'].sort());
    await sql`drop table weird_source`.execute(lineage.db);
  });

  it('hostile values are stored literally (parameters), through the DAG and the prediction server', async () => {
    workers = await startTestWorkers(temporal.server.address, { db: lineage.db, store });
    // A model whose log carries hostile strings in the entity id and in a categorical feature.
    await applyModelSpec(lineage.db, exampleSpec({ name: 'literal', features: [...FEATURES.map((name) => ({ name })), { name: 'campaign', type: 'categorical' }] }));
    const rows = generateCtrHistory({ seed: 5, rows: 1000, end: HISTORY_END, days: 30 }).map((r, i) => ({ ...r, entityId: HOSTILE[i % HOSTILE.length], features: { ...r.features, campaign: HOSTILE[(i * 7) % HOSTILE.length] } }));
    await insertLabelledExamples(lineage.db, 'literal', rows as never);
    const trigger = `manual'); drop table pipeline_runs; --`;
    const result = await (await startRetrain(temporal.client, { model: 'literal', referenceTime: HISTORY_END.toISOString(), idempotencyKey: 'hostile', trigger })).result();
    expect(['promoted', 'rejected']).toContain(result.decision);
    const run = await lineage.db.selectFrom('pipeline_runs').select('trigger').where('id', '=', 'retrain/literal/hostile').executeTakeFirstOrThrow();
    expect(run.trigger).toBe(trigger);
    const entities = await lineage.db.selectFrom('labelled_examples').select('entity_id').distinct().where('model_name', '=', 'literal').orderBy('entity_id').execute();
    expect(new Set(entities.map((e) => e.entity_id))).toEqual(new Set(HOSTILE));

    // A retrain of a model whose name is SQL: an unknown model, named literally.
    const failed = await startRetrain(temporal.client, { model: HOSTILE[0], referenceTime: HISTORY_END.toISOString(), idempotencyKey: 'sqlname' }).then((h) => h.result()).then(
      () => null,
      (e: unknown) => e,
    );
    expect(innermostFailure(failed)?.type).toBe('UnknownModel');
    expect(innermostFailure(failed)?.message).toContain(`unknown model "${HOSTILE[0]}"`);

    // The prediction server: hostile unit ids and feedback event types land in the logs as sent.
    await seedChampion(lineage.db, store, 'served', 'good');
    const server = await startPredictionServer({ db: lineage.db, readArtifact: (uri) => store.get(uri), refreshMs: 500, log: { flushMs: 20 } });
    try {
      const features = Object.fromEntries(FEATURES.map((f) => [f, 0.1]));
      const ids: string[] = [];
      for (const unitId of HOSTILE) {
        const res = await postJson<{ requestId: string }>(agent, server.url, '/predict', { model: 'served', unitId, features });
        expect(res.status).toBe(200);
        ids.push(res.body.requestId);
        expect((await postJson(agent, server.url, '/feedback', { requestId: res.body.requestId, event: unitId })).status).toBe(202);
      }
      expect(await server.flush()).toBe(0);
      const logged = await lineage.db.selectFrom('prediction_log').select(['request_id', 'unit_id']).where('request_id', 'in', ids).execute();
      expect(new Map(logged.map((r) => [r.request_id, r.unit_id]))).toEqual(new Map(ids.map((id, i) => [id, HOSTILE[i]])));
      const events = await lineage.db.selectFrom('outcome_events').select(['request_id', 'event_type']).where('request_id', 'in', ids).execute();
      expect(new Map(events.map((r) => [r.request_id, r.event_type]))).toEqual(new Map(ids.map((id, i) => [id, HOSTILE[i]])));
    } finally {
      await server.close();
    }
    expect(await tableNames()).toEqual(tables);
    expect(await lineage.db.selectFrom('models').select('name').orderBy('name').execute()).toEqual([{ name: 'literal' }, { name: 'served' }]);
  });

  // ---- 2. Secrets and raw payloads -------------------------------------------------------

  let workerLog = '';
  let historyJson = '';
  let trainerSawDatabaseUrl: string | undefined;

  it('a retrain through the real worker process: no password and no raw feature values in its logs or Temporal payloads', { timeout: 240_000 }, async () => {
    // Only the worker process under test may take these tasks.
    await workers?.stop();
    workers = undefined as unknown as RunningWorkers;
    const secretUrl = withPassword(database.url);
    // Trust auth on the test server accepts any password: the worker really connects with this URL.
    const marked = generateCtrHistory({ seed: 9, rows: 1000, end: HISTORY_END, days: 30 }).map((r, i) => ({ ...r, entityId: i % 10 === 0 ? MARKER_ENTITY : r.entityId, features: { ...r.features, ad_relevance: i % 10 === 0 ? MARKER_VALUE : r.features.ad_relevance } }));
    await applyModelSpec(lineage.db, exampleSpec({ name: 'secrets' }));
    await insertLabelledExamples(lineage.db, 'secrets', marked);
    // A command trainer that reports only whether DATABASE_URL reached it (never its value).
    await applyModelSpec(
      lineage.db,
      exampleSpec({ name: 'envprobe', trainer: { type: 'command', command: [process.execPath, '-e', "process.stderr.write('DATABASE_URL ' + (process.env.DATABASE_URL ? 'present' : 'absent')); process.exit(65)"] } }),
    );
    await insertLabelledExamples(lineage.db, 'envprobe', generateCtrHistory({ seed: 10, rows: 600, end: HISTORY_END, days: 30 }));

    const child: ChildProcess = spawn(process.execPath, [path.join(__dirname, '..', '..', 'bin', 'flywheel'), 'worker'], {
      env: { ...process.env, TEMPORAL_ADDRESS: temporal.server.address, DATABASE_URL: secretUrl, FLYWHEEL_ARTIFACT_ROOT: store.rootUri, FLYWHEEL_SDK_LOG_LEVEL: 'INFO' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (workerLog += d));
    child.stderr!.on('data', (d) => (workerLog += d));
    try {
      const deadline = Date.now() + 120_000;
      while (!workerLog.includes('polling') && Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`worker exited: ${workerLog}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const handle = await startRetrain(temporal.client, { model: 'secrets', referenceTime: HISTORY_END.toISOString(), idempotencyKey: 'scan' });
      const result = await handle.result();
      expect(['promoted', 'rejected']).toContain(result.decision);
      const probe = await startRetrain(temporal.client, { model: 'envprobe', referenceTime: HISTORY_END.toISOString(), idempotencyKey: 'scan' });
      const probeError = await probe.result().then(
        () => null,
        (e: unknown) => e,
      );
      trainerSawDatabaseUrl = /DATABASE_URL (present|absent)/.exec(innermostFailure(probeError)?.message ?? '')?.[1];
      const histories = [await handle.fetchHistory(), await probe.fetchHistory()];
      historyJson = decodedHistoryText(histories);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    console.log(`worker log ${workerLog.length} chars, histories ${historyJson.length} chars; trainer saw DATABASE_URL: ${trainerSawDatabaseUrl}`);
    expect(workerLog).toMatch(/flywheel worker .* polling/);
    expect(workerLog).toContain(':***@');
    expect(historyJson.length).toBeGreaterThan(10_000);
    // The decoded payloads are really searched: the run's own names are there.
    expect(historyJson.includes('retrain/secrets/scan'), 'decoded history names the run').toBe(true);
    expect(historyJson.includes('DATABASE_URL absent'), 'decoded history carries the probe failure').toBe(true);
    for (const [what, text] of [['worker log', workerLog], ['workflow histories', historyJson]] as const) {
      expect(text.includes(PASSWORD), `${what} carries the DATABASE_URL password`).toBe(false);
      expect(text.includes('4815162342'), `${what} carries a raw feature value`).toBe(false);
      expect(text.includes(MARKER_ENTITY), `${what} carries an entity id`).toBe(false);
    }
    // The claim check holds: payloads name the snapshot and the model, they do not carry them.
    expect(/datasets\/secrets\/[0-9a-f]{64}\/data\.arrow/.test(historyJson), 'history names the snapshot URI').toBe(true);
  });

  it('a command trainer does not inherit the worker\'s secrets: DATABASE_URL (with its password) is stripped from its environment', () => {
    expect(trainerSawDatabaseUrl).toBe('absent');
  });

  it('a command that cannot reach the database names it with the password redacted', async () => {
    const url = withPassword(database.url).replace(database.name, 'flywheel_missing_db');
    for (const args of [['models', 'list'], ['worker']]) {
      const result = await runCli(args, { DATABASE_URL: url, TEMPORAL_ADDRESS: temporal.server.address }, 60_000);
      expect(result.code).toBe(1);
      const text = userLines(result.stderr + result.stdout).join('\n');
      expect(text).toMatch(/flywheel_missing_db/);
      expect(text).toContain(':***@');
      expect(text).not.toContain(PASSWORD);
    }
  });

  // ---- 3. Serving limits -----------------------------------------------------------------

  it('serving limits the body size and the request rate per client; health and metrics stay reachable', async () => {
    await seedChampion(lineage.db, store, 'limited', 'good').catch(() => {});
    const server = await startPredictionServer({ db: lineage.db, readArtifact: (uri) => store.get(uri), refreshMs: 500, log: { flushMs: 20 }, rateLimit: { perSecond: 5, burst: 10 } });
    try {
      const features = Object.fromEntries(FEATURES.map((f) => [f, 0.2]));
      // Body size: 2 MB is refused at the limit, before the server reads it all.
      const big = await postJson<{ error?: { code: string } }>(agent, server.url, '/predict', { model: 'limited', features, unitId: 'x'.repeat(2_000_000) }, { 'x-api-key': 'big-body-client' });
      expect(big.status).toBe(413);
      // Rate: one client gets its burst of 10, then 429 with Retry-After; another client (API key) is unaffected.
      const statuses: number[] = [];
      let retryAfter: string | undefined;
      for (let i = 0; i < 25; i++) {
        const res = await new Promise<{ status: number; retryAfter?: string; body: string }>((resolve, reject) => {
          const body = JSON.stringify({ model: 'limited', features });
          const req = http.request(new URL('/predict', server.url), { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (r) => {
            let text = '';
            r.on('data', (c) => (text += c));
            r.on('end', () => resolve({ status: r.statusCode ?? 0, retryAfter: r.headers['retry-after'] as string | undefined, body: text }));
          });
          req.on('error', reject);
          req.end(body);
        });
        statuses.push(res.status);
        if (res.status === 429) {
          retryAfter = res.retryAfter;
          expect(JSON.parse(res.body).error).toMatchObject({ code: 'rate_limited', message: expect.stringMatching(/the limit is 5\/s with bursts of 10; retry after \d+ s/) });
        }
      }
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(10);
      expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(12);
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(13);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      const other = await postJson(agent, server.url, '/predict', { model: 'limited', features }, { 'x-api-key': 'another-client' });
      expect(other.status).toBe(200);
      expect((await getText(agent, server.url, '/healthz')).status).toBe(200);
      const metrics = await getText(agent, server.url, '/metrics');
      expect(metrics.body).toMatch(/flywheel_requests_rejected_total\{route="\/predict",reason="rate_limited"\} 1[3-5]/);
      // The bucket refills: after a second the client is served again.
      await new Promise((r) => setTimeout(r, 1_100));
      expect((await postJson(agent, server.url, '/predict', { model: 'limited', features })).status).toBe(200);
    } finally {
      await server.close();
    }
    // Memory stays bounded however many client keys an attacker rotates through.
    const limiter = new RateLimiter({ perSecond: 1, burst: 1, maxClients: 1_000 });
    for (let i = 0; i < 20_000; i++) limiter.take(`key:${i}`);
    expect(limiter.clients).toBe(1_000);
  });
});
