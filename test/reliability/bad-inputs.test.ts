// The catalogue of bad inputs, one test each: model specs (malformed, contradictory), data windows
// (unknown model, empty, too small, one class, NaN/inf, schema drift), the prediction server's
// HTTP bodies, trainer commands that hang, crash or write a corrupt ONNX file. Each must be refused
// with a clear error — its type and a message naming the field or value and the fix — and change
// nothing (no version, dataset or deployment; the champion untouched). Real stack: Temporal dev
// server, PostgreSQL, production workers and activities, the prediction server on loopback.
// Bad specs go through the real apply path too (client/apply.ts applyModel, and `flywheel models
// apply`): the same clear error, and the models table (and Temporal's schedules) unchanged. Every
// refused HTTP body is checked to have written no prediction_log row (counted before and after,
// with the server's log flushed).
// The last line printed is the count ("bad inputs refused: N/N").
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyModel } from '../../client/apply';
import { startRetrain } from '../../client/retrain';
import { ORCHESTRATION_QUEUE } from '../../workflows/task-queues';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { importLabelledFile } from '../../lineage/labelled-import';
import { insertLabelledExamples } from '../../lineage/labelled-examples';
import { applyModelSpec } from '../../lineage/models';
import { applyRoutingChange } from '../../lineage/routing';
import { generateCtrHistory } from '../../scenarios/ctr-history';
import { startPredictionServer, type PredictionServer } from '../../serving/server';
import { scheduleIdFor } from '../../schedules/reconcile';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { InvalidSpecError, parseModelSpec } from '../../spec/model-spec';
import { runCli, userLines } from '../support/cli';
import { exampleSpec, HISTORY_END } from '../support/fixtures';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startTestTemporal, startTestWorkers, type RunningWorkers, type TestTemporal } from '../support/temporal';
import { createAgent, FEATURES, getText, postJson, registerVersion, seedChampion } from '../support/traffic';

const NODE = process.execPath;
const catalogue: Array<{ name: string; refused: boolean; error?: string }> = [];
/** The last error message a test saw (spec error, workflow failure, HTTP error body), for the printed catalogue. */
let lastMessage: string | undefined;
const saw = (message: string | undefined) => {
  if (message) lastMessage = message;
  return message ?? '';
};

/** One catalogue entry: a test that passes only when the bad input was refused as expected. */
function refuses(name: string, body: () => Promise<void>, timeout?: number): void {
  it(
    name,
    async () => {
      const entry: { name: string; refused: boolean; error?: string } = { name, refused: false };
      catalogue.push(entry);
      lastMessage = undefined;
      await body();
      entry.refused = true;
      entry.error = lastMessage;
    },
    timeout,
  );
}

/** The innermost ApplicationFailure of a failed workflow: the activity's own type and message. */
function innermostFailure(error: unknown): { type: string; message: string } {
  let found: ApplicationFailure | undefined;
  for (let e = error as { cause?: unknown } | undefined; e; e = e.cause as { cause?: unknown } | undefined) if (e instanceof ApplicationFailure) found = e;
  if (!found) throw new Error(`no ApplicationFailure in ${String(error)}`);
  saw(`[${found.type}] ${found.message}`);
  return { type: found.type ?? '', message: found.message };
}

function specError(input: unknown): string {
  try {
    parseModelSpec(input);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidSpecError);
    return saw((error as Error).message);
  }
  throw new Error('the spec was accepted');
}

/** Every row of the models table, as stored: a refused apply must leave it exactly as it was. */
async function modelRows(db: LineageDb['db']): Promise<unknown[]> {
  return db.selectFrom('models').select(['name', 'spec_hash', 'stage', 'spec', 'updated_at']).orderBy('name').execute();
}

describe('bad inputs: each refused with a clear error, nothing changed', () => {
  let database: TestDatabase;
  let lineage: LineageDb;
  let store: ArtifactStore;
  let temporal: TestTemporal;
  let workers: RunningWorkers;
  let server: PredictionServer;
  let agent: http.Agent;
  let scratch: string;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(tmpdir(), 'flywheel-bad-inputs-'));
    database = await createTestDatabase('flywheel_fault');
    lineage = await openLineageDb({ url: database.url });
    store = openArtifactStore(pathToFileURL(path.join(scratch, 'artifacts')).toString());
    temporal = await startTestTemporal();
    workers = await startTestWorkers(temporal.server.address, { db: lineage.db, store });
    await seedChampion(lineage.db, store, 'served', 'good');
    server = await startPredictionServer({ db: lineage.db, readArtifact: (uri) => store.get(uri), listenUrl: database.url, refreshMs: 500, log: { flushMs: 20 } });
    agent = createAgent(4);
  });

  afterAll(async () => {
    agent?.destroy();
    await server?.close();
    await workers?.stop();
    await temporal?.stop();
    await lineage?.close();
    await database?.drop();
    const refused = catalogue.filter((c) => c.refused).length;
    for (const c of catalogue) console.log(`  ${c.refused ? 'refused' : 'NOT REFUSED'}: ${c.name}${c.error ? `\n      → ${c.error.length > 300 ? `${c.error.slice(0, 297)}...` : c.error}` : ''}`);
    console.log(`bad inputs refused: ${refused}/${catalogue.length}`);
  });

  /** Seeds a model with the example spec (plus overrides) and the given rows. */
  async function model(name: string, rows: Array<{ entityId: string; eventTime: Date; features: Record<string, unknown>; label: number }>, overrides: Record<string, unknown> = {}): Promise<void> {
    await applyModelSpec(lineage.db, exampleSpec({ name, ...overrides }));
    if (rows.length) await insertLabelledExamples(lineage.db, name, rows as never);
  }

  const history = (seed: number, rows = 1200) => generateCtrHistory({ seed, rows, end: HISTORY_END, days: 30 });

  /** Runs the DAG and expects it to fail; returns the activity's failure and checks nothing was written for the model. */
  async function failedRun(modelName: string, key: string, referenceTime = HISTORY_END.toISOString(), options: { datasetFormed?: boolean } = {}): Promise<{ type: string; message: string }> {
    const before = await lineageCounts(modelName);
    const handle = await startRetrain(temporal.client, { model: modelName, referenceTime, idempotencyKey: key });
    const error = await handle.result().then(
      (r) => new Error(`expected the run to fail, it ${r.decision} ${r.versionId}`),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const failure = innermostFailure(error);
    // A failure after the dataset step leaves the (content-addressed, reusable) snapshot; never a version or a deployment.
    const after = await lineageCounts(modelName);
    expect(after).toEqual(options.datasetFormed ? { ...before, datasets: after.datasets } : before);
    expect(after.datasets - before.datasets).toBeLessThanOrEqual(options.datasetFormed ? 1 : 0);
    const run = await lineage.db.selectFrom('pipeline_runs').select(['status', 'error']).where('id', '=', handle.workflowId).executeTakeFirst();
    if (run) expect(run).toMatchObject({ status: 'failed', error: expect.any(String) });
    return failure;
  }

  /**
   * The real apply path (client/apply.ts applyModel: validation, dependency checks, lineage write,
   * Temporal reconcile) refuses `input` with InvalidSpecError; the models table is unchanged and no
   * schedule exists for `name`. Returns the message (the same one parseModelSpec gives, for specs).
   */
  async function applyRefused(input: unknown, name?: string): Promise<string> {
    const before = await modelRows(lineage.db);
    const error = await applyModel(temporal.client, lineage.db, input).then(
      (r) => new Error(`the spec was applied: ${r.model} ${r.outcome}`),
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(InvalidSpecError);
    expect(await modelRows(lineage.db)).toEqual(before);
    if (name) await expect(temporal.client.schedule.getHandle(scheduleIdFor(name)).describe()).rejects.toThrow();
    return saw(error.message);
  }

  /** parseModelSpec and the apply path refuse `input` with the same message. */
  async function specAndApplyError(input: unknown, name?: string): Promise<string> {
    const parsed = specError(input);
    expect(await applyRefused(input, name)).toBe(parsed);
    return parsed;
  }

  async function lineageCounts(modelName: string): Promise<Record<string, number>> {
    const count = async (table: 'model_versions' | 'datasets' | 'deployments') =>
      Number((await lineage.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).where('model_name', '=', modelName).executeTakeFirstOrThrow()).n);
    return { versions: await count('model_versions'), datasets: await count('datasets'), deployments: await count('deployments') };
  }

  // ---- Model specs ------------------------------------------------------------------------

  refuses('spec: not JSON at all (flywheel models apply) — names the file and the parse error', async () => {
    const file = path.join(scratch, 'broken.model.json');
    writeFileSync(file, '{ "name": "broken", "features": [ { "name": "x" } ');
    const result = await runCli(['models', 'apply', file], { DATABASE_URL: database.url });
    expect(result.code).toBe(1);
    expect(userLines(result.stderr).join('\n')).toMatch(/broken\.model\.json/);
    expect(saw(userLines(result.stderr).join('\n'))).toMatch(/JSON/i);
    expect(await lineage.db.selectFrom('models').select('name').where('name', '=', 'broken').execute()).toEqual([]);
  });

  refuses('spec: not an object', async () => {
    expect(await specAndApplyError(['ctr'])).toMatch(/invalid model spec: \(spec\): /);
    expect(await specAndApplyError('ctr')).toMatch(/invalid model spec/);
  });

  refuses('spec: wrong types name every bad field', async () => {
    const message = await specAndApplyError({ name: 'typed', features: [{ name: 'x', type: 'number' }], data: { windowDays: 'thirty', validationFraction: 2 }, trainer: { epochs: 0 } });
    expect(message).toMatch(/features\[0\]/);
    expect(message).toMatch(/data\.windowDays/);
    expect(message).toMatch(/data\.validationFraction/);
    expect(message).toMatch(/trainer\.epochs/);
  });

  refuses('spec: a misspelt field is not silently ignored', async () => {
    expect(await specAndApplyError({ ...exampleSpec({ name: 'typo' }), trainr: { epochs: 5 } }, 'typo')).toMatch(/trainr/);
  });

  refuses('spec: duplicate feature names', async () => {
    expect(await specAndApplyError(exampleSpec({ name: 'dupes', features: [{ name: 'x' }, { name: 'x' }] }), 'dupes')).toMatch(/features\[1\]\.name: duplicate feature "x"/);
  });

  refuses('spec: no features', async () => {
    expect(await specAndApplyError(exampleSpec({ name: 'nofeatures', features: [] }), 'nofeatures')).toMatch(/features: declare at least one feature/);
  });

  refuses('spec contradiction: regression task with the logistic_regression trainer', async () => {
    expect(await specAndApplyError(exampleSpec({ name: 'contra', task: 'regression' }), 'contra')).toMatch(/trainer\.type: logistic_regression is a binary classifier/);
  });

  refuses('spec contradiction: rollout canary steps that do not increase, minDuration above maxDuration', async () => {
    const message = await specAndApplyError(
      exampleSpec({ name: 'contra2', rollout: { phases: [{ kind: 'canary', steps: [50, 10, 100] }, { kind: 'shadow', minDuration: '2h', maxDuration: '1h' }] } }),
      'contra2',
    );
    expect(message).toMatch(/rollout\.phases\[0\]\.steps\[1\]: canary steps must increase/);
    expect(message).toMatch(/rollout\.phases\[1\]\.maxDuration: maxDuration 1h is shorter than minDuration 2h/);
  });

  refuses('spec contradiction: a schedule with both every and cron', async () => {
    expect(await specAndApplyError(exampleSpec({ name: 'contra3', stage: 2, schedule: { every: '1d', cron: '0 3 * * *' } }), 'contra3')).toMatch(/schedule.*exactly one of schedule\.every/);
  });

  refuses('apply: dependsOn an unknown model (flywheel models apply) — names it, exit 1, nothing stored, no schedule', async () => {
    const file = path.join(scratch, 'orphan-dep.model.json');
    writeFileSync(file, JSON.stringify(exampleSpec({ name: 'orphandep', stage: 2, schedule: { every: '1d' }, dependsOn: ['nosuchupstream'] })));
    const before = await modelRows(lineage.db);
    const result = await runCli(['models', 'apply', file], { DATABASE_URL: database.url, TEMPORAL_ADDRESS: temporal.server.address });
    expect(result.code).toBe(1);
    expect(saw(userLines(result.stderr).join('\n'))).toMatch(/dependsOn: unknown model\(s\) nosuchupstream: apply them first/);
    expect(await modelRows(lineage.db)).toEqual(before);
    await expect(temporal.client.schedule.getHandle(scheduleIdFor('orphandep')).describe()).rejects.toThrow();
  }, 120_000);

  refuses('apply: a dependency cycle — names the cycle, the stored specs unchanged', async () => {
    expect((await applyModel(temporal.client, lineage.db, exampleSpec({ name: 'cyc-a' }))).outcome).toBe('created');
    expect((await applyModel(temporal.client, lineage.db, exampleSpec({ name: 'cyc-b', dependsOn: ['cyc-a'] }))).outcome).toBe('created');
    // Re-applying cyc-a with an edge back to cyc-b would close the loop.
    const message = await applyRefused(exampleSpec({ name: 'cyc-a', dependsOn: ['cyc-b'] }));
    expect(message).toMatch(/dependsOn: dependency cycle (cyc-a → cyc-b → cyc-a|cyc-b → cyc-a → cyc-b); remove one of these edges/);
    const stored = await lineage.db.selectFrom('models').select('spec').where('name', '=', 'cyc-a').executeTakeFirstOrThrow();
    expect((stored.spec as { dependsOn?: string[] }).dependsOn ?? []).toEqual([]);
  });

  // ---- Data windows through the DAG --------------------------------------------------------

  refuses('run: unknown model — UnknownModel, lists the known ones', async () => {
    const failure = await failedRun('nosuchmodel', 'unknown');
    expect(failure.type).toBe('UnknownModel');
    expect(failure.message).toMatch(/unknown model "nosuchmodel": apply its spec first .*known models: .*served/);
  });

  refuses('run: empty window — EmptyDataWindow, says how to fix it', async () => {
    await model('emptywin', history(21, 300));
    const failure = await failedRun('emptywin', 'empty', '2020-01-01T00:00:00Z');
    expect(failure.type).toBe('EmptyDataWindow');
    expect(failure.message).toMatch(/no labelled rows for model "emptywin" in window \[2019-12-02T00:00:00\.000Z, 2020-01-01T00:00:00(\.000)?Z\): load data \(flywheel data import\) or widen data\.windowDays/);
  });

  refuses('run: fewer rows than data.minRows — InsufficientData', async () => {
    await model('fewrows', history(22, 60));
    const failure = await failedRun('fewrows', 'few');
    expect(failure.type).toBe('InsufficientData');
    expect(failure.message).toMatch(/only \d+ labelled rows for model "fewrows".*data\.minRows is 200/);
  });

  refuses('run: one-class window — OneClassWindow', async () => {
    await model('oneclass', history(23).map((r) => ({ ...r, label: 0 })));
    const failure = await failedRun('oneclass', 'oneclass');
    expect(failure.type).toBe('OneClassWindow');
    expect(failure.message).toMatch(/have label 0: a classifier needs both classes/);
  });

  refuses('run: NaN and ±Infinity feature values in the log — refused naming the feature and a row', async () => {
    // JSON cannot carry NaN/Infinity: producers that try write strings (or null); both arrive here.
    const rows = history(24).map((r, i) => (i % 50 === 7 ? { ...r, features: { ...r.features, user_ctr_7d: ['NaN', 'Infinity', '-Infinity'][i % 3] } } : r));
    await model('nanfeat', rows);
    const failure = await failedRun('nanfeat', 'nan');
    // The validation gate counts them and names the feature, the first bad row and its value.
    expect(failure.type).toBe('DataValidationFailed');
    expect(failure.message).toMatch(/feature "user_ctr_7d" has 24 value\(s\) of the wrong type, expected a finite number \(first: row \d+ = "(NaN|Infinity|-Infinity)"\)/);
  });

  refuses('import: NaN, inf and overflowing numbers in a CSV — the file is refused naming each line', async () => {
    const layout = { numeric: ['a', 'b'], categorical: [] };
    for (const [value, line] of [['nan', 2], ['inf', 2], ['-Infinity', 2]] as const) {
      const file = path.join(scratch, `nonfinite-${line}-${value}.csv`);
      writeFileSync(file, `event_time,a,b,label\n2026-01-01T00:00:00Z,1,${value},1\n2026-01-01T01:00:00Z,2,3,0\n`);
      const error = await importLabelledFile(lineage.db, { modelName: 'imported', file, layout, task: 'binary_classification' }).then(() => new Error('imported'), (e: Error) => e);
      expect(saw(error.message)).toMatch(new RegExp(`line ${line}: column 'b' value '${value}' is not a number`));
    }
    expect(await lineage.db.selectFrom('labelled_examples').select('id').where('model_name', '=', 'imported').execute()).toEqual([]);
  });

  refuses('import: an overflowing number (1e999) in a CSV — named by line and column, nothing stored', async () => {
    const file = path.join(scratch, 'overflow.csv');
    writeFileSync(file, 'event_time,a,b,label\n2026-01-01T00:00:00Z,1,1e999,1\n2026-01-01T01:00:00Z,2,3,0\n');
    const error = await importLabelledFile(lineage.db, { modelName: 'overflow', file, layout: { numeric: ['a', 'b'], categorical: [] }, task: 'binary_classification' }).then(() => new Error('imported'), (e: Error) => e);
    expect(saw(error.message)).toMatch(/line 2: column 'b' value '1e999' is not a number/);
    expect(await lineage.db.selectFrom('labelled_examples').select('id').where('model_name', '=', 'overflow').execute()).toEqual([]);
  });

  refuses('schema drift: a feature changes type in the recent part of the log — named with the first bad row', async () => {
    const rows = history(25);
    const drifted = rows.map((r, i) => (i >= rows.length * 0.7 ? { ...r, features: { ...r.features, position: `slot-${r.features.position}` } } : r));
    await model('typedrift', drifted);
    const failure = await failedRun('typedrift', 'typedrift');
    expect(failure.type).toBe('DataValidationFailed');
    expect(failure.message).toMatch(/feature "position" has 360 value\(s\) of the wrong type, expected a finite number \(first: row \d+ = "slot-\d"\)/);
  });

  refuses('schema drift: a feature goes missing from the log — named, with how many rows lack it', async () => {
    const rows = history(26);
    const renamed = rows.map((r, i) => {
      if (i < rows.length * 0.5) return r;
      const { hour_sin, ...rest } = r.features;
      return { ...r, features: { ...rest, hour_of_day_sin: hour_sin } };
    });
    await model('gonedrift', renamed);
    const failure = await failedRun('gonedrift', 'gone');
    expect(failure.type).toBe('DataValidationFailed');
    expect(failure.message).toMatch(/feature "hour_sin" is missing in 50\.0% of rows \(600 of 1200\), above data\.validation\.maxNullRate 5\.0%/);
  });

  refuses('a malformed referenceTime: the client refuses it before starting anything', async () => {
    await model('badref', history(28, 300));
    const error = await startRetrain(temporal.client, { model: 'badref', referenceTime: 'yesterday', idempotencyKey: 'badref-client' }).then(() => new Error('started'), (e: Error) => e);
    expect(saw(error.message)).toMatch(/referenceTime "yesterday" is not an ISO 8601 time/);
    expect(await lineage.db.selectFrom('pipeline_runs').select('id').where('model_name', '=', 'badref').execute()).toEqual([]);
  });

  refuses('a malformed referenceTime from another client (raw workflow start): the run fails with InvalidSpec, nothing recorded', async () => {
    const before = await lineageCounts('badref');
    // What a Python service or `temporal workflow start` would send: no client-side validation.
    const handle = await temporal.client.workflow.start('retrainWorkflow', {
      taskQueue: ORCHESTRATION_QUEUE,
      workflowId: 'retrain/badref/raw',
      args: [{ modelName: 'badref', trigger: 'manual', referenceTime: 'yesterday' }],
    });
    try {
      const outcome = await Promise.race([
        handle.result().then(
          () => ({ type: 'completed', message: '' }),
          (e: unknown) => innermostFailure(e),
        ),
        new Promise<{ type: string; message: string }>((resolve) => setTimeout(() => resolve({ type: 'still running after 30 s', message: '' }), 30_000)),
      ]);
      expect(outcome.type).toBe('InvalidSpec');
      expect(saw(outcome.message)).toMatch(/referenceTime "yesterday" is not an ISO 8601 time/);
      expect(await lineageCounts('badref')).toEqual(before);
      expect(await lineage.db.selectFrom('pipeline_runs').select('id').where('id', '=', 'retrain/badref/raw').execute()).toEqual([]);
    } finally {
      await handle.terminate('bad-input test cleanup').catch(() => {});
    }
  }, 60_000);

  // ---- The prediction server's HTTP bodies ------------------------------------------------

  const predict = async (body: unknown, headers: Record<string, string> = {}) => {
    const res = await postJson<{ error?: { code: string; message: string } }>(agent, server.url, '/predict', body, headers);
    if (res.body?.error) saw(`HTTP ${res.status} ${res.body.error.code}: ${res.body.error.message}`);
    return res;
  };
  const logRows = async () => Number((await lineage.db.selectFrom('prediction_log').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  /** Runs `send` (refused requests) and checks that no prediction_log row was written for it, the server's log flushed before and after. */
  async function unlogged<T>(send: () => Promise<T>): Promise<T> {
    expect(await server.flush()).toBe(0);
    const before = await logRows();
    const result = await send();
    expect(await server.flush()).toBe(0);
    expect(await logRows()).toBe(before);
    return result;
  }
  /** A refused /predict: its answer, and no prediction_log row. */
  const refusedPredict = (body: unknown, headers: Record<string, string> = {}) => unlogged(() => predict(body, headers));
  const okFeatures = Object.fromEntries(FEATURES.map((f) => [f, 0.5]));

  it('control (not a bad input): a valid /predict writes exactly one prediction_log row, so the refusals’ "no row" checks can see one', async () => {
    await server.flush();
    const before = await logRows();
    expect((await predict({ model: 'served', features: okFeatures, unitId: 'control' })).status).toBe(200);
    await server.flush();
    expect(await logRows()).toBe(before + 1);
  });

  refuses('http: an oversize body (over the 64 KiB limit) — 413 body_too_large', async () => {
    const res = await refusedPredict({ model: 'served', features: okFeatures, unitId: 'x'.repeat(70_000) });
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ code: 'body_too_large', message: expect.stringMatching(/larger than the 65536-byte limit/) });
  });

  refuses('http: malformed JSON — 400 malformed_json', async () => {
    const res = await refusedPredict('{"model": "served", "features": {');
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('malformed_json');
    expect(res.body.error?.message).toBe("the body is not valid JSON: Expected property name or '}' in JSON at position 33");
    const typo = await refusedPredict('{"model": "served", "features": {"ad_relevance": x}}');
    expect(typo.body.error?.code).toBe('malformed_json');
    // Node's parser quotes the text around the bad token, so the message says where it broke.
    expect(typo.body.error?.message).toBe(`the body is not valid JSON: Unexpected token 'x', ..."levance": x}}" is not valid JSON`);
  });

  refuses('http: not JSON (text/plain) — 415 naming the content type to use', async () => {
    const res = await refusedPredict('model=served', { 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
    expect(res.body.error).toMatchObject({ code: 'unsupported_media_type', message: expect.stringMatching(/Content-Type: application\/json/) });
  });

  refuses('http: a JSON array instead of an object — 400 invalid_body', async () => {
    const res = await refusedPredict([{ model: 'served' }]);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_body', message: expect.stringMatching(/must be a JSON object \(got an array\)/) });
  });

  refuses('http: an overflowing number (1e999 → Infinity) and a string for a numeric feature — 400 naming both', async () => {
    const raw = `{"model":"served","features":{"ad_relevance":1e999,"user_ctr_7d":"0.3","position":1,"hour_sin":0}}`;
    const res = await refusedPredict(raw);
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('invalid_features');
    expect(res.body.error?.message).toMatch(/features\.ad_relevance must be a finite number, got Infinity/);
    expect(res.body.error?.message).toMatch(/features\.user_ctr_7d must be a finite number, got the string "0\.3"/);
  });

  refuses('http: missing and unexpected features — 400 listing them and what the model takes', async () => {
    const { hour_sin: _drop, ...rest } = okFeatures;
    const res = await refusedPredict({ model: 'served', features: { ...rest, hour_cos: 1 } });
    expect(res.status).toBe(400);
    expect(res.body.error?.message).toMatch(/missing hour_sin; unexpected hour_cos — model "served" takes ad_relevance, user_ctr_7d, position, hour_sin/);
  });

  refuses('http: a prototype-pollution body (__proto__) — 400, nothing polluted', async () => {
    const res = await refusedPredict('{"model":"served","features":{"ad_relevance":1,"user_ctr_7d":1,"position":1,"hour_sin":1,"__proto__":{"polluted":true}}}');
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual({ code: 'forbidden_key', message: 'the body has a "__proto__" or "constructor.prototype" key, which the server refuses (prototype pollution); remove it' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  refuses('http: an unknown model — 404 listing the known ones', async () => {
    const res = await refusedPredict({ model: 'nope', features: okFeatures });
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'unknown_model', message: expect.stringMatching(/unknown model "nope"; known models: .*served/) });
  });

  refuses('http: /rank with more candidates than allowed and with duplicate ids — 400', async () => {
    const tooMany = await unlogged(() => postJson<{ error?: { message: string } }>(agent, server.url, '/rank', { model: 'served', candidates: Array.from({ length: 101 }, (_, i) => ({ id: `c${i}`, features: okFeatures })) }));
    expect(tooMany.status).toBe(400);
    expect(saw(tooMany.body.error?.message)).toMatch(/"candidates" must be an array of 1 to 100/);
    const dupes = await unlogged(() => postJson<{ error?: { message: string } }>(agent, server.url, '/rank', { model: 'served', candidates: [{ id: 'a', features: okFeatures }, { id: 'a', features: okFeatures }] }));
    expect(dupes.status).toBe(400);
    expect(saw(dupes.body.error?.message)).toMatch(/candidates\[1\]\.id "a" appears twice/);
    expect((await getText(agent, server.url, '/healthz')).status).toBe(200);
  });

  // ---- Trainers and artifacts -------------------------------------------------------------

  const commandTrainer = (script: string, extra: Record<string, unknown> = {}) => ({ trainer: { type: 'command', command: [NODE, '-e', script], ...extra } });

  refuses(
    'trainer: a command that hangs is killed at trainer.timeoutMinutes — TrainerTimedOut, not retried',
    async () => {
      await model('hangs', history(31), commandTrainer('setInterval(() => {}, 1000)', { timeoutMinutes: 0.03 }));
      const started = Date.now();
      const failure = await failedRun('hangs', 'hang', undefined, { datasetFormed: true });
      expect(failure.type).toBe('TrainerTimedOut');
      expect(failure.message).toMatch(/trainer for hangs ran past its timeout \(0\.03 min\) and was killed.*raise trainer\.timeoutMinutes/);
      expect(Date.now() - started).toBeLessThan(60_000);
    },
    120_000,
  );

  refuses(
    'trainer: a command that crashes — retried, then TrainerCrashed with its exit status and stderr in the workflow failure',
    async () => {
      await model('crashes', history(32), commandTrainer("process.stderr.write('RuntimeError: CUDA error: out of memory on device 0'); process.exit(3)"));
      const failure = await failedRun('crashes', 'crash', undefined, { datasetFormed: true });
      expect(failure.type).toBe('TrainerCrashed');
      expect(failure.message).toMatch(/trainer for crashes exited with status 3; stderr .*RuntimeError: CUDA error: out of memory on device 0/);
    },
    120_000,
  );

  refuses('trainer: a command that does not exist — InvalidSpec naming it', async () => {
    await model('nocommand', history(33), { trainer: { type: 'command', command: ['/nonexistent/trainer-binary'] } });
    const failure = await failedRun('nocommand', 'nocommand', undefined, { datasetFormed: true });
    expect(failure.type).toBe('InvalidSpec');
    expect(failure.message).toMatch(/\/nonexistent\/trainer-binary/);
  });

  refuses('trainer: a command that exits 65 (bad input) — InvalidTrainingData, not retried', async () => {
    await model('badinput', history(34), commandTrainer("process.stderr.write('label column has 3 classes'); process.exit(65)"));
    const failure = await failedRun('badinput', 'exit65', undefined, { datasetFormed: true });
    expect(failure.type).toBe('InvalidTrainingData');
    expect(failure.message).toMatch(/exited with status 65.*label column has 3 classes/);
  });

  refuses('trainer: a corrupt ONNX file — CorruptArtifact, nothing registered', async () => {
    const script = "const fs = require('fs'); fs.mkdirSync(process.env.FLYWHEEL_OUTPUT_DIR, { recursive: true }); fs.writeFileSync(process.env.FLYWHEEL_OUTPUT_DIR + '/model.onnx', 'this is not an ONNX protobuf')";
    await model('corrupt', history(35), commandTrainer(script));
    const failure = await failedRun('corrupt', 'corrupt', undefined, { datasetFormed: true });
    expect(failure.type).toBe('CorruptArtifact');
    expect(failure.message).toMatch(/model\.onnx for corrupt cannot be loaded by onnxruntime/);
  });

  refuses('trainer: exits 0 but writes no model — CorruptArtifact pointing at the contract', async () => {
    await model('nomodel', history(36), commandTrainer('process.exit(0)'));
    const failure = await failedRun('nomodel', 'nomodel', undefined, { datasetFormed: true });
    expect(failure.type).toBe('CorruptArtifact');
    expect(failure.message).toMatch(/wrote no model\.onnx to FLYWHEEL_OUTPUT_DIR; see training\/COMMAND_TRAINER\.md/);
  });

  refuses('serving: a corrupt ONNX champion is refused by the server — the last good version keeps serving, the failure is counted', async () => {
    await seedChampion(lineage.db, store, 'rotten', 'good');
    await waitForStatus({ model: 'rotten', features: okFeatures }, 200);
    const bad = await registerVersion(lineage.db, store, 'rotten', 'v2', 'good');
    writeFileSync(new URL(bad.artifactUri), 'garbage, not a model');
    await applyRoutingChange(lineage.db, {
      model: 'rotten',
      changeKey: 'rotten/v2',
      kind: 'promote',
      reason: 'test: promote a corrupt artifact',
      start: [{ versionId: bad.versionId, mode: 'champion', trafficPercent: 100 }],
      end: [{ mode: 'champion' }],
      statuses: [{ versionId: bad.versionId, status: 'champion' }],
    });
    const failures = async () => Number(/flywheel_model_load_failures_total\{model="rotten"\} (\d+)/.exec((await getText(agent, server.url, '/metrics')).body)?.[1] ?? 0);
    for (let i = 0; i < 100 && (await failures()) === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await failures()).toBeGreaterThan(0);
    const res = await postJson<{ version: string }>(agent, server.url, '/predict', { model: 'rotten', features: okFeatures });
    expect(res.status).toBe(200);
    expect(res.body.version).toBe('rotten@v1');
    expect((await predict({ model: 'served', features: okFeatures })).status).toBe(200);
    saw(`rotten@v2 not loaded (flywheel_model_load_failures_total{model="rotten"} ${await failures()}); /predict keeps answering 200 from rotten@v1`);
  });

  it('not a bad input: 3% missing values (under data.validation.maxNullRate) are tolerated, curation drops the rows — the run completes (it failed at the static test set: activities/test-set.ts fix)', async () => {
    const rows = history(27).map((r, i) => (i % 33 === 3 ? { ...r, features: { ...r.features, hour_sin: null } } : r));
    await model('sparse', rows);
    const result = await (await startRetrain(temporal.client, { model: 'sparse', referenceTime: HISTORY_END.toISOString(), idempotencyKey: 'sparse' })).result();
    expect(['promoted', 'rejected']).toContain(result.decision);
  });

  async function waitForStatus(body: unknown, status: number): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if ((await predict(body)).status === status) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`/predict never answered ${status}`);
  }
});
