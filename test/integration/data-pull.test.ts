// The streaming pull and dataset formation on a real PostgreSQL (and the PGlite fallback): windows
// stream into bounded Arrow parts, labels are pulled as of the window end, a stateful pull starts
// after the high-water mark, table sources map columns, bad values are recorded then refused,
// snapshots are content-addressed and idempotent, their manifests match what pyarrow reads,
// reservoir-, stratified- and importance-sampled snapshots stream the window holding only the sample
// (with the in-memory path's hash), lineage answers which versions used a dataset, and a pull's RSS
// growth stays bounded.
import { ApplicationFailure } from '@temporalio/common';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetActivities } from '../../activities/dataset';
import { pullActivities } from '../../activities/pull';
import { measurePullRss, seedLabelledRows } from '../../bench/suites/data';
import { curateWindow } from '../../datasets/curation';
import { decodeDataset, encodeDataset, sha256Hex } from '../../datasets/snapshot';
import { readStagedSummary, readStagedWindow } from '../../datasets/staged-io';
import { datasetsSeenByVersion, versionsTrainedOnDataset } from '../../lineage/dataset-lineage';
import { openLineageDb, type LineageDb } from '../../lineage/db';
import { computeNaturalLabels } from '../../lineage/natural-labels';
import { appendOutcomes, appendPredictions } from '../../lineage/production-log';
import { applyModelSpec } from '../../lineage/models';
import { parseModelSpec, type ModelSpec } from '../../spec/model-spec';
import { featureLayout } from '../../spec/feature-layout';
import { openArtifactStore, type ArtifactStore } from '../../storage/artifact-store';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

const PYTHON = path.join(__dirname, '..', '..', '.tools', 'venv', 'bin', 'python');
const FEATURES = [{ name: 'f1' }, { name: 'f2' }, { name: 'f3' }, { name: 'f4' }, { name: 'device', type: 'categorical' }];
const START = '2026-01-01T00:00:00.000Z';
const END = '2026-01-31T00:00:00.000Z';

let database: TestDatabase;
let lineage: LineageDb;
let store: ArtifactStore;

function specFor(name: string, data: Record<string, unknown> = {}): ModelSpec {
  return parseModelSpec({ name, features: FEATURES, data: { windowDays: 30, minRows: 10, ...data } });
}

function windowRequest(spec: ModelSpec, runId: string, extra: Record<string, unknown> = {}) {
  return { pipelineRunId: runId, modelName: spec.name, layout: featureLayout(spec.features), windowStart: START, windowEnd: END, minRows: spec.data.minRows, spec, ...extra };
}

async function insertRows(model: string, rows: { t: string; features: Record<string, unknown>; label?: number; entity?: string; availableAt?: string; requestId?: string }[]) {
  await lineage.db
    .insertInto('labelled_examples')
    .values(
      rows.map((r, i) => ({
        model_name: model,
        entity_id: r.entity ?? `e${i}`,
        event_time: r.t,
        features: JSON.stringify(r.features),
        label: r.label ?? i % 2,
        label_available_at: r.availableAt ?? null,
        request_id: r.requestId ?? null,
      })),
    )
    .execute();
}

interface PyarrowView {
  sha256: string;
  rows: number;
  fields: [string, string][];
  train: number;
  validation: number;
  positives: number;
  firstValidationMs: number;
  lastMs: number;
}

/**
 * Reads a snapshot's data.arrow with pyarrow (what a Python trainer does) and hashes its bytes with
 * hashlib: an independent reader and an independent hash. Fails rather than skips without the venv
 * (scripts/setup.mjs installs it on every `npm test`).
 */
function readWithPyarrow(uri: string): PyarrowView {
  if (!existsSync(PYTHON)) throw new Error(`reading snapshots with pyarrow needs ${PYTHON}: run \`npm run setup\` to create the Python tools venv`);
  const script = `
import sys, json, hashlib, pyarrow as pa
b = open(sys.argv[1], 'rb').read()
t = pa.ipc.open_file(pa.py_buffer(b)).read_all()
split = t.column('split').to_pylist()
times = t.column('event_time_ms').to_pylist()
print(json.dumps({'sha256': hashlib.sha256(b).hexdigest(), 'rows': t.num_rows, 'fields': [[f.name, str(f.type)] for f in t.schema],
  'train': split.count(0), 'validation': split.count(1), 'positives': sum(t.column('label').to_pylist()),
  'firstValidationMs': min(x for x, s in zip(times, split) if s == 1), 'lastMs': max(times)}))
`;
  return JSON.parse(execFileSync(PYTHON, ['-c', script, fileURLToPath(uri)]).toString('utf8')) as PyarrowView;
}

const row = (i: number) => ({ f1: i, f2: 1, f3: 2, f4: 3, device: i % 2 ? 'mobile' : 'desktop' });
const at = (day: number, minute = 0) => new Date(Date.parse(START) + day * 86_400_000 + minute * 60_000).toISOString();

beforeAll(async () => {
  database = await createTestDatabase();
  lineage = await openLineageDb({ url: database.url });
  store = openArtifactStore(pathToFileURL(mkdtempSync(path.join(tmpdir(), 'flywheel-pull-'))).toString());
});

afterAll(async () => {
  await lineage?.close();
  await database?.drop();
});

describe('streaming pull', () => {
  it('streams a window into bounded Arrow parts, in time order, values intact', async () => {
    const spec = specFor('big');
    await applyModelSpec(lineage.db, spec);
    await seedLabelledRows(lineage.db, 'big', 150_000);
    const pulled = await pullActivities({ db: lineage.db, store }).pullLabelledWindow(windowRequest(spec, 'run-big'));
    const inWindow = await sql<{ n: number }>`select count(*)::int as n from labelled_examples where model_name = 'big' and event_time >= ${START}::timestamptz and event_time < ${END}::timestamptz`.execute(lineage.db);
    expect(pulled.rows).toBe(inWindow.rows[0].n);
    expect(pulled.parts).toBe(Math.ceil(pulled.rows / 65_536));
    expect(pulled).toMatchObject({ missingValues: 0, typeViolations: 0, invalidLabels: 0, source: 'labelled_examples' });
    const { summary, columns } = await readStagedWindow(store, pulled.stagingUri);
    expect(summary.parts.map((p) => p.rows).reduce((a, b) => a + b, 0)).toBe(pulled.rows);
    expect(columns.eventTimeMs.every((t, i) => i === 0 || columns.eventTimeMs[i - 1] <= t)).toBe(true);
    const first = await lineage.db.selectFrom('labelled_examples').selectAll().where('model_name', '=', 'big').orderBy('event_time').orderBy('id').executeTakeFirstOrThrow();
    const f = first.features as Record<string, number | string>;
    expect([columns.numeric.f1[0], columns.numeric.f2[0], columns.numeric.f4[0], columns.categorical.device[0], columns.labels[0], columns.entityIds[0]]).toEqual([f.f1, f.f2, f.f4, f.device, first.label, first.entity_id]);
  });

  it('pulls labels as of the window end, and only rows after the high-water mark for a stateful update', async () => {
    const spec = specFor('pit');
    await applyModelSpec(lineage.db, spec);
    await insertRows('pit', [
      ...Array.from({ length: 20 }, (_, i) => ({ t: at(i), features: row(i) })),
      // Natural labels whose window closes after the window end: not known "as of" END.
      { t: at(29, 1430), features: row(90), availableAt: '2026-01-31T00:10:00Z', requestId: 'late-label' },
      { t: at(29, 1400), features: row(91), availableAt: '2026-01-30T23:50:00Z', requestId: 'known-label' },
    ]);
    const pull = pullActivities({ db: lineage.db, store }).pullLabelledWindow;
    const all = await pull(windowRequest(spec, 'run-pit'));
    expect(all.rows).toBe(21);
    // Rows frozen into the model's static test set never reach a training pull.
    const frozen = await lineage.db.selectFrom('labelled_examples').select('id').where('model_name', '=', 'pit').orderBy('id').limit(2).execute();
    await lineage.db.insertInto('test_sets').values({ id: 'ts-pit', model_name: 'pit', version: 1, uri: 'file:///ts', content_hash: 'h', row_count: 2, window_start: START, window_end: END }).execute();
    await lineage.db.insertInto('test_set_rows').values(frozen.map((r) => ({ test_set_id: 'ts-pit', model_name: 'pit', example_id: r.id }))).execute();
    expect((await pull(windowRequest(spec, 'run-pit-frozen'))).rows).toBe(19);
    await lineage.db.deleteFrom('test_set_rows').execute();
    const since = await pull(windowRequest(spec, 'run-pit-since', { since: at(15), minRows: 1 }));
    expect(since.rows).toBe(5); // days 16..19 and the known label; day 15 itself is the high-water mark
    expect(since.firstEventTime).toBe(at(16));
    const summary = await readStagedSummary(store, since.stagingUri);
    expect(summary.window.since).toBe(at(15));
    await expect(pull(windowRequest(spec, 'run-pit-empty', { since: at(29, 1439), minRows: 1 }))).rejects.toMatchObject({
      type: 'EmptyDataWindow',
      message: `no labelled rows for model "pit" after the high-water mark ${at(29, 1439)} (window (${at(29, 1439)}, ${END})): no fresh data yet; wait for more or run a full retrain`,
    });
  });

  it('records missing values and wrong types instead of failing; dataset formation refuses the wrong types by row', async () => {
    const spec = specFor('dirty');
    await applyModelSpec(lineage.db, spec);
    await insertRows('dirty', [
      ...Array.from({ length: 30 }, (_, i) => ({ t: at(i % 28), features: row(i) })),
      { t: at(5, 1), features: { ...row(1), f2: null } },
      { t: at(5, 2), features: { ...row(1), f3: 'abc' } },
      { t: at(5, 3), features: { ...row(1), device: 7 } },
      { t: at(5, 4), features: row(2), label: 2 },
    ]);
    const pulled = await pullActivities({ db: lineage.db, store }).pullLabelledWindow(windowRequest(spec, 'run-dirty'));
    expect(pulled).toMatchObject({ rows: 34, missingValues: 1, typeViolations: 2, invalidLabels: 1 });
    const summary = await readStagedSummary(store, pulled.stagingUri);
    const idOf = async (minute: number) => String((await lineage.db.selectFrom('labelled_examples').select('id').where('model_name', '=', 'dirty').where('event_time', '=', new Date(at(5, minute))).executeTakeFirstOrThrow()).id);
    expect(summary.typeViolations).toEqual({ f3: { count: 1, firstRow: await idOf(2), example: '"abc"' }, device: { count: 1, firstRow: await idOf(3), example: '7' } });
    // Wrong types are counted as violations, not as missing values.
    expect(summary.nulls).toEqual({ f1: 0, f2: 1, f3: 0, f4: 0, device: 0 });
    // Looked up before the call: an await between starting the call and attaching .rejects would leave
    // its rejection briefly unhandled (the dataset step refuses bad values before reading any part).
    const f3Row = await idOf(2);
    await expect(datasetActivities({ db: lineage.db, store }).formDatasetSnapshot({ ...windowRequest(spec, 'run-dirty'), stagingUri: pulled.stagingUri, validationFraction: 0.2 })).rejects.toMatchObject({
      type: 'SchemaViolation',
      message: expect.stringContaining(`feature "f3" has 1 value(s) of the wrong type (first: row ${f3Row} = "abc")`),
    });
  });

  it('reads a table source through its column mapping, and names a missing column', async () => {
    await sql`create schema wh`.execute(lineage.db);
    await sql`create table wh.events (ts timestamptz, user_id text, clicked boolean, relevance double precision, f2 real, f3 integer, f4 numeric, dev text)`.execute(lineage.db);
    await sql`insert into wh.events select ${START}::timestamptz + g * interval '1 hour', 'u' || (g % 5), g % 3 = 0, g * 0.5, 1, 2, 3, case when g % 2 = 0 then 'mobile' else 'desktop' end from generate_series(1, 100) g`.execute(lineage.db);
    await sql`insert into wh.events values (${START}::timestamptz + interval '2 hours', 'u9', null, 1, 1, 1, 1, 'x')`.execute(lineage.db);
    const source = { kind: 'table', table: 'wh.events', timestampColumn: 'ts', labelColumn: 'clicked', entityColumn: 'user_id', columns: { f1: 'relevance', device: 'dev' } };
    const spec = specFor('warehouse', { source });
    await applyModelSpec(lineage.db, spec);
    const pulled = await pullActivities({ db: lineage.db, store }).pullLabelledWindow(windowRequest(spec, 'run-wh'));
    expect(pulled).toMatchObject({ rows: 100, positives: 33, source: 'wh.events' });
    const { columns } = await readStagedWindow(store, pulled.stagingUri);
    expect([columns.numeric.f1[0], columns.categorical.device[0], columns.entityIds[0], columns.labels[2]]).toEqual([0.5, 'desktop', 'u1', 1]);

    const broken = specFor('warehouse-broken', { source: { ...source, columns: { f1: 'relevanse' } } });
    await expect(pullActivities({ db: lineage.db, store }).pullLabelledWindow(windowRequest(broken, 'run-wh-broken'))).rejects.toMatchObject({
      type: 'InvalidSpec',
      message: expect.stringContaining('data.source.columns.f1: column "relevanse" not found in wh.events (columns: ts, user_id, clicked, relevance, f2, f3, f4, dev)'),
    });
  });
});

describe('dataset snapshots', () => {
  it('the same window twice gives the same hash and no second row; the manifest records curation and a profile', async () => {
    const spec = specFor('snap', { sampling: { kind: 'uniform', fraction: 0.5 }, rebalance: { kind: 'upsample', targetPositiveRate: 0.4 } });
    await applyModelSpec(lineage.db, spec);
    await seedLabelledRows(lineage.db, 'snap', 5_000);
    const deps = { db: lineage.db, store };
    const form = async (runId: string) => {
      const pulled = await pullActivities(deps).pullLabelledWindow(windowRequest(spec, runId));
      return datasetActivities(deps).formDatasetSnapshot({ ...windowRequest(spec, runId), stagingUri: pulled.stagingUri, validationFraction: 0.2 });
    };
    const first = await form('snap-1');
    const second = await form('snap-2');
    expect(second.contentHash).toBe(first.contentHash);
    expect(second.datasetId).toBe(first.datasetId);
    expect([first.reused, second.reused]).toEqual([false, true]);
    const rows = await lineage.db.selectFrom('datasets').selectAll().where('model_name', '=', 'snap').execute();
    expect(rows).toHaveLength(1);
    expect(rows[0].source_rows).toBe(first.sourceRows);
    expect(first.curation.map((s) => s.step)).toEqual(['drop_incomplete', 'dedupe', 'sampling', 'time_split', 'purge_label_overlap', 'rebalance_upsample']);
    const sampling = first.curation.find((s) => s.step === 'sampling')!;
    expect(sampling.rowsAfter).toBe(Math.round(sampling.rowsBefore / 2));
    const manifest = JSON.parse((await store.get(first.uri.replace(/data\.arrow$/, 'manifest.json'))).toString()) as Record<string, any>;
    expect(manifest.curation.steps).toEqual(first.curation);
    expect(manifest.profile.rows).toBe(sampling.rowsAfter);
    expect(Object.keys(manifest.profile.numeric)).toEqual(['f1', 'f2', 'f3', 'f4']);

    // A different seed picks different rows: a different snapshot.
    const reseeded = specFor('snap', { sampling: { kind: 'uniform', fraction: 0.5 }, seed: 7 });
    const pulled = await pullActivities(deps).pullLabelledWindow(windowRequest(reseeded, 'snap-3'));
    const third = await datasetActivities(deps).formDatasetSnapshot({ ...windowRequest(reseeded, 'snap-3'), stagingUri: pulled.stagingUri, validationFraction: 0.2 });
    expect(third.contentHash).not.toBe(first.contentHash);
  });

  it('the manifest records schema, window, row counts, content hash and source query; pyarrow reads the snapshot', async () => {
    const spec = specFor('manifest');
    await applyModelSpec(lineage.db, spec);
    await seedLabelledRows(lineage.db, 'manifest', 3_000);
    const deps = { db: lineage.db, store };
    const pulled = await pullActivities(deps).pullLabelledWindow(windowRequest(spec, 'manifest-1'));
    const formed = await datasetActivities(deps).formDatasetSnapshot({ ...windowRequest(spec, 'manifest-1'), stagingUri: pulled.stagingUri, validationFraction: 0.2 });
    const manifest = JSON.parse((await store.get(formed.uri.replace(/data\.arrow$/, 'manifest.json'))).toString()) as Record<string, any>;
    const py = readWithPyarrow(formed.uri);

    // Content hash: SHA-256 of the data.arrow bytes, recomputed by hashlib; it names the snapshot's folder and its lineage id.
    expect(manifest.contentHash).toBe(py.sha256);
    expect(formed.contentHash).toBe(py.sha256);
    expect(formed.uri.endsWith(`/datasets/manifest/${py.sha256}/data.arrow`)).toBe(true);
    expect(formed.datasetId).toBe(`ds-manifest-${py.sha256.slice(0, 16)}`);
    expect(manifest).toMatchObject({ format: 'arrow-ipc-file', modelName: 'manifest', task: 'binary_classification' });

    // Schema: the manifest's columns are the file's columns, in order, with the same types.
    const arrowType: Record<string, string> = { float64: 'double', utf8: 'string', int8: 'int8' };
    expect(manifest.schema.map((f: { name: string }) => f.name)).toEqual(['event_time_ms', 'entity_id', 'f_f1', 'f_f2', 'f_f3', 'f_f4', 'f_device', 'label', 'split']);
    expect(manifest.schema.map((f: { name: string; type: string }) => [f.name, arrowType[f.type]])).toEqual(py.fields);
    expect(manifest.schema.filter((f: { feature?: string }) => f.feature).map((f: { feature: string }) => f.feature)).toEqual(['f1', 'f2', 'f3', 'f4', 'device']);

    // Window, as asked (a full pull: no high-water mark), and the times the file holds.
    expect(manifest.window).toEqual({ start: START, end: END, since: null });
    expect(manifest.highWaterMark).toBe(new Date(py.lastMs).toISOString());
    expect(manifest.validationStartsAt).toBe(new Date(py.firstValidationMs).toISOString());

    // Row counts: the source's, the snapshot's and its split's, against SQL and the file.
    const inWindow = await sql<{ n: number }>`select count(*)::int as n from labelled_examples where model_name = 'manifest' and event_time >= ${START}::timestamptz and event_time < ${END}::timestamptz`.execute(lineage.db);
    expect(manifest.sourceRows).toBe(inWindow.rows[0].n);
    expect(manifest.sourceRows).toBe(pulled.rows);
    expect([manifest.rows, manifest.trainRows, manifest.validationRows, manifest.positives]).toEqual([py.rows, py.train, py.validation, py.positives]);
    expect(manifest.rows).toBe(formed.rows);
    expect(manifest.profile.rows).toBe(py.rows);
    expect(manifest.curation.memory).toEqual({ read: 'whole_window', rowsHeld: pulled.rows });

    // Source query: the table and the predicate the pull ran, as text a person can rerun.
    expect(manifest.source).toEqual({
      kind: 'labelled_examples',
      table: 'labelled_examples',
      query: `model_name = 'manifest' and event_time >= '${START}' and event_time < '${END}' and (label_available_at is null or label_available_at <= '${END}') and id not in static test set order by event_time, id`,
    });

    // The lineage row carries the same facts.
    const stored = await lineage.db.selectFrom('datasets').selectAll().where('id', '=', formed.datasetId).executeTakeFirstOrThrow();
    expect([stored.content_hash, stored.row_count, stored.source_rows, stored.uri]).toEqual([py.sha256, py.rows, manifest.sourceRows, formed.uri]);
    expect(stored.manifest).toEqual(manifest);
  });

  it('a reservoir sample streams the window part by part, holding only the sample, with the in-memory path\'s rows and hash', async () => {
    const spec = specFor('reservoir', { sampling: { kind: 'reservoir', rows: 2_000 } });
    await applyModelSpec(lineage.db, spec);
    await seedLabelledRows(lineage.db, 'reservoir', 150_000);
    const deps = { db: lineage.db, store };
    const pulled = await pullActivities(deps).pullLabelledWindow(windowRequest(spec, 'reservoir-1'));
    expect(pulled.parts).toBeGreaterThan(1);
    const formed = await datasetActivities(deps).formDatasetSnapshot({ ...windowRequest(spec, 'reservoir-1'), stagingUri: pulled.stagingUri, validationFraction: 0.2 });
    expect(formed.rows).toBe(2_000);
    expect(formed.curation.find((s) => s.step === 'sampling')).toMatchObject({ rowsAfter: 2_000, detail: `reservoir of 2000 from ${formed.curation[1].rowsAfter}` });
    const manifest = JSON.parse((await store.get(formed.uri.replace(/data\.arrow$/, 'manifest.json'))).toString()) as Record<string, any>;
    // The streaming path: one part at a time plus the 2,000 sampled rows, far below the window's rows.
    expect(manifest.curation.memory).toMatchObject({ read: 'streamed', windowRows: pulled.rows, sampleRows: 2_000, samplerPeak: 2_000, largestPartRows: 65_536, peakRowsHeld: 65_536 + 2_000 });
    expect(manifest.curation.memory.peakRowsHeld).toBeLessThan(pulled.rows / 2);
    console.info(`streamed reservoir snapshot: ${JSON.stringify(manifest.curation.memory)}`);

    // The same rows as curating the whole window in memory: the same bytes, so the same hash.
    const { summary, columns } = await readStagedWindow(store, pulled.stagingUri);
    const whole = curateWindow(columns, { layout: featureLayout(spec.features), task: spec.task, data: spec.data, validationFraction: 0.2, hasEntity: true });
    expect(sha256Hex(encodeDataset(whole.columns, summary.layout))).toBe(formed.contentHash);
    expect(whole.steps).toEqual(formed.curation);

    // Sampled across the whole window, and readable by pyarrow.
    const py = readWithPyarrow(formed.uri);
    expect([py.rows, py.sha256]).toEqual([2_000, formed.contentHash]);
    expect(py.lastMs).toBeGreaterThan(Date.parse(at(27)));
    const snapshot = decodeDataset(await store.get(formed.uri), featureLayout(spec.features));
    expect(Math.min(...snapshot.eventTimeMs)).toBeLessThan(Date.parse(at(3)));
  });

  /**
   * Pulls a many-part window of `rows` seeded rows for a new model with these data settings, forms its
   * snapshot (which streams), and curates the same staged window in memory for comparison.
   */
  async function streamedAndWhole(name: string, data: Record<string, unknown>, rows = 150_000) {
    const spec = specFor(name, data);
    await applyModelSpec(lineage.db, spec);
    await seedLabelledRows(lineage.db, name, rows);
    const deps = { db: lineage.db, store };
    const pulled = await pullActivities(deps).pullLabelledWindow(windowRequest(spec, `${name}-1`));
    expect(pulled.parts).toBeGreaterThan(1);
    const formed = await datasetActivities(deps).formDatasetSnapshot({ ...windowRequest(spec, `${name}-1`), stagingUri: pulled.stagingUri, validationFraction: 0.2 });
    const manifest = JSON.parse((await store.get(formed.uri.replace(/data\.arrow$/, 'manifest.json'))).toString()) as Record<string, any>;
    const { summary, columns } = await readStagedWindow(store, pulled.stagingUri);
    const whole = curateWindow(columns, { layout: featureLayout(spec.features), task: spec.task, data: spec.data, validationFraction: 0.2, hasEntity: true });
    const snapshot = decodeDataset(await store.get(formed.uri), featureLayout(spec.features));
    return { spec, pulled, formed, manifest, columns, whole, wholeHash: sha256Hex(encodeDataset(whole.columns, summary.layout)), snapshot };
  }

  it('a stratified sample streams too: each label keeps its share within one row, and the hash is the in-memory path\'s', async () => {
    const { pulled, formed, manifest, columns, whole, wholeHash, snapshot } = await streamedAndWhole('stratified', { sampling: { kind: 'stratified', column: 'label', fraction: 0.02 } });
    // Distinct timestamps: dedupe keeps every row, so the strata are the window's labels.
    const n = pulled.rows;
    const k = Math.round(n * 0.02);
    expect(formed.curation.find((s) => s.step === 'sampling')).toMatchObject({ rowsBefore: n, rowsAfter: k, detail: `stratified by label: ${k} of ${n}` });
    // One eligibility pass (counting each label's rows), one pass that samples and gathers; one part plus the sample held.
    expect(manifest.curation.memory).toMatchObject({ read: 'streamed', partPasses: 2, windowRows: n, eligibleRows: n, sampleRows: k, strata: 2, largestPartRows: 65_536, peakRowsHeld: 65_536 + k });
    expect(manifest.curation.memory.peakRowsHeld).toBeLessThan(n / 2);
    console.info(`streamed stratified snapshot: ${JSON.stringify(manifest.curation.memory)}`);
    expect(wholeHash).toBe(formed.contentHash);
    expect(whole.steps).toEqual(formed.curation);
    const positives = columns.labels.reduce((a, b) => a + b, 0);
    const sampled = snapshot.labels.reduce((a, b) => a + b, 0);
    expect(Math.abs(sampled - (positives * k) / n)).toBeLessThan(1);
    expect(Math.abs(k - sampled - ((n - positives) * k) / n)).toBeLessThan(1);
  });

  it('an importance sample by a numeric feature streams too, favours heavy rows, and the hash is the in-memory path\'s', async () => {
    // f2 is uniform on [0, 10): its mean is 5, and drawn in proportion to itself about E[f2²]/E[f2] = 6.7.
    const { pulled, formed, manifest, whole, wholeHash, snapshot } = await streamedAndWhole('importance', { sampling: { kind: 'importance', weightColumn: 'f2', rows: 2_000 } });
    expect(formed.curation.find((s) => s.step === 'sampling')).toMatchObject({ rowsAfter: 2_000, detail: `importance by f2: 2000 of ${pulled.rows}` });
    // Eligibility, a sampling pass reading the weights (A-Res holds 2,000 row numbers), gather.
    expect(manifest.curation.memory).toMatchObject({ read: 'streamed', partPasses: 3, windowRows: pulled.rows, sampleRows: 2_000, samplerPeak: 2_000, strata: 0, largestPartRows: 65_536, peakRowsHeld: 65_536 + 2_000 });
    expect(manifest.curation.memory.peakRowsHeld).toBeLessThan(pulled.rows / 2);
    console.info(`streamed importance snapshot: ${JSON.stringify(manifest.curation.memory)}`);
    expect(wholeHash).toBe(formed.contentHash);
    expect(whole.steps).toEqual(formed.curation);
    const mean = snapshot.features.f2.reduce((a, b) => a + b, 0) / snapshot.features.f2.length;
    expect(mean).toBeGreaterThan(6.3);
  });

  it('importance sampling pulls its weight column from the source rows and favours heavy rows', async () => {
    const spec = specFor('weighted', { sampling: { kind: 'importance', weightColumn: 'w', rows: 100 }, dedupe: { key: 'none' } });
    await applyModelSpec(lineage.db, spec);
    // Rows of days 0-9 weigh 20, the rest 1: about 20x more likely to be drawn each.
    await insertRows('weighted', Array.from({ length: 600 }, (_, i) => ({ t: at(i % 28, i), features: { ...row(i), w: i % 28 < 10 ? 20 : 1 }, label: i % 3 === 0 ? 1 : 0 })));
    const deps = { db: lineage.db, store };
    const pulled = await pullActivities(deps).pullLabelledWindow(windowRequest(spec, 'weighted'));
    expect((await readStagedSummary(store, pulled.stagingUri)).auxiliary).toEqual(['w']);
    const formed = await datasetActivities(deps).formDatasetSnapshot({ ...windowRequest(spec, 'weighted'), stagingUri: pulled.stagingUri, validationFraction: 0.2 });
    expect(formed.rows).toBe(100);
    expect(formed.curation.find((s) => s.step === 'sampling')!.detail).toBe('importance by w: 100 of 600');
    const snapshot = decodeDataset(await store.get(formed.uri), featureLayout(spec.features));
    const heavy = Array.from(snapshot.eventTimeMs).filter((t) => t < Date.parse(at(10))).length;
    // 214 heavy rows carry 92% of the weight: nearly every draw is one of them.
    expect(heavy).toBeGreaterThan(85);
    // The weights come from an auxiliary column of the parts; streamed, with the in-memory path's rows.
    const manifest = JSON.parse((await store.get(formed.uri.replace(/data\.arrow$/, 'manifest.json'))).toString()) as Record<string, any>;
    expect(manifest.curation.memory).toMatchObject({ read: 'streamed', partPasses: 3, windowRows: 600, sampleRows: 100 });
    const { summary, columns } = await readStagedWindow(store, pulled.stagingUri);
    const whole = curateWindow(columns, { layout: featureLayout(spec.features), task: spec.task, data: spec.data, validationFraction: 0.2, hasEntity: true });
    expect(sha256Hex(encodeDataset(whole.columns, summary.layout))).toBe(formed.contentHash);
  });

  it('a negative importance weight in the data is a non-retryable SchemaViolation naming the row and the column', async () => {
    const spec = specFor('negweight', { sampling: { kind: 'importance', weightColumn: 'w', rows: 50 }, dedupe: { key: 'none' } });
    await applyModelSpec(lineage.db, spec);
    await insertRows('negweight', Array.from({ length: 200 }, (_, i) => ({ t: at(i % 28, i), features: { ...row(i), w: i === 120 ? -3 : 1 }, label: i % 3 === 0 ? 1 : 0 })));
    const deps = { db: lineage.db, store };
    const pulled = await pullActivities(deps).pullLabelledWindow(windowRequest(spec, 'negweight'));
    const failure = await datasetActivities(deps)
      .formDatasetSnapshot({ ...windowRequest(spec, 'negweight'), stagingUri: pulled.stagingUri, validationFraction: 0.2 })
      .then(() => undefined, (e: unknown) => e as ApplicationFailure);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'SchemaViolation', nonRetryable: true });
    expect(failure!.message).toMatch(/model "negweight": row \d+ has weight -3: importance weights must be finite and non-negative: fix the source rows' data\.sampling\.weightColumn values/);
    expect(await lineage.db.selectFrom('datasets').select('id').where('model_name', '=', 'negweight').execute()).toEqual([]);
  });

  it('lineage answers which versions were trained on a dataset, through stateful warm starts only', async () => {
    const { db } = lineage;
    await applyModelSpec(db, specFor('lin'));
    const dataset = (id: string) => db.insertInto('datasets').values({ id, model_name: 'lin', window_start: START, window_end: END, row_count: 1, content_hash: id, uri: `file:///${id}`, manifest: '{}' }).execute();
    await dataset('ds-a');
    await dataset('ds-b');
    await dataset('ds-c');
    const version = async (id: string, datasetId: string, parent: string | null, mode: 'stateless' | 'stateful', minor: number) => {
      await db.insertInto('pipeline_runs').values({ id: `run-${id}`, run_id: 'r', model_name: 'lin', trigger: 'manual', stage: 3, status: 'succeeded', current_step: 'done', timings: '{}', started_at: new Date() }).execute();
      await db
        .insertInto('model_versions')
        .values({ id, model_name: 'lin', version: id.split('@')[1], major: 1, minor, parent_version_id: parent, training_mode: mode, iteration_kind: 'data', spec_hash: 'h', dataset_id: datasetId, artifact_uri: 'file:///m', status: 'retired', metrics: '{}', samples_seen: 1, high_water_mark: new Date(), pipeline_run_id: `run-${id}` })
        .execute();
    };
    await version('lin@v1.0', 'ds-a', null, 'stateless', 0);
    await version('lin@v1.1', 'ds-b', 'lin@v1.0', 'stateful', 1); // warm-started: has seen ds-a too
    await version('lin@v1.2', 'ds-c', 'lin@v1.1', 'stateful', 2);
    await version('lin@v1.3', 'ds-c', 'lin@v1.2', 'stateless', 3); // from scratch: has seen only ds-c
    const used = await versionsTrainedOnDataset(db, 'ds-a');
    expect(used.map((v) => [v.versionId, v.depth, v.via])).toEqual([
      ['lin@v1.0', 0, ['lin@v1.0']],
      ['lin@v1.1', 1, ['lin@v1.0', 'lin@v1.1']],
      ['lin@v1.2', 2, ['lin@v1.0', 'lin@v1.1', 'lin@v1.2']],
    ]);
    expect((await versionsTrainedOnDataset(db, 'ds-c')).map((v) => v.versionId)).toEqual(['lin@v1.2', 'lin@v1.3']);
    expect((await datasetsSeenByVersion(db, 'lin@v1.2')).map((d) => [d.datasetId, d.trainedBy])).toEqual([
      ['ds-a', 'lin@v1.0'],
      ['ds-b', 'lin@v1.1'],
      ['ds-c', 'lin@v1.2'],
    ]);
    expect((await datasetsSeenByVersion(db, 'lin@v1.3')).map((d) => d.datasetId)).toEqual(['ds-c']);
  });
});

describe('embedded PGlite (no server-side cursors)', () => {
  it('falls back to pages and stages the same rows', async () => {
    const embedded = await openLineageDb({ url: '', pgliteDir: 'memory://' });
    try {
      for (const db of [embedded.db, lineage.db]) {
        await applyModelSpec(db, specFor('pg-vs-lite'));
        await db
          .insertInto('labelled_examples')
          .values(Array.from({ length: 5_000 }, (_, i) => ({ model_name: 'pg-vs-lite', entity_id: `e${i % 50}`, event_time: at(i % 29, i % 17), features: JSON.stringify(row(i)), label: i % 3 === 0 ? 1 : 0 })))
          .execute();
      }
      const spec = specFor('pg-vs-lite');
      const fromLite = await pullActivities({ db: embedded.db, store }).pullLabelledWindow(windowRequest(spec, 'lite'));
      const fromPg = await pullActivities({ db: lineage.db, store }).pullLabelledWindow(windowRequest(spec, 'pg'));
      expect(fromLite.rows).toBe(5_000);
      const a = (await readStagedWindow(store, fromLite.stagingUri)).columns;
      const b = (await readStagedWindow(store, fromPg.stagingUri)).columns;
      expect(a.eventTimeMs).toEqual(b.eventTimeMs);
      expect(a.numeric.f1).toEqual(b.numeric.f1);
      expect(a.categorical.device).toEqual(b.categorical.device);

      // The production log and natural labels work on the embedded database too (the demo's default).
      const t0 = Date.parse('2026-02-01T00:00:00Z');
      await appendPredictions(embedded.db, Array.from({ length: 100 }, (_, i) => ({ requestId: `r${i}`, modelName: 'pg-vs-lite', versionId: 'v', features: row(i), predictedAt: new Date(t0 + i * 60_000) })));
      await appendOutcomes(embedded.db, Array.from({ length: 10 }, (_, i) => ({ requestId: `r${i * 10}`, modelName: 'pg-vs-lite', eventType: 'click', occurredAt: new Date(t0 + i * 600_000 + 1_000) })));
      const counts = await computeNaturalLabels(embedded.db, {
        modelName: 'pg-vs-lite',
        rule: { kind: 'event_within', eventType: 'click', window: '30m', joinOn: 'request_id' },
        referenceTime: new Date(t0 + 100 * 60_000),
        from: new Date(t0),
      });
      // Windows close at i + 30 min <= 100 min for i <= 70: 71 labelled (clicked: r0, r10 ... r70), 29 pending.
      expect(counts).toMatchObject({ predictions: 100, labelled: 71, positives: 8, negatives: 63, pending: 29, inserted: 71 });
    } finally {
      await embedded.close();
    }
  });
});

describe('memory', () => {
  it('a 300k-row pull grows a fresh worker process by less than 150 MB', async () => {
    await applyModelSpec(lineage.db, specFor('pullbench'));
    await seedLabelledRows(lineage.db, 'pullbench', 300_000);
    const result = await measurePullRss(database.url, 300_000);
    console.info(`pull RSS probe: ${JSON.stringify(result)}`);
    expect(result.rows).toBe(300_000);
    expect(result.parts).toBe(5);
    expect(result.growthMb).toBeLessThan(150);
  });
});
